#!/usr/bin/env bash
# Builds the Pulumi engine and the plugins dvm's engine tier needs, from Go modules only (the Go module proxy),
# into $DVM_CACHE/toolchain/<key>/bin. Idempotent: a second run only checks stamps (seconds).
#
#   bash hack/toolchain.sh            build what is missing, print the bin dir's `export PATH=...` line
#   bash hack/toolchain.sh --bin      print the bin dir only (no build; exits 1 if it is not complete)
#   bash hack/toolchain.sh --test     run the Go tests of dvm's own stand-ins (hack/toolchain/command) in this env
#
# What it builds (docs/toolchain.md says why each one is what it is):
#   pulumi                      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi at v3.248.0 (= @pulumi/pulumi 3.248.0),
#                               version-stamped, through the wrapper module hack/toolchain/pulumi (pkg/v3's go.mod
#                               replaces sdk/v3 with ../sdk, so `go install` is refused).
#   pulumi-language-nodejs      dvm's minimal language host, hack/toolchain/langhost (the official host's own module is
#                               not served by the proxy reachable here).
#   pulumi-resource-kubernetes  github.com/pulumi/pulumi-kubernetes/provider/v4 at the v4.25.0 release commit, the
#                               newest provider release the proxy serves (4.34.2 is not served), = @pulumi/kubernetes
#                               in package.json (test/unit/toolchain-pins.test.ts); its embedded schema
#                               is generated from the module's own schema.json with the module's own generate.go.
#   pulumi-resource-command     dvm's stand-in for @pulumi/command's plugin, hack/toolchain/command (the official
#                               module is not served): command:local:Command of v1.2.1, nothing else.
#   pulumi-resource-pulumi-nodejs  the dynamic-provider launcher: @pulumi/pulumi ships it in its npm package; copied.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

PULUMI_VERSION=3.248.0
K8S_RELEASE=4.25.0
K8S_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
COMMAND_VERSION=1.2.1

export DVM_CACHE=${DVM_CACHE:-$HOME/.cache/dvm}
export GOMODCACHE=$DVM_CACHE/go/mod
export GOCACHE=$DVM_CACHE/go/build
export GOTOOLCHAIN=local
export GOFLAGS="-buildvcs=false -mod=readonly"
# The checksum database reachable here has no entries for these Pulumi releases; the go.sum files under
# hack/toolchain/ pin every module's hash instead (-mod=readonly refuses anything not in them).
export GONOSUMDB=github.com/pulumi
export CGO_ENABLED=0

die() { echo "toolchain: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not on PATH: install Go 1.25.11 or newer (developed with go1.26.8)"
go_version=$(go env GOVERSION)

# The cache key: versions and Go version. Each binary also records a hash of its inputs (wrapper module, sources,
# build flags) in stamps/<name>; a binary whose inputs changed is rebuilt (from the Go build cache: seconds to a minute).
key="pulumi-v${PULUMI_VERSION}_k8s-v${K8S_RELEASE}_${go_version}"
root=$DVM_CACHE/toolchain/$key
bin=$root/bin

expected=(pulumi pulumi-language-nodejs pulumi-resource-kubernetes pulumi-resource-command pulumi-resource-pulumi-nodejs)

inputs_of() {  # the hash of what a binary is built from
    local name=$1 dir
    case $name in
        pulumi) dir=hack/toolchain/pulumi ;;
        pulumi-language-nodejs) dir=hack/toolchain/langhost ;;
        pulumi-resource-kubernetes) dir=hack/toolchain/kubernetes ;;
        pulumi-resource-command) dir=hack/toolchain/command ;;
        pulumi-resource-pulumi-nodejs) echo "npm:@pulumi/pulumi"; return ;;
    esac
    { echo "$name $PULUMI_VERSION $K8S_RELEASE $COMMAND_VERSION $GOFLAGS $CGO_ENABLED"; cat "$dir"/go.mod "$dir"/go.sum; find "$dir" -maxdepth 1 -name '*.go' -exec cat {} +; } \
        | sha256sum | cut -c1-16
}
fresh() { [ -x "$bin/$1" ] && [ "$(cat "$root/stamps/$1" 2>/dev/null)" = "$(inputs_of "$1")" ]; }
stamp() { mkdir -p "$root/stamps"; inputs_of "$1" >"$root/stamps/$1"; }

complete() {
    local b
    for b in "${expected[@]}"; do fresh "$b" || return 1; done
}

if [ "${1:-}" = "--test" ]; then
    (cd hack/toolchain/command && nice go test -count=1 ./...)
    exit 0
fi

if [ "${1:-}" = "--bin" ]; then
    complete || die "not built yet for $key: run \`make toolchain\`"
    echo "$bin"
    exit 0
fi

mkdir -p "$bin"
exec 9>"$root/.lock"
flock 9  # one build per key at a time (parallel make or two clones sharing the cache)

if complete; then
    echo "toolchain: up to date ($key, $go_version; last build took $(cat "$root/build-seconds" 2>/dev/null || echo '?')s)"
    echo "export PATH=$bin:\$PATH"
    exit 0
fi

start=$(date +%s)
log() { echo "toolchain: [$(( $(date +%s) - start ))s] $*"; }
# go build -o into a temp name, then rename: an interrupted build never leaves a half binary behind.
gobuild() {
    local out=$1; shift
    nice go build -trimpath -o "$out.tmp" "$@"
    mv -f "$out.tmp" "$out"
}

cold=false
if ! fresh pulumi; then
    cold=true
    log "building pulumi v$PULUMI_VERSION (cold: ~7 min on 2 cores)"
    (cd hack/toolchain/pulumi && gobuild "$bin/pulumi" \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
        github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    stamp pulumi
fi
got=$("$bin/pulumi" version)
[ "$got" = "v$PULUMI_VERSION" ] || die "built pulumi reports '$got', expected v$PULUMI_VERSION"

if ! fresh pulumi-language-nodejs; then
    log "building pulumi-language-nodejs (dvm's minimal host, hack/toolchain/langhost)"
    (cd hack/toolchain/langhost && gobuild "$bin/pulumi-language-nodejs" \
        -ldflags "-s -w -X main.version=$PULUMI_VERSION-dvm" .)
    stamp pulumi-language-nodejs
fi

if ! fresh pulumi-resource-kubernetes; then
    log "building pulumi-resource-kubernetes v$K8S_RELEASE (cold: ~14 min on 2 cores)"
    # The provider's main package embeds schema-embed.json and terraform-mapping-embed.json, which its own
    # build generates (go generate -> generate.go) from schema.json; module zips do not carry the generated
    # files and the module cache is read-only, so build a copy of the main package inside the wrapper module.
    src=$root/src/kubernetes
    rm -rf "$src" && mkdir -p "$src/cmd"
    cp hack/toolchain/kubernetes/go.mod hack/toolchain/kubernetes/go.sum hack/toolchain/kubernetes/tools.go "$src/"
    moddir=$(cd hack/toolchain/kubernetes && go list -m -f '{{.Dir}}' "$K8S_MODULE")
    [ -n "$moddir" ] || (cd hack/toolchain/kubernetes && go mod download "$K8S_MODULE")
    moddir=$(cd hack/toolchain/kubernetes && go list -m -f '{{.Dir}}' "$K8S_MODULE")
    cp -r "$moddir/cmd/pulumi-resource-kubernetes" "$src/cmd/"
    chmod -R u+w "$src/cmd"
    (cd "$src/cmd/pulumi-resource-kubernetes" && VERSION=$K8S_RELEASE nice go run generate.go)
    [ -s "$src/cmd/pulumi-resource-kubernetes/schema-embed.json" ] || die "schema generation produced no schema-embed.json"
    (cd "$src" && gobuild "$bin/pulumi-resource-kubernetes" \
        -ldflags "-s -w -X $K8S_MODULE/pkg/version.Version=$K8S_RELEASE" ./cmd/pulumi-resource-kubernetes)
    stamp pulumi-resource-kubernetes
fi

if ! fresh pulumi-resource-command; then
    # dvm's stand-in for @pulumi/command's plugin (its Go module is not served): hack/toolchain/command/main.go
    log "building pulumi-resource-command: dvm's stand-in implementing command:local:Command of v$COMMAND_VERSION"
    (cd hack/toolchain/command && gobuild "$bin/pulumi-resource-command" -ldflags "-s -w" .)
    stamp pulumi-resource-command
fi

# The dynamic-provider launcher ships in the @pulumi/pulumi npm package (the CLI release tarball carries the same
# script); it resolves @pulumi/pulumi from the program's directory, so one copy serves every clone.
launcher=$repo/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs
[ -f "$launcher" ] || die "$launcher is missing: run \`make deps\` (npm ci) first"
install -m 0755 "$launcher" "$bin/pulumi-resource-pulumi-nodejs"
stamp pulumi-resource-pulumi-nodejs

elapsed=$(( $(date +%s) - start ))
echo "$go_version" >"$root/go-version"
echo "$elapsed" >"$root/build-seconds"
if [ "$cold" = true ]; then
    log "done: built in ${elapsed}s with $go_version (with an empty Go build cache this is the cold build time)"
else
    log "done: rebuilt what changed in ${elapsed}s with $go_version"
fi
echo "export PATH=$bin:\$PATH"
