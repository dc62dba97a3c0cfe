// pause: the sandbox (infra) process of every pod on the local clusters. It holds the pod's namespaces, reaps the
// zombies it inherits as PID 1, and exits on SIGINT/SIGTERM. No registry exists here, so this replaces the usual
// registry pause image; it is packed into an OCI layout by hack/clusters/images.sh.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s == syscall.SIGCHLD {
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
