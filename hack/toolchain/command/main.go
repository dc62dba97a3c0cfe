// Command pulumi-resource-command is dvm's stand-in for the Pulumi Command provider (pulumi-resource-command) at
// version 1.2.1, the version @pulumi/command 1.2.1 asks for. It serves dvm's engine and e2e test tiers only.
//
// Why it exists: the official provider (github.com/pulumi/pulumi-command/provider) is a Go module that the Go
// module proxy reachable here does not serve, so it cannot be built here. Users never need this program: their
// Pulumi install downloads the official plugin. dvm uses one resource of that package, `command:local:Command`
// (to run `skopeo copy`), so this program speaks the ResourceProvider gRPC protocol (sdk/v3/proto) for exactly
// that resource, with the semantics the official provider documents and implements in 1.2.1:
//
//   - create runs `create`; update runs `update`, or `create` when `update` is unset; delete runs `delete`.
//     Each runs as `<interpreter> <command>` (interpreter default ["/bin/sh", "-c"]) in `dir` (default: the
//     plugin's working directory, which the engine sets to the program's directory), with `stdin` on standard
//     input and `environment` added to the plugin's own environment: through the process environment, never the
//     command line. Unless `addPreviousOutputInEnv` is false, update and delete also see the previous stdout and
//     stderr as PULUMI_COMMAND_STDOUT and PULUMI_COMMAND_STDERR (only when they are not empty).
//   - outputs: the inputs as given, plus `stdout` and `stderr` (one trailing newline removed). A non-zero exit
//     fails the operation with the command's combined output in the error; nothing is recorded for a failed
//     create, the previous state stays for a failed update or delete.
//   - a change of `triggers` replaces the resource (create the new one, then delete the old one); a change of
//     any other input updates it.
//   - preview runs nothing: stdout and stderr are unknown.
//   - secrets: a secret input (an `environment` value, a command, `stdin`) stays secret in the outputs and is never
//     written by this program (a secret command is not quoted in errors). Like 1.2.1, stdout and stderr are NOT
//     made secret because an input is: a program that needs that sets `additionalSecretOutputs`.
//   - `logging` (default stdoutAndStderr) streams the chosen output lines to the engine as ephemeral status
//     messages of the resource; custom timeouts and the engine's Cancel stop a running command.
//
// Refused with a clear error, never silently ignored: the inputs `assetPaths` and `archivePaths`, every other
// resource of the package (command:remote:*), the function command:local:run, and any provider configuration.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// version is the release of pulumi-resource-command whose behaviour this program implements. It is not a build
// setting: a different number would claim behaviour this code does not have.
const version = "1.2.1"

func main() {
	// The engine may prepend logging/tracing flags (--logtostderr, -v=N, --logflow, --tracing URL); the SDK's
	// logging package already defines some of them. Accept the rest and ignore them.
	for _, name := range []string{"logtostderr", "logflow"} {
		if flag.Lookup(name) == nil {
			flag.Bool(name, false, "ignored")
		}
	}
	for _, name := range []string{"v", "tracing", "root"} {
		if flag.Lookup(name) == nil {
			flag.String(name, "", "ignored")
		}
	}
	flag.Parse()

	p := newProvider()
	if flag.NArg() > 0 {
		p.setEngine(flag.Arg(0))
	}

	cancel := make(chan bool)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, p)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command: could not start the gRPC server: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line of our standard output.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command: %v\n", err)
		os.Exit(1)
	}
}
