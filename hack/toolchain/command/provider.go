package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// marshalOptions keep secrets, unknowns and resource references as the engine sends them, so that what comes in
// as a secret goes back out as one.
var marshalOptions = plugin.MarshalOptions{
	KeepUnknowns:  true,
	KeepSecrets:   true,
	KeepResources: true,
	SkipNulls:     true,
}

type provider struct {
	pulumirpc.UnimplementedResourceProviderServer

	mu            sync.Mutex
	engineAddress string
	engine        pulumirpc.EngineClient
	engineConn    *grpc.ClientConn
	oldInputs     bool // the engine sends old inputs to Diff (Configure's sendsOldInputs)

	// cancelled closes when the engine calls Cancel: running commands are killed, later ones do not start.
	cancelled chan struct{}
	cancel    sync.Once
}

func newProvider() *provider { return &provider{cancelled: make(chan struct{})} }

func (p *provider) setEngine(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if addr == p.engineAddress {
		return
	}
	if p.engineConn != nil {
		_ = p.engineConn.Close()
	}
	p.engineAddress, p.engine, p.engineConn = addr, nil, nil
}

// engineClient connects to the engine (for log messages) on first use; nil when there is no engine address.
func (p *provider) engineClient() pulumirpc.EngineClient {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.engine != nil || p.engineAddress == "" {
		return p.engine
	}
	conn, err := grpc.NewClient(p.engineAddress, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil
	}
	p.engineConn, p.engine = conn, pulumirpc.NewEngineClient(conn)
	return p.engine
}

// operationContext ties an operation to the engine's Cancel and to the resource's custom timeout (seconds; 0: none).
func (p *provider) operationContext(ctx context.Context, timeout float64) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	if timeout > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeout(ctx, time.Duration(timeout*float64(time.Second)))
		inner := cancel
		cancel = func() { cancelTimeout(); inner() }
	}
	select {
	case <-p.cancelled:
		cancel()
		return ctx, cancel
	default:
	}
	go func() {
		select {
		case <-p.cancelled:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	m, err := plugin.UnmarshalProperties(s, marshalOptions)
	if err != nil {
		return nil, err
	}
	if m == nil {
		m = resource.PropertyMap{}
	}
	return m, nil
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, marshalOptions)
}

// requireCommandType refuses every resource of the package but command:local:Command.
func requireCommandType(urn string) error {
	u := resource.URN(urn)
	if !u.IsValid() {
		return status.Errorf(codes.InvalidArgument, "invalid resource URN %q", urn)
	}
	if t := string(u.Type()); t != commandType {
		return status.Errorf(codes.InvalidArgument,
			"%s is not implemented by dvm's stand-in for pulumi-resource-command (hack/toolchain/command), "+
				"which implements only %s; run with the official plugin", t, commandType)
	}
	return nil
}

func (p *provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (p *provider) Attach(_ context.Context, req *pulumirpc.PluginAttach) (*emptypb.Empty, error) {
	p.setEngine(req.GetAddress())
	return &emptypb.Empty{}, nil
}

func (p *provider) GetSchema(_ context.Context, req *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	if req.GetSubpackageName() != "" {
		return nil, status.Errorf(codes.InvalidArgument, "the command provider has no sub-package %q", req.GetSubpackageName())
	}
	s, err := schemaJSON()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetSchemaResponse{Schema: s}, nil
}

// GetMapping: the command provider has no mappings to other ecosystems.
func (p *provider) GetMapping(context.Context, *pulumirpc.GetMappingRequest) (*pulumirpc.GetMappingResponse, error) {
	return &pulumirpc.GetMappingResponse{}, nil
}

func (p *provider) GetMappings(context.Context, *pulumirpc.GetMappingsRequest) (*pulumirpc.GetMappingsResponse, error) {
	return &pulumirpc.GetMappingsResponse{}, nil
}

// providerInternalKeys are keys the engine itself puts into every provider's configuration.
var providerInternalKeys = map[string]bool{"version": true, "pluginDownloadURL": true}

// CheckConfig: the command provider has no configuration; a key set under `command:` is a mistake, said so.
func (p *provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	for _, k := range news.StableKeys() {
		if providerInternalKeys[string(k)] || internalKey(string(k)) {
			continue
		}
		failures = append(failures, &pulumirpc.CheckFailure{Property: string(k), Reason: fmt.Sprintf(
			"the command provider has no configuration; remove %q (stack config key command:%s)", k, k)})
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

// DiffConfig: with no configuration, nothing about the provider can require replacing its resources.
func (p *provider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *provider) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	p.mu.Lock()
	p.oldInputs = req.GetSendsOldInputs()
	p.mu.Unlock()
	return &pulumirpc.ConfigureResponse{
		AcceptSecrets:   true,
		SupportsPreview: true,
		AcceptResources: true,
	}, nil
}

func (p *provider) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	return nil, status.Errorf(codes.Unimplemented,
		"the function %s is not implemented by dvm's stand-in for pulumi-resource-command "+
			"(hack/toolchain/command), which implements only the resource %s; run with the official plugin",
		req.GetTok(), commandType)
}

func (p *provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := requireCommandType(req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: checkInputs(news, false)}, nil
}

// applyIgnoreChanges keeps, for each ignoreChanges path, the old value (from the state) in the new inputs.
func applyIgnoreChanges(news, olds resource.PropertyMap, paths []string) (resource.PropertyMap, error) {
	if len(paths) == 0 {
		return news, nil
	}
	obj := resource.NewObjectProperty(news.Copy())
	oldObj := resource.NewObjectProperty(olds)
	for _, s := range paths {
		path, err := resource.ParsePropertyPath(s)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "ignoreChanges: %v", err)
		}
		if v, ok := path.Get(oldObj); ok {
			if !path.Set(obj, v) {
				return nil, status.Errorf(codes.InvalidArgument, "ignoreChanges: cannot keep %s", s)
			}
		}
	}
	return obj.ObjectValue(), nil
}

// userInputs drops what is not a user input: the engine's and SDK's internal keys and, for a state, the outputs.
func userInputs(m resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range m {
		if internalKey(string(k)) || k == "version" {
			continue
		}
		out[k] = v
	}
	return out
}

func (p *provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	if err := requireCommandType(req.GetUrn()); err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	if news, err = applyIgnoreChanges(news, olds, req.GetIgnoreChanges()); err != nil {
		return nil, err
	}
	p.mu.Lock()
	haveOldInputs := p.oldInputs && req.GetOldInputs() != nil
	p.mu.Unlock()
	var oldInputs resource.PropertyMap
	if haveOldInputs {
		if oldInputs, err = unmarshal(req.GetOldInputs()); err != nil {
			return nil, err
		}
	} else {
		// Without the old inputs, the state's copies of them serve: the state holds the inputs as given.
		oldInputs = olds.Copy()
		for _, k := range outputOnly {
			delete(oldInputs, resource.PropertyKey(k))
		}
	}
	objDiff := userInputs(oldInputs).Diff(userInputs(news))
	if objDiff == nil || !objDiff.AnyChanges() {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true}, nil
	}

	detailed := map[string]*pulumirpc.PropertyDiff{}
	changed, replaced := map[string]bool{}, map[string]bool{}
	for path, d := range plugin.NewDetailedDiffFromObjectDiff(objDiff, false) {
		head := path
		if pp, err := resource.ParsePropertyPath(path); err == nil && len(pp) > 0 {
			if h, ok := pp[0].(string); ok {
				head = h
			}
		}
		kind := d.Kind
		if spec, ok := specOf(head); ok && spec.replaceOnChanges {
			kind = kind.AsReplace()
		}
		changed[head] = true
		if kind.IsReplace() {
			replaced[head] = true
		}
		detailed[path] = &pulumirpc.PropertyDiff{Kind: rpcDiffKind(kind), InputDiff: true}
	}
	return &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_SOME,
		Replaces:        sortedKeys(replaced),
		Diffs:           sortedKeys(changed),
		DetailedDiff:    detailed,
		HasDetailedDiff: true,
	}, nil
}

func rpcDiffKind(k plugin.DiffKind) pulumirpc.PropertyDiff_Kind {
	switch k {
	case plugin.DiffAdd:
		return pulumirpc.PropertyDiff_ADD
	case plugin.DiffAddReplace:
		return pulumirpc.PropertyDiff_ADD_REPLACE
	case plugin.DiffDelete:
		return pulumirpc.PropertyDiff_DELETE
	case plugin.DiffDeleteReplace:
		return pulumirpc.PropertyDiff_DELETE_REPLACE
	case plugin.DiffUpdateReplace:
		return pulumirpc.PropertyDiff_UPDATE_REPLACE
	default:
		return pulumirpc.PropertyDiff_UPDATE
	}
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// previousOutputs reads stdout and stderr from a state (plain strings; empty when absent or unknown).
func previousOutputs(state resource.PropertyMap) [2]string {
	var out [2]string
	for i, k := range outputOnly {
		if v, _, unknown := unwrap(state[resource.PropertyKey(k)]); !unknown && v.IsString() {
			out[i] = v.StringValue()
		}
	}
	return out
}

func withOutputs(inputs resource.PropertyMap, stdout, stderr resource.PropertyValue) resource.PropertyMap {
	out := inputs.Copy()
	out["stdout"], out["stderr"] = stdout, stderr
	return out
}

var unknownString = resource.MakeComputed(resource.NewStringProperty(""))

func (p *provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := requireCommandType(req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	id, err := resource.NewUniqueHex(resource.URN(req.GetUrn()).Name(), 8, 0)
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		props, err := marshal(withOutputs(news, unknownString, unknownString))
		if err != nil {
			return nil, err
		}
		return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
	}
	in, err := decodeInputs(news, false)
	if err != nil {
		return nil, err
	}
	var stdout, stderr string
	if in.create != nil {
		ctx, cancel := p.operationContext(ctx, req.GetTimeout())
		defer cancel()
		if stdout, stderr, err = p.runCommand(ctx, resource.URN(req.GetUrn()), in.create, in, [2]string{}); err != nil {
			return nil, err
		}
	}
	props, err := marshal(withOutputs(news, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr)))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// Read (refresh, import): a command has nothing outside the state to read; the state stays as it is.
func (p *provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if err := requireCommandType(req.GetUrn()); err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

// previewChanged reports whether an update preview must show stdout and stderr as unknown: some input is
// unknown, or differs from the value the state holds.
func previewChanged(news, olds resource.PropertyMap) bool {
	for k, v := range news {
		if v.ContainsUnknowns() {
			return true
		}
		if old, ok := olds[k]; ok && !old.DeepEquals(v) {
			return true
		}
	}
	return false
}

func (p *provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if err := requireCommandType(req.GetUrn()); err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	if news, err = applyIgnoreChanges(news, olds, req.GetIgnoreChanges()); err != nil {
		return nil, err
	}
	prev := previousOutputs(olds)
	stdout, stderr := resource.NewStringProperty(prev[0]), resource.NewStringProperty(prev[1])
	if req.GetPreview() {
		if previewChanged(news, olds) {
			stdout, stderr = unknownString, unknownString
		}
		props, err := marshal(withOutputs(news, stdout, stderr))
		if err != nil {
			return nil, err
		}
		return &pulumirpc.UpdateResponse{Properties: props}, nil
	}
	in, err := decodeInputs(news, false)
	if err != nil {
		return nil, err
	}
	command := in.create
	if in.update != nil {
		command = in.update
	}
	if command != nil {
		ctx, cancel := p.operationContext(ctx, req.GetTimeout())
		defer cancel()
		out, errOut, err := p.runCommand(ctx, resource.URN(req.GetUrn()), command, in, prev)
		if err != nil {
			return nil, err
		}
		stdout, stderr = resource.NewStringProperty(out), resource.NewStringProperty(errOut)
	}
	props, err := marshal(withOutputs(news, stdout, stderr))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *provider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if err := requireCommandType(req.GetUrn()); err != nil {
		return nil, err
	}
	state, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	in, err := decodeInputs(state, true)
	if err != nil {
		return nil, err
	}
	if in.delete == nil {
		return &emptypb.Empty{}, nil
	}
	ctx, cancel := p.operationContext(ctx, req.GetTimeout())
	defer cancel()
	if _, _, err := p.runCommand(ctx, resource.URN(req.GetUrn()), in.delete, in, previousOutputs(state)); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Cancel kills the commands that are running and refuses to start new ones: the engine is shutting down.
func (p *provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	p.cancel.Do(func() { close(p.cancelled) })
	return &emptypb.Empty{}, nil
}
