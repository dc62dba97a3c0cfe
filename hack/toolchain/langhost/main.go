// Command pulumi-language-nodejs is dvm's own, minimal Node.js language host for the Pulumi engine.
//
// Why it exists: the official host lives in its own Go module
// (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3) and that module is not served by the Go
// module proxy this project can reach, so it cannot be built here. The engine only needs the host to speak the
// LanguageRuntime gRPC protocol (sdk/v3/proto) and to start the Node.js entry points that @pulumi/pulumi ships
// (cmd/run for programs, cmd/run-policy-pack and cmd/run-plugin for plugins). This file does exactly that and
// nothing more: no dependency installation, no code generation, no templates.
//
// Users with an ordinary Pulumi install use the official host; this one only serves dvm's engine test tier.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is stamped at build time (-ldflags -X main.version=...).
var version = "0.0.0-dev"

// exitAfterLoggedError is the exit code @pulumi/pulumi's cmd/run uses once it has already shown the user an
// actionable error through the engine: the host must then report a "bail", not a second error.
const exitAfterLoggedError = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string

	mu       sync.Mutex
	children map[*os.Process]struct{}
}

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

	h := &host{children: map[*os.Process]struct{}{}}
	if flag.NArg() > 0 {
		h.engineAddress = flag.Arg(0)
	}

	cancel := make(chan bool)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: could not start the gRPC server: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line of our standard output.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// packageJSON is the part of a package.json this host reads.
type packageJSON struct {
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	Pulumi          *struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// resourcePackages lists the resource plugins the program's installed npm packages declare (the "pulumi" block
// of their package.json), walking node_modules one level deep and into @scopes.
func resourcePackages(programDir string) ([]*pulumirpc.PackageDependency, error) {
	nm := filepath.Join(programDir, "node_modules")
	var dirs []string
	entries, err := os.ReadDir(nm)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s does not exist: run `npm ci` in %s first", nm, programDir)
		}
		return nil, err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "@") {
			scoped, err := os.ReadDir(filepath.Join(nm, e.Name()))
			if err != nil {
				continue
			}
			for _, s := range scoped {
				dirs = append(dirs, filepath.Join(nm, e.Name(), s.Name()))
			}
			continue
		}
		dirs = append(dirs, filepath.Join(nm, e.Name()))
	}
	seen := map[string]bool{}
	var out []*pulumirpc.PackageDependency
	for _, d := range dirs {
		p, err := readPackageJSON(filepath.Join(d, "package.json"))
		if err != nil || p.Pulumi == nil || !p.Pulumi.Resource {
			continue
		}
		name := p.Pulumi.Name
		if name == "" {
			name = strings.TrimPrefix(p.Name, "@pulumi/")
		}
		v := p.Pulumi.Version
		if v == "" {
			v = p.Version
		}
		key := name + "@" + v
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, &pulumirpc.PackageDependency{Name: name, Kind: "resource", Version: "v" + strings.TrimPrefix(v, "v"), Server: p.Pulumi.Server})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func programDir(info *pulumirpc.ProgramInfo, fallback string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	return fallback
}

func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	pkgs, err := resourcePackages(programDir(req.GetInfo(), "."))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

func (h *host) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	pkgs, err := resourcePackages(programDir(req.GetInfo(), req.GetProgram())) //nolint:staticcheck // older engines
	if err != nil {
		return nil, err
	}
	out := make([]*pulumirpc.PluginDependency, 0, len(pkgs))
	for _, p := range pkgs {
		out = append(out, &pulumirpc.PluginDependency{Name: p.Name, Kind: p.Kind, Version: p.Version, Server: p.Server})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: out}, nil
}

func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := programDir(req.GetInfo(), req.GetProgram()) //nolint:staticcheck // older engines
	root, err := readPackageJSON(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("reading the program's package.json: %w", err)
	}
	names := make([]string, 0, len(root.Dependencies)+len(root.DevDependencies))
	for n := range root.Dependencies {
		names = append(names, n)
	}
	if req.GetTransitiveDependencies() {
		for n := range root.DevDependencies {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var deps []*pulumirpc.DependencyInfo
	for _, n := range names {
		p, err := readPackageJSON(filepath.Join(dir, "node_modules", n, "package.json"))
		if err != nil {
			continue // declared but not installed: nothing to report
		}
		deps = append(deps, &pulumirpc.DependencyInfo{Name: n, Version: p.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

func nodeExecutable() (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", errors.New("could not find `node` on $PATH: install Node.js (20 or newer)")
	}
	return node, nil
}

func (h *host) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := nodeExecutable()
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("running %s --version: %w", node, err)
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimSpace(strings.TrimPrefix(string(out), "v")),
		Metadata:   map[string]string{"host": "dvm minimal nodejs language host " + version},
	}, nil
}

// InstallDependencies is a no-op: dvm installs node modules with `npm ci` before the engine runs.
func (h *host) InstallDependencies(*pulumirpc.InstallDependenciesRequest, grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]) error {
	return nil
}

// resolveModule asks node where `spec` resolves from dir (the program's own copy of @pulumi/pulumi, exactly
// as the program itself will load it).
func resolveModule(node, dir, spec string) (string, error) {
	cmd := exec.Command(node, "-e", "process.stdout.write(require.resolve(process.argv[1]))", spec)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var detail string
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			detail = strings.TrimSpace(string(ee.Stderr))
		}
		return "", fmt.Errorf("could not find %s from %s (is @pulumi/pulumi installed there? run `npm ci`): %v %s",
			spec, dir, err, detail)
	}
	return strings.TrimSpace(string(out)), nil
}

// options reads the runtime options of Pulumi.yaml (runtime.options).
func options(info *pulumirpc.ProgramInfo) map[string]any {
	if info == nil || info.GetOptions() == nil {
		return map[string]any{}
	}
	return info.GetOptions().AsMap()
}

func optString(opts map[string]any, key string) string {
	if v, ok := opts[key]; ok && v != nil {
		return fmt.Sprintf("%v", v)
	}
	return ""
}

func (h *host) track(p *os.Process, add bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if add {
		h.children[p] = struct{}{}
	} else {
		delete(h.children, p)
	}
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for p := range h.children {
		_ = p.Signal(syscall.SIGINT)
	}
	return &emptypb.Empty{}, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	node, err := nodeExecutable()
	if err != nil {
		return nil, err
	}
	info := req.GetInfo()
	dir := programDir(info, req.GetPwd())
	runJS, err := resolveModule(node, dir, "@pulumi/pulumi/cmd/run")
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	opts := options(info)

	var args []string
	if na := optString(opts, "nodeargs"); na != "" {
		args = append(args, strings.Fields(na)...)
	}
	args = append(args, runJS,
		"--monitor="+req.GetMonitorAddress(),
		"--engine="+h.engineAddress,
		"--project="+req.GetProject(),
		"--stack="+req.GetStack(),
		"--pwd="+req.GetPwd(),
		"--parallel="+strconv.Itoa(int(req.GetParallel())),
	)
	if req.GetOrganization() != "" {
		args = append(args, "--organization="+req.GetOrganization())
	}
	if info != nil && info.GetRootDirectory() != "" {
		args = append(args, "--root-directory="+info.GetRootDirectory())
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	// The program: "." lets cmd/run pick package.json's main; otherwise the entry point from Pulumi.yaml's main.
	program := "."
	if info != nil && info.GetEntryPoint() != "" && info.GetEntryPoint() != "." {
		program = filepath.Join(dir, info.GetEntryPoint())
	}
	args = append(args, "--", program)
	args = append(args, req.GetArgs()...)

	cfg := req.GetConfig()
	if cfg == nil {
		cfg = map[string]string{} // the SDK expects an object, never null
	}
	config, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON),
	)
	// TypeScript is on unless Pulumi.yaml says `typescript: false` (the official host's default too).
	ts := optString(opts, "typescript")
	env = append(env, "PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(ts != "false"))
	if tc := optString(opts, "tsconfig"); tc != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+tc)
	}

	cmd := exec.Command(node, args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	// The engine turns our stdout/stderr into the update's diagnostics.
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", node, err)
	}
	h.track(cmd.Process, true)
	defer h.track(cmd.Process, false)
	err = cmd.Wait()
	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if code == exitAfterLoggedError {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code)}, nil
	}
	return &pulumirpc.RunResponse{Error: err.Error()}, nil
}

// chunkSender forwards a child's output to the engine as it arrives (the engine reads a plugin's port from it).
type chunkSender struct {
	mu     *sync.Mutex
	stream grpc.ServerStreamingServer[pulumirpc.RunPluginResponse]
	stderr bool
}

func (c chunkSender) Write(p []byte) (int, error) {
	buf := append([]byte(nil), p...)
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := &pulumirpc.RunPluginResponse{}
	if c.stderr {
		resp.Output = &pulumirpc.RunPluginResponse_Stderr{Stderr: buf}
	} else {
		resp.Output = &pulumirpc.RunPluginResponse_Stdout{Stdout: buf}
	}
	if err := c.stream.Send(resp); err != nil {
		return 0, err
	}
	return len(p), nil
}

// RunPlugin starts a plugin written in Node.js: a policy pack (kind "analyzer", through @pulumi/pulumi's
// cmd/run-policy-pack, resolved from the pack's own node_modules) or any other plugin (cmd/run-plugin).
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, stream grpc.ServerStreamingServer[pulumirpc.RunPluginResponse]) error {
	node, err := nodeExecutable()
	if err != nil {
		return err
	}
	dir := programDir(req.GetInfo(), req.GetProgram()) //nolint:staticcheck // older engines
	entry := "@pulumi/pulumi/cmd/run-plugin"
	if req.GetKind() == "analyzer" {
		entry = "@pulumi/pulumi/cmd/run-policy-pack"
	}
	script, err := resolveModule(node, dir, entry)
	if err != nil {
		return err
	}
	opts := options(req.GetInfo())
	var args []string
	if na := optString(opts, "nodeargs"); na != "" {
		args = append(args, strings.Fields(na)...)
	}
	// Both entry points take the engine address first, then the program directory, then the plugin's own args.
	pluginArgs := req.GetArgs()
	engine := h.engineAddress
	if len(pluginArgs) > 0 {
		engine, pluginArgs = pluginArgs[0], pluginArgs[1:]
	}
	args = append(args, script, engine, dir)
	args = append(args, pluginArgs...)

	cmd := exec.Command(node, args...)
	cmd.Dir = req.GetPwd()
	if cmd.Dir == "" {
		cmd.Dir = dir
	}
	cmd.Env = append(os.Environ(), req.GetEnv()...)
	var mu sync.Mutex
	cmd.Stdout = chunkSender{mu: &mu, stream: stream}
	cmd.Stderr = chunkSender{mu: &mu, stream: stream, stderr: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", node, err)
	}
	h.track(cmd.Process, true)
	defer h.track(cmd.Process, false)

	go func() {
		<-stream.Context().Done()
		_ = cmd.Process.Kill()
	}()

	code := 0
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return err
		}
		code = ee.ExitCode()
	}
	mu.Lock()
	defer mu.Unlock()
	return stream.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}
