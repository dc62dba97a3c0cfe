package main

import "encoding/json"

// schemaJSON is the package schema of what this stand-in implements: command:local:Command with the inputs of
// inputSpecs, and nothing else of the package (the engine needs no schema for `up`; tools that ask get the truth).
func schemaJSON() (string, error) {
	inputs := map[string]any{}
	for _, s := range inputSpecs {
		var prop map[string]any
		switch s.kind {
		case kindString:
			prop = map[string]any{"type": "string"}
		case kindBool:
			prop = map[string]any{"type": "boolean"}
		case kindStringList:
			prop = map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
		case kindStringMap:
			prop = map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}
		case kindAnyList:
			prop = map[string]any{"type": "array", "items": map[string]any{"$ref": "pulumi.json#/Any"}}
		case kindLogging:
			prop = map[string]any{"$ref": "#/types/command:local:Logging"}
		}
		prop["description"] = s.description
		if s.replaceOnChanges {
			prop["replaceOnChanges"] = true
		}
		inputs[s.name] = prop
	}
	properties := map[string]any{
		"stdout": map[string]any{"type": "string", "description": "The standard output of the command's process."},
		"stderr": map[string]any{"type": "string", "description": "The standard error of the command's process."},
	}
	for k, v := range inputs {
		properties[k] = v
	}
	var enum []map[string]any
	for _, v := range loggingValues {
		enum = append(enum, map[string]any{"value": v})
	}
	pkg := map[string]any{
		"name":        "command",
		"version":     version,
		"description": "dvm's stand-in for the Pulumi Command provider: command:local:Command only.",
		"config":      map[string]any{},
		"provider":    map[string]any{},
		"types": map[string]any{
			"command:local:Logging": map[string]any{"type": "string", "enum": enum},
		},
		"resources": map[string]any{
			commandType: map[string]any{
				"description":     "A command run locally on create, update and delete.",
				"properties":      properties,
				"required":        outputOnly,
				"inputProperties": inputs,
			},
		},
	}
	b, err := json.Marshal(pkg)
	return string(b), err
}
