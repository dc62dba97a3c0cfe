package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// commandType is the one resource this stand-in implements.
const commandType = "command:local:Command"

type inputKind int

const (
	kindString inputKind = iota
	kindBool
	kindStringList
	kindStringMap
	kindAnyList
	kindLogging
)

// inputSpec describes one input of command:local:Command that this stand-in implements. The table drives Check,
// the decoding for create/update/delete and GetSchema.
type inputSpec struct {
	name             string
	kind             inputKind
	description      string
	replaceOnChanges bool
}

var inputSpecs = []inputSpec{
	{name: "addPreviousOutputInEnv", kind: kindBool,
		description: "Whether update and delete see the previous stdout and stderr as PULUMI_COMMAND_STDOUT and PULUMI_COMMAND_STDERR. Default true."},
	{name: "create", kind: kindString,
		description: "The command run on creation, and on update when `update` is not set."},
	{name: "delete", kind: kindString,
		description: "The command run on deletion, with the previous stdout and stderr in PULUMI_COMMAND_STDOUT and PULUMI_COMMAND_STDERR."},
	{name: "dir", kind: kindString,
		description: "The directory the command runs in; the command fails when it does not exist."},
	{name: "environment", kind: kindStringMap,
		description: "Environment variables added to the command's process environment."},
	{name: "interpreter", kind: kindStringList,
		description: "The program and arguments that run the command. Default [\"/bin/sh\", \"-c\"]."},
	{name: "logging", kind: kindLogging,
		description: "Which of stdout and stderr are streamed to the engine as status messages. Default stdoutAndStderr."},
	{name: "stdin", kind: kindString,
		description: "Text passed to the command on standard input."},
	{name: "triggers", kind: kindAnyList, replaceOnChanges: true,
		description: "Values of any type; a change replaces the resource."},
	{name: "update", kind: kindString,
		description: "The command run on update (when an input other than triggers changes); `create` runs when it is not set."},
}

// refusedInputs are inputs of command:local:Command 1.2.1 that this stand-in does not implement.
var refusedInputs = map[string]bool{"assetPaths": true, "archivePaths": true}

// outputOnly are the properties the provider adds to the inputs in its state.
var outputOnly = []string{"stdout", "stderr"}

var loggingValues = []string{"stdout", "stderr", "stdoutAndStderr", "none"}

func specOf(name string) (inputSpec, bool) {
	for _, s := range inputSpecs {
		if s.name == name {
			return s, true
		}
	}
	return inputSpec{}, false
}

func inputNames() []string {
	names := make([]string, 0, len(inputSpecs))
	for _, s := range inputSpecs {
		names = append(names, s.name)
	}
	return names
}

// internalKey reports keys the engine or SDK own (never user inputs); they pass through untouched.
func internalKey(k string) bool { return strings.HasPrefix(k, "__") }

// unwrap looks through secret and output wrappers: the plain value, whether it was secret, whether it is unknown.
func unwrap(v resource.PropertyValue) (plain resource.PropertyValue, secret, unknown bool) {
	for {
		switch {
		case v.IsSecret():
			secret = true
			v = v.SecretValue().Element
		case v.IsOutput():
			o := v.OutputValue()
			secret = secret || o.Secret
			if !o.Known {
				return v, secret, true
			}
			v = o.Element
		case v.IsComputed():
			return v, secret, true
		default:
			return v, secret, false
		}
	}
}

// checkValue returns what is wrong with the value of one input (empty when it fits; unknown parts are not judged).
func checkValue(spec inputSpec, v resource.PropertyValue) string {
	v, _, unknown := unwrap(v)
	if unknown || v.IsNull() {
		return ""
	}
	switch spec.kind {
	case kindString:
		if !v.IsString() {
			return "must be a string"
		}
	case kindBool:
		if !v.IsBool() {
			return "must be a boolean (true or false)"
		}
	case kindLogging:
		if !v.IsString() {
			return "must be one of " + strings.Join(loggingValues, ", ")
		}
		for _, ok := range loggingValues {
			if v.StringValue() == ok {
				return ""
			}
		}
		return fmt.Sprintf("must be one of %s, not %q", strings.Join(loggingValues, ", "), v.StringValue())
	case kindAnyList:
		if !v.IsArray() {
			return "must be a list"
		}
	case kindStringList:
		if !v.IsArray() {
			return "must be a list of strings, e.g. [\"/bin/bash\", \"-c\"]"
		}
		for i, e := range v.ArrayValue() {
			if e, _, unknown := unwrap(e); !unknown && !e.IsString() {
				return fmt.Sprintf("item %d must be a string", i)
			}
		}
	case kindStringMap:
		if !v.IsObject() {
			return "must be a map of strings, e.g. {REGISTRY_AUTH_FILE: \"/run/auth.json\"}"
		}
		for _, k := range v.ObjectValue().StableKeys() {
			if e, _, unknown := unwrap(v.ObjectValue()[k]); !unknown && !e.IsString() {
				return fmt.Sprintf("the value of %s must be a string", k)
			}
		}
	}
	return ""
}

// checkInputs validates the inputs of a command:local:Command (inState: the map also holds the provider's outputs).
func checkInputs(m resource.PropertyMap, inState bool) []*pulumirpc.CheckFailure {
	var failures []*pulumirpc.CheckFailure
	for _, key := range m.StableKeys() {
		k := string(key)
		if internalKey(k) {
			continue
		}
		if inState && (k == "stdout" || k == "stderr") {
			continue
		}
		if v, _, _ := unwrap(m[key]); v.IsNull() {
			continue
		}
		if refusedInputs[k] {
			failures = append(failures, &pulumirpc.CheckFailure{Property: k, Reason: fmt.Sprintf(
				"%s is not implemented by dvm's stand-in for pulumi-resource-command (hack/toolchain/command); "+
					"the official provider implements it: remove the input, or run with the official plugin", k)})
			continue
		}
		spec, ok := specOf(k)
		if !ok {
			failures = append(failures, &pulumirpc.CheckFailure{Property: k, Reason: fmt.Sprintf(
				"%s is not an input of %s (its inputs: %s)", k, commandType, strings.Join(inputNames(), ", "))})
			continue
		}
		if reason := checkValue(spec, m[key]); reason != "" {
			failures = append(failures, &pulumirpc.CheckFailure{Property: k, Reason: k + " " + reason})
		}
	}
	return failures
}

func failuresError(failures []*pulumirpc.CheckFailure) error {
	var parts []string
	for _, f := range failures {
		parts = append(parts, f.GetReason())
	}
	return fmt.Errorf("invalid %s inputs: %s", commandType, strings.Join(parts, "; "))
}

// text is a string input and whether it was secret.
type text struct {
	value  string
	secret bool
}

type envVar struct{ name, value string }

// commandInputs are the decoded inputs a run needs. All values are known (decoding refuses unknowns).
type commandInputs struct {
	create, update, delete, dir, stdin *text
	environment                        []envVar
	interpreter                        []string
	addPreviousOutputInEnv             bool
	logStdout, logStderr               bool
}

// decodeInputs reads the inputs for a run (create, update, delete; never a preview).
func decodeInputs(m resource.PropertyMap, inState bool) (*commandInputs, error) {
	if failures := checkInputs(m, inState); len(failures) > 0 {
		return nil, failuresError(failures)
	}
	in := &commandInputs{addPreviousOutputInEnv: true, logStdout: true, logStderr: true}
	var unknowns []string
	str := func(name string) *text {
		v, secret, unknown := unwrap(m[resource.PropertyKey(name)])
		if unknown {
			unknowns = append(unknowns, name)
			return nil
		}
		if !v.IsString() {
			return nil
		}
		return &text{value: v.StringValue(), secret: secret}
	}
	in.create, in.update, in.delete = str("create"), str("update"), str("delete")
	in.dir, in.stdin = str("dir"), str("stdin")

	if v, _, unknown := unwrap(m["environment"]); unknown {
		unknowns = append(unknowns, "environment")
	} else if v.IsObject() {
		obj := v.ObjectValue()
		for _, k := range obj.StableKeys() {
			e, _, unknown := unwrap(obj[k])
			if unknown {
				unknowns = append(unknowns, "environment."+string(k))
				continue
			}
			in.environment = append(in.environment, envVar{name: string(k), value: e.StringValue()})
		}
	}
	if v, _, unknown := unwrap(m["interpreter"]); unknown {
		unknowns = append(unknowns, "interpreter")
	} else if v.IsArray() {
		for i, e := range v.ArrayValue() {
			e, _, unknown := unwrap(e)
			if unknown {
				unknowns = append(unknowns, fmt.Sprintf("interpreter[%d]", i))
				continue
			}
			in.interpreter = append(in.interpreter, e.StringValue())
		}
	}
	if v, _, unknown := unwrap(m["addPreviousOutputInEnv"]); unknown {
		unknowns = append(unknowns, "addPreviousOutputInEnv")
	} else if v.IsBool() {
		in.addPreviousOutputInEnv = v.BoolValue()
	}
	if v, _, unknown := unwrap(m["logging"]); unknown {
		unknowns = append(unknowns, "logging")
	} else if v.IsString() {
		l := v.StringValue()
		in.logStdout = l == "stdout" || l == "stdoutAndStderr"
		in.logStderr = l == "stderr" || l == "stdoutAndStderr"
	}
	if len(unknowns) > 0 {
		sort.Strings(unknowns)
		return nil, fmt.Errorf("cannot run a command whose inputs are still unknown outside a preview: %s",
			strings.Join(unknowns, ", "))
	}
	return in, nil
}
