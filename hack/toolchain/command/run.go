package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// The environment variables that carry the previous stdout and stderr into update and delete.
const (
	envPreviousStdout = "PULUMI_COMMAND_STDOUT"
	envPreviousStderr = "PULUMI_COMMAND_STDERR"
)

var defaultInterpreter = []string{"/bin/sh", "-c"}

// lockedWriter serialises writes of stdout and stderr into one buffer (the error message's combined output).
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// runCommand runs one command of the resource and returns its stdout and stderr (one trailing newline removed).
// previous holds the stdout and stderr of the last create or update (empty on create).
func (p *provider) runCommand(ctx context.Context, urn resource.URN, command *text, in *commandInputs,
	previous [2]string,
) (stdout, stderr string, err error) {
	shown := fmt.Sprintf("%q", command.value)
	if command.secret {
		shown = "[secret command]"
	}
	if ctx.Err() != nil {
		return "", "", fmt.Errorf("not running %s: the operation was cancelled before it started", shown)
	}

	args := append([]string(nil), defaultInterpreter...)
	if len(in.interpreter) > 0 {
		args = append([]string(nil), in.interpreter...)
	}
	args = append(args, command.value)

	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	// On cancel or timeout, kill what the interpreter started too: /bin/sh (dash) does not exec its last command,
	// and a surviving child would keep the output pipes open (and the operation waiting) until it ends by itself.
	cmd.Cancel = func() error { return killTree(cmd.Process.Pid) }
	if in.dir != nil {
		cmd.Dir = in.dir.value
	} else if cmd.Dir, err = os.Getwd(); err != nil {
		return "", "", err
	}
	// Later entries win over the plugin's own environment (os/exec keeps the last value of a name).
	cmd.Env = os.Environ()
	for _, e := range in.environment {
		cmd.Env = append(cmd.Env, e.name+"="+e.value)
	}
	if in.addPreviousOutputInEnv {
		if previous[0] != "" {
			cmd.Env = append(cmd.Env, envPreviousStdout+"="+previous[0])
		}
		if previous[1] != "" {
			cmd.Env = append(cmd.Env, envPreviousStderr+"="+previous[1])
		}
	}
	if in.stdin != nil && in.stdin.value != "" {
		cmd.Stdin = strings.NewReader(in.stdin.value)
	}

	var outBuf, errBuf, combined bytes.Buffer
	var mu sync.Mutex
	both := lockedWriter{mu: &mu, w: &combined}
	logR, logW := io.Pipe()
	logged := lockedWriter{mu: &sync.Mutex{}, w: logW}
	outWriters := []io.Writer{&outBuf, both}
	if in.logStdout {
		outWriters = append(outWriters, logged)
	}
	errWriters := []io.Writer{&errBuf, both}
	if in.logStderr {
		errWriters = append(errWriters, logged)
	}
	cmd.Stdout = io.MultiWriter(outWriters...)
	cmd.Stderr = io.MultiWriter(errWriters...)

	done := make(chan struct{})
	go func() {
		defer close(done)
		p.streamLog(urn, logR)
	}()
	err = cmd.Run()
	_ = logW.Close()
	<-done

	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			reason := "cancelled"
			if errors.Is(ctxErr, context.DeadlineExceeded) {
				reason = "timed out (custom timeout)"
			}
			return "", "", fmt.Errorf("%v (%s): running %s:\n%s", err, reason, shown, combined.String())
		}
		return "", "", fmt.Errorf("%v: running %s:\n%s", err, shown, combined.String())
	}
	return strings.TrimSuffix(outBuf.String(), "\n"), strings.TrimSuffix(errBuf.String(), "\n"), nil
}

// streamLog sends each line read from r to the engine as an ephemeral status message of the resource, and reads
// r to its end even when the engine cannot be reached (the command must never block on its output).
func (p *provider) streamLog(urn resource.URN, r io.Reader) {
	engine := p.engineClient()
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		line = strings.TrimSuffix(line, "\n")
		if line != "" && engine != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, _ = engine.Log(ctx, &pulumirpc.LogRequest{
				Severity:  pulumirpc.LogSeverity_INFO,
				Message:   line,
				Urn:       string(urn),
				Ephemeral: true,
			})
			cancel()
		}
		if err != nil {
			return
		}
	}
}

// killTree sends SIGKILL to a process and all its descendants, found through /proc (collected before the first
// kill: orphans are re-parented and could not be found afterwards).
func killTree(root int) error {
	children := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // the process ended meanwhile
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
		s := string(data)
		end := strings.LastIndexByte(s, ')')
		if end < 0 {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) < 2 {
			continue
		}
		pid, err1 := strconv.Atoi(strings.Fields(s)[0])
		ppid, err2 := strconv.Atoi(fields[1])
		if err1 == nil && err2 == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	tree := []int{root}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	var first error
	for _, pid := range tree {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && pid == root && !errors.Is(err, syscall.ESRCH) {
			first = err
		}
	}
	return first
}
