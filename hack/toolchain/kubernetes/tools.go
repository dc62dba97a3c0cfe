//go:build tools

// Package tools only records, for `go mod tidy`, the packages the provider's main package needs:
// scripts/toolchain.sh builds that main package from the provider module's own sources.
package tools

import (
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
	_ "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)
