package main

// These tests start the built plugin as the engine does (argument: the engine's address; the port read from the
// first line of its stdout), speak ResourceProvider gRPC to it and serve the engine's Log RPC to capture what the
// plugin streams. No Pulumi engine is needed.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

var pluginBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dvm-command-plugin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginBinary = filepath.Join(dir, "pulumi-resource-command")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", pluginBinary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building the plugin: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// fakeEngine records the Log requests a plugin sends to the engine.
type fakeEngine struct {
	pulumirpc.UnimplementedEngineServer
	mu   sync.Mutex
	logs []*pulumirpc.LogRequest
}

func (e *fakeEngine) Log(_ context.Context, req *pulumirpc.LogRequest) (*emptypb.Empty, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.logs = append(e.logs, req)
	return &emptypb.Empty{}, nil
}

func (e *fakeEngine) messages() []*pulumirpc.LogRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*pulumirpc.LogRequest(nil), e.logs...)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	t      *testing.T
	client pulumirpc.ResourceProviderClient
	engine *fakeEngine
	stdout *syncBuffer // the plugin's own output after the port line
	stderr *syncBuffer
	cwd    string // the plugin's working directory
}

// start runs the plugin binary against a fake engine and configures it the way the engine does.
func start(t *testing.T) *harness {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	engine := &fakeEngine{}
	srv := grpc.NewServer()
	pulumirpc.RegisterEngineServer(srv, engine)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	h := &harness{t: t, engine: engine, stdout: &syncBuffer{}, stderr: &syncBuffer{}, cwd: t.TempDir()}
	cmd := exec.Command(pluginBinary, lis.Addr().String())
	cmd.Dir = h.cwd
	cmd.Stderr = h.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	br := bufio.NewReader(out)
	portLine, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the port line: %v (stderr: %s)", err, h.stderr.String())
	}
	go func() { _, _ = io.Copy(h.stdout, br) }()
	port := strings.TrimSpace(portLine)
	conn, err := grpc.NewClient("127.0.0.1:"+port, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	h.client = pulumirpc.NewResourceProviderClient(conn)

	ctx := context.Background()
	cfg, err := h.client.CheckConfig(ctx, &pulumirpc.CheckRequest{Urn: providerURN, News: h.props(resource.PropertyMap{
		"version": resource.NewStringProperty("1.2.1"),
	})})
	if err != nil || len(cfg.GetFailures()) > 0 {
		t.Fatalf("CheckConfig: %v %v", err, cfg.GetFailures())
	}
	resp, err := h.client.Configure(ctx, &pulumirpc.ConfigureRequest{
		AcceptSecrets: true, AcceptResources: true, SendsOldInputs: true, SendsOldInputsToDelete: true,
		Args: cfg.GetInputs(),
	})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if !resp.GetAcceptSecrets() || !resp.GetSupportsPreview() {
		t.Fatalf("Configure: the plugin must accept secrets and support preview, got %v", resp)
	}
	return h
}

const providerURN = "urn:pulumi:dev::dvm::pulumi:providers:command::default_1_2_1"

func urnOf(name string) string {
	return string(resource.NewURN("dev", "dvm", "", commandType, name))
}

func (h *harness) props(m resource.PropertyMap) *structpb.Struct {
	h.t.Helper()
	s, err := plugin.MarshalProperties(m, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true})
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) parse(s *structpb.Struct) resource.PropertyMap {
	h.t.Helper()
	m, err := plugin.UnmarshalProperties(s, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true})
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// check runs Check as the engine does before every create, update and diff, and fails on failures.
func (h *harness) check(name string, inputs resource.PropertyMap) resource.PropertyMap {
	h.t.Helper()
	resp, err := h.client.Check(context.Background(), &pulumirpc.CheckRequest{Urn: urnOf(name), News: h.props(inputs)})
	if err != nil {
		h.t.Fatalf("Check: %v", err)
	}
	if len(resp.GetFailures()) > 0 {
		h.t.Fatalf("Check failures: %v", resp.GetFailures())
	}
	return h.parse(resp.GetInputs())
}

func (h *harness) create(name string, inputs resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	h.t.Helper()
	resp, err := h.client.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: urnOf(name), Properties: h.props(h.check(name, inputs)), Preview: preview,
	})
	if err != nil {
		return "", nil, err
	}
	return resp.GetId(), h.parse(resp.GetProperties()), nil
}

func (h *harness) mustCreate(name string, inputs resource.PropertyMap) (string, resource.PropertyMap) {
	h.t.Helper()
	id, outs, err := h.create(name, inputs, false)
	if err != nil {
		h.t.Fatalf("Create: %v", err)
	}
	return id, outs
}

func (h *harness) diff(name, id string, oldInputs, state, news resource.PropertyMap) *pulumirpc.DiffResponse {
	h.t.Helper()
	resp, err := h.client.Diff(context.Background(), &pulumirpc.DiffRequest{
		Urn: urnOf(name), Id: id, OldInputs: h.props(oldInputs), Olds: h.props(state), News: h.props(h.check(name, news)),
	})
	if err != nil {
		h.t.Fatalf("Diff: %v", err)
	}
	return resp
}

func (h *harness) update(name, id string, oldInputs, state, news resource.PropertyMap, preview bool) (resource.PropertyMap, error) {
	h.t.Helper()
	resp, err := h.client.Update(context.Background(), &pulumirpc.UpdateRequest{
		Urn: urnOf(name), Id: id, OldInputs: h.props(oldInputs), Olds: h.props(state),
		News: h.props(h.check(name, news)), Preview: preview,
	})
	if err != nil {
		return nil, err
	}
	return h.parse(resp.GetProperties()), nil
}

func (h *harness) delete(name, id string, oldInputs, state resource.PropertyMap) error {
	h.t.Helper()
	_, err := h.client.Delete(context.Background(), &pulumirpc.DeleteRequest{
		Urn: urnOf(name), Id: id, OldInputs: h.props(oldInputs), Properties: h.props(state),
	})
	return err
}

func str(s string) resource.PropertyValue { return resource.NewStringProperty(s) }

func secret(s string) resource.PropertyValue { return resource.MakeSecret(str(s)) }

func env(kv ...string) resource.PropertyValue {
	m := resource.PropertyMap{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[resource.PropertyKey(kv[i])] = str(kv[i+1])
	}
	return resource.NewObjectProperty(m)
}

func list(vs ...resource.PropertyValue) resource.PropertyValue { return resource.NewArrayProperty(vs) }

func outString(t *testing.T, m resource.PropertyMap, key string) string {
	t.Helper()
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		t.Fatalf("output %s missing in %v", key, m)
	}
	if v.IsSecret() || v.IsComputed() || !v.IsString() {
		t.Fatalf("output %s: want a plain string, got %v", key, v)
	}
	return v.StringValue()
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestPluginInfoAndSchema(t *testing.T) {
	h := start(t)
	info, err := h.client.GetPluginInfo(context.Background(), &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if info.GetVersion() != "1.2.1" {
		t.Fatalf("version: got %q, want 1.2.1 (the @pulumi/command release whose provider this stands in for)", info.GetVersion())
	}
	s, err := h.client.GetSchema(context.Background(), &pulumirpc.GetSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"command:local:Command"`, `"triggers":{`, `"replaceOnChanges":true`, `"version":"1.2.1"`} {
		if !strings.Contains(s.GetSchema(), want) {
			t.Errorf("schema lacks %s: %s", want, s.GetSchema())
		}
	}
	if strings.Contains(s.GetSchema(), "assetPaths") || strings.Contains(s.GetSchema(), "command:remote") {
		t.Errorf("schema claims what the stand-in does not implement: %s", s.GetSchema())
	}
}

func TestCreateRunsTheCommandWithEnvironmentDirAndStdin(t *testing.T) {
	h := start(t)
	dir := t.TempDir()
	inputs := resource.PropertyMap{
		"create":      str(`printf '%s\n' "$GREETING"; pwd; cat; echo to-stderr >&2`),
		"environment": env("GREETING", "hello world"),
		"dir":         str(dir),
		"stdin":       str("from stdin"),
	}
	id, outs := h.mustCreate("copy", inputs)
	if !strings.HasPrefix(id, "copy") || len(id) != len("copy")+8 {
		t.Errorf("id: got %q, want the resource name and 8 hex characters", id)
	}
	if got, want := outString(t, outs, "stdout"), "hello world\n"+dir+"\nfrom stdin"; got != want {
		t.Errorf("stdout: got %q, want %q", got, want)
	}
	if got := outString(t, outs, "stderr"); got != "to-stderr" {
		t.Errorf("stderr: got %q, want %q", got, "to-stderr")
	}
	for k, v := range inputs {
		if !outs[k].DeepEquals(v) {
			t.Errorf("output %s: got %v, want the input %v", k, outs[k], v)
		}
	}
}

func TestCreateDefaultsToThePluginsDirectoryAndKeepsOnlyOneTrailingNewlineOff(t *testing.T) {
	h := start(t)
	_, outs := h.mustCreate("pwd", resource.PropertyMap{"create": str(`pwd; echo; echo`)})
	if got, want := outString(t, outs, "stdout"), h.cwd+"\n\n"; got != want {
		t.Errorf("stdout: got %q, want %q", got, want)
	}
}

func TestCreateWithoutACommandRunsNothingAndHasEmptyOutputs(t *testing.T) {
	h := start(t)
	_, outs := h.mustCreate("nothing", resource.PropertyMap{"delete": str("true")})
	if outString(t, outs, "stdout") != "" || outString(t, outs, "stderr") != "" {
		t.Errorf("outputs: %v", outs)
	}
}

func TestInterpreter(t *testing.T) {
	h := start(t)
	_, outs := h.mustCreate("interp", resource.PropertyMap{
		"create":      str("the command text"),
		"interpreter": list(str("/bin/echo"), str("via-echo")),
	})
	if got := outString(t, outs, "stdout"); got != "via-echo the command text" {
		t.Errorf("stdout: got %q", got)
	}
}

func TestPreviewRunsNothing(t *testing.T) {
	h := start(t)
	marker := filepath.Join(t.TempDir(), "ran")
	inputs := resource.PropertyMap{"create": str("touch " + marker), "update": str("touch " + marker)}

	_, outs, err := h.create("pre", inputs, true)
	if err != nil {
		t.Fatal(err)
	}
	if fileExists(marker) {
		t.Fatal("a create preview ran the command")
	}
	for _, k := range []resource.PropertyKey{"stdout", "stderr"} {
		if !outs[k].IsComputed() {
			t.Errorf("create preview: %s must be unknown, got %v", k, outs[k])
		}
	}

	// An unknown input (a value another resource computes during the update) is fine in a preview.
	unknownInputs := resource.PropertyMap{"create": resource.MakeComputed(str(""))}
	if _, _, err := h.create("pre-unknown", unknownInputs, true); err != nil {
		t.Fatalf("create preview with an unknown command: %v", err)
	}

	state := withOutputs(inputs, str("old out"), str(""))
	news := resource.PropertyMap{"create": str("touch " + marker), "update": str("touch " + marker + " # changed")}
	outs, err = h.update("pre", "pre0001", inputs, state, news, true)
	if err != nil {
		t.Fatal(err)
	}
	if fileExists(marker) {
		t.Fatal("an update preview ran the command")
	}
	if !outs["stdout"].IsComputed() {
		t.Errorf("update preview: stdout must be unknown, got %v", outs["stdout"])
	}

	// The real run does what the preview did not.
	if _, _, err := h.create("pre", inputs, false); err != nil {
		t.Fatal(err)
	}
	if !fileExists(marker) {
		t.Fatal("create did not run the command")
	}
}

func TestUpdateRunsUpdateWithThePreviousOutputs(t *testing.T) {
	h := start(t)
	inputs := resource.PropertyMap{
		"create": str("echo first; echo first-err >&2"),
		"update": str(`echo "was:$PULUMI_COMMAND_STDOUT/$PULUMI_COMMAND_STDERR"`),
	}
	id, state := h.mustCreate("up", inputs)
	news := inputs.Copy()
	news["environment"] = env("X", "1")
	outs, err := h.update("up", id, inputs, state, news, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := outString(t, outs, "stdout"); got != "was:first/first-err" {
		t.Errorf("stdout: got %q, want the update command's output with the previous outputs", got)
	}
	if !outs["environment"].DeepEquals(news["environment"]) {
		t.Errorf("the outputs must hold the new inputs, got %v", outs)
	}

	// addPreviousOutputInEnv: false keeps them out.
	quiet := news.Copy()
	quiet["addPreviousOutputInEnv"] = resource.NewBoolProperty(false)
	quiet["update"] = str(`echo "was:${PULUMI_COMMAND_STDOUT-unset}"`)
	outs, err = h.update("up", id, news, outs, quiet, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := outString(t, outs, "stdout"); got != "was:unset" {
		t.Errorf("stdout with addPreviousOutputInEnv false: got %q", got)
	}
}

func TestUpdateWithoutUpdateRunsCreate(t *testing.T) {
	h := start(t)
	inputs := resource.PropertyMap{"create": str(`echo "run:$N"`), "environment": env("N", "1")}
	id, state := h.mustCreate("again", inputs)
	news := resource.PropertyMap{"create": str(`echo "run:$N"`), "environment": env("N", "2")}
	outs, err := h.update("again", id, inputs, state, news, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := outString(t, outs, "stdout"); got != "run:2" {
		t.Errorf("stdout: got %q, want create's output with the new environment", got)
	}
}

func TestDiff(t *testing.T) {
	h := start(t)
	inputs := resource.PropertyMap{
		"create":   str("echo a"),
		"triggers": list(str("sha256:aaa")),
	}
	id, state := h.mustCreate("d", inputs)

	same := h.diff("d", id, inputs, state, inputs.Copy())
	if same.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("unchanged inputs: got %v, want DIFF_NONE", same)
	}

	trig := inputs.Copy()
	trig["triggers"] = list(str("sha256:bbb"))
	d := h.diff("d", id, inputs, state, trig)
	if d.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME || strings.Join(d.GetReplaces(), ",") != "triggers" {
		t.Errorf("a changed trigger must replace: got %v", d)
	}
	if d.GetDeleteBeforeReplace() {
		t.Errorf("replacement creates the new resource first, got deleteBeforeReplace")
	}
	if k := d.GetDetailedDiff()["triggers[0]"].GetKind(); k != pulumirpc.PropertyDiff_UPDATE_REPLACE {
		t.Errorf("detailed diff of triggers[0]: got %v, want UPDATE_REPLACE", k)
	}

	added := inputs.Copy()
	added["triggers"] = list(str("sha256:aaa"), str("sha256:ccc"))
	if d := h.diff("d", id, inputs, state, added); strings.Join(d.GetReplaces(), ",") != "triggers" {
		t.Errorf("an added trigger must replace: got %v", d)
	}

	cmd := inputs.Copy()
	cmd["create"] = str("echo b")
	d = h.diff("d", id, inputs, state, cmd)
	if d.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME || len(d.GetReplaces()) != 0 ||
		strings.Join(d.GetDiffs(), ",") != "create" {
		t.Errorf("a changed create command is an update, not a replacement: got %v", d)
	}

	// ignoreChanges keeps the old value: no change at all.
	resp, err := h.client.Diff(context.Background(), &pulumirpc.DiffRequest{
		Urn: urnOf("d"), Id: id, OldInputs: h.props(inputs), Olds: h.props(state), News: h.props(trig),
		IgnoreChanges: []string{"triggers"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("ignoreChanges [triggers]: got %v, want DIFF_NONE", resp)
	}
}

func TestDeleteRunsDeleteWithThePreviousOutputs(t *testing.T) {
	h := start(t)
	marker := filepath.Join(t.TempDir(), "deleted")
	inputs := resource.PropertyMap{
		"create":      str("echo created-42"),
		"delete":      str(`printf '%s' "$PULUMI_COMMAND_STDOUT:$WHERE" > "` + marker + `"`),
		"environment": env("WHERE", "state-env"),
	}
	id, state := h.mustCreate("del", inputs)
	if fileExists(marker) {
		t.Fatal("create ran the delete command")
	}
	if err := h.delete("del", id, inputs, state); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(marker)
	if err != nil {
		t.Fatalf("delete did not run its command: %v", err)
	}
	if string(got) != "created-42:state-env" {
		t.Errorf("delete saw %q, want the previous stdout and the state's environment", got)
	}

	// Without a delete command, delete does nothing and succeeds.
	id, state = h.mustCreate("nodel", resource.PropertyMap{"create": str("true")})
	if err := h.delete("nodel", id, resource.PropertyMap{"create": str("true")}, state); err != nil {
		t.Fatal(err)
	}
}

func TestNonZeroExitFailsWithTheCommandsOutput(t *testing.T) {
	h := start(t)
	_, _, err := h.create("bad", resource.PropertyMap{
		"create": str("echo partial; echo 'manifest unknown: registry says no' >&2; exit 3"),
	}, false)
	if err == nil {
		t.Fatal("a command exiting 3 must fail the create")
	}
	for _, want := range []string{"exit status 3", "manifest unknown: registry says no", "partial"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}

	inputs := resource.PropertyMap{"create": str("true"), "delete": str("echo cannot-delete >&2; exit 1")}
	id, state := h.mustCreate("bad-update", inputs)
	news := resource.PropertyMap{"create": str("echo nope >&2; false"), "delete": inputs["delete"]}
	if _, err := h.update("bad-update", id, inputs, state, news, false); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("a failing update must fail with its stderr, got %v", err)
	}
	if err := h.delete("bad-update", id, inputs, state); err == nil || !strings.Contains(err.Error(), "cannot-delete") {
		t.Errorf("a failing delete must fail with its stderr, got %v", err)
	}

	_, _, err = h.create("nodir", resource.PropertyMap{"create": str("true"), "dir": str("/nonexistent/dvm")}, false)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/dvm") {
		t.Errorf("a missing dir must fail naming it, got %v", err)
	}
}

func TestSecretEnvironmentStaysSecret(t *testing.T) {
	h := start(t)
	const password = "s3cr3t-Pa55word-4711"
	inputs := resource.PropertyMap{
		// The command proves it got the value, prints its own command line, and logs a line (logging on).
		"create": str(`test "$REGISTRY_PASSWORD" = "` + "$EXPECTED" + `" && echo password-received && tr '\0' ' ' </proc/$$/cmdline`),
		"environment": resource.NewObjectProperty(resource.PropertyMap{
			"REGISTRY_PASSWORD": secret(password),
			"EXPECTED":          secret(password),
		}),
	}
	_, outs := h.mustCreate("secret", inputs)

	envOut := outs["environment"]
	if !envOut.IsObject() || !envOut.ObjectValue()["REGISTRY_PASSWORD"].IsSecret() {
		t.Fatalf("the secret environment value must stay secret in the outputs, got %v", envOut)
	}
	stdout := outString(t, outs, "stdout")
	if !strings.HasPrefix(stdout, "password-received") {
		t.Errorf("the command did not receive the secret through its environment: %q", stdout)
	}
	if strings.Contains(stdout, password) {
		t.Errorf("the secret reached the command line: %q", stdout)
	}
	// Like the official 1.2.1 provider, stdout is not made secret because an input is (outString asserts plain).

	// A failing command with a secret environment and a secret command: the error quotes neither.
	_, _, err := h.create("secret-fail", resource.PropertyMap{
		"create":      resource.MakeSecret(str("echo failing >&2; exit 7 # " + password)),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"REGISTRY_PASSWORD": secret(password)}),
	}, false)
	if err == nil || !strings.Contains(err.Error(), "exit status 7") || !strings.Contains(err.Error(), "failing") {
		t.Fatalf("want a failure with the command's stderr, got %v", err)
	}
	if strings.Contains(err.Error(), password) {
		t.Errorf("the error shows the secret: %v", err)
	}

	// Delete with the secret in the state.
	if err := h.delete("secret", "secret0", inputs, outs); err != nil {
		t.Fatal(err)
	}

	time.Sleep(100 * time.Millisecond) // the plugin's own output is read asynchronously
	for what, text := range map[string]string{"stdout": h.stdout.String(), "stderr": h.stderr.String()} {
		if strings.Contains(text, password) {
			t.Errorf("the plugin's own %s shows the secret: %q", what, text)
		}
	}
	logged := false
	for _, l := range h.engine.messages() {
		if strings.Contains(l.GetMessage(), password) {
			t.Errorf("a log message to the engine shows the secret: %q", l.GetMessage())
		}
		logged = logged || l.GetMessage() == "password-received"
	}
	if !logged {
		t.Errorf("the log stream carried no output at all, so it proves nothing: %v", h.engine.messages())
	}
}

func TestLoggingStreamsOutputLinesToTheEngine(t *testing.T) {
	h := start(t)
	script := str("echo out-line; echo err-line >&2")
	for _, tc := range []struct {
		logging string
		want    []string
	}{
		{"", []string{"out-line", "err-line"}},
		{"stdoutAndStderr", []string{"out-line", "err-line"}},
		{"stdout", []string{"out-line"}},
		{"stderr", []string{"err-line"}},
		{"none", nil},
	} {
		name := "log-" + tc.logging
		if tc.logging == "" {
			name = "log-default"
		}
		inputs := resource.PropertyMap{"create": script}
		if tc.logging != "" {
			inputs["logging"] = str(tc.logging)
		}
		h.mustCreate(name, inputs)
		var got []string
		for _, l := range h.engine.messages() {
			if l.GetUrn() == urnOf(name) {
				if !l.GetEphemeral() || l.GetSeverity() != pulumirpc.LogSeverity_INFO {
					t.Errorf("%s: want ephemeral info status messages, got %v", name, l)
				}
				got = append(got, l.GetMessage())
			}
		}
		sort.Strings(got) // stdout and stderr are separate pipes: their relative order is not defined
		want := append([]string(nil), tc.want...)
		sort.Strings(want)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: logged %q, want %q", name, got, tc.want)
		}
	}
}

func TestRefusesWhatItDoesNotImplement(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	cases := map[string]resource.PropertyMap{
		"assetPaths":   {"create": str("true"), "assetPaths": list(str("*.txt"))},
		"archivePaths": {"create": str("true"), "archivePaths": list(str("*.txt"))},
		"creat":        {"creat": str("true")},
		"create":       {"create": resource.NewNumberProperty(1)},
		"logging":      {"create": str("true"), "logging": str("loud")},
		"environment":  {"create": str("true"), "environment": resource.NewObjectProperty(resource.PropertyMap{"N": resource.NewNumberProperty(1)})},
		"interpreter":  {"create": str("true"), "interpreter": str("/bin/bash -c")},
	}
	for property, inputs := range cases {
		resp, err := h.client.Check(ctx, &pulumirpc.CheckRequest{Urn: urnOf("x"), News: h.props(inputs)})
		if err != nil {
			t.Fatalf("%s: %v", property, err)
		}
		if len(resp.GetFailures()) != 1 || resp.GetFailures()[0].GetProperty() != property ||
			!strings.Contains(resp.GetFailures()[0].GetReason(), property) {
			t.Errorf("%s: want one failure naming it, got %v", property, resp.GetFailures())
			continue
		}
		if property == "assetPaths" || property == "archivePaths" {
			if reason := resp.GetFailures()[0].GetReason(); !strings.Contains(reason, "not implemented by dvm's stand-in") {
				t.Errorf("%s: the failure must say the stand-in does not implement it, got %q", property, reason)
			}
		}
	}
	// Create refuses them too (a caller that skipped Check).
	if _, err := h.client.Create(ctx, &pulumirpc.CreateRequest{Urn: urnOf("x"), Properties: h.props(cases["assetPaths"])}); err == nil ||
		!strings.Contains(err.Error(), "assetPaths") {
		t.Errorf("Create with assetPaths: got %v", err)
	}

	remote := string(resource.NewURN("dev", "dvm", "", "command:remote:Command", "r"))
	if _, err := h.client.Check(ctx, &pulumirpc.CheckRequest{Urn: remote, News: h.props(resource.PropertyMap{})}); err == nil ||
		!strings.Contains(err.Error(), "command:remote:Command") {
		t.Errorf("command:remote:Command must be refused by name, got %v", err)
	}
	if _, err := h.client.Invoke(ctx, &pulumirpc.InvokeRequest{Tok: "command:local:run"}); err == nil ||
		!strings.Contains(err.Error(), "command:local:run") {
		t.Errorf("command:local:run must be refused by name, got %v", err)
	}
	cfg, err := h.client.CheckConfig(ctx, &pulumirpc.CheckRequest{Urn: providerURN, News: h.props(resource.PropertyMap{
		"version": str("1.2.1"), "shell": str("bash"),
	})})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.GetFailures()) != 1 || cfg.GetFailures()[0].GetProperty() != "shell" {
		t.Errorf("provider configuration must be refused by key, got %v", cfg.GetFailures())
	}
}

// processGone reports whether pid has ended (absent, or a zombie nobody reaped yet).
func processGone(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] == "Z"
}

func TestCancelStopsARunningCommandAndItsChildren(t *testing.T) {
	h := start(t)
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	done := make(chan error, 1)
	go func() {
		_, _, err := h.create("slow", resource.PropertyMap{
			"create": str("sleep 30 & echo $! > " + pidFile + "; wait"),
		}, false)
		done <- err
	}()
	var child int
	for deadline := time.Now().Add(10 * time.Second); child == 0 && time.Now().Before(deadline); {
		if data, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(data), "\n") {
			child, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if child == 0 {
		t.Fatal("the command did not start")
	}
	if _, err := h.client.Cancel(context.Background(), &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "cancelled") {
			t.Errorf("a cancelled command must fail saying so, got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Cancel did not stop the running command")
	}
	// SIGKILL is delivered asynchronously: give the kernel a moment to finish the process.
	for deadline := time.Now().Add(5 * time.Second); !processGone(child) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !processGone(child) {
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		t.Errorf("the command's child %d survived the cancel: %s", child, stat)
	}
	// After Cancel the engine is shutting down: nothing new starts.
	marker := filepath.Join(t.TempDir(), "late")
	if _, _, err := h.create("late", resource.PropertyMap{"create": str("touch " + marker)}, false); err == nil || fileExists(marker) {
		t.Errorf("a command after Cancel must not run, got err=%v, ran=%v", err, fileExists(marker))
	}
}

func TestCustomTimeoutStopsACommand(t *testing.T) {
	h := start(t)
	inputs := h.check("t", resource.PropertyMap{"create": str("sleep 30")})
	_, err := h.client.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: urnOf("t"), Properties: h.props(inputs), Timeout: 1,
	})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("a command past its custom timeout must fail saying so, got %v", err)
	}
}

func TestReadKeepsTheState(t *testing.T) {
	h := start(t)
	inputs := resource.PropertyMap{"create": str("echo x")}
	id, state := h.mustCreate("r", inputs)
	resp, err := h.client.Read(context.Background(), &pulumirpc.ReadRequest{
		Urn: urnOf("r"), Id: id, Properties: h.props(state), Inputs: h.props(inputs),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetId() != id || !h.parse(resp.GetProperties()).DeepEquals(state) || !h.parse(resp.GetInputs()).DeepEquals(inputs) {
		t.Errorf("Read must return the state as it is, got %v", resp)
	}
}
