#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and kubectl of one release from
# the k8s.io/kubernetes Go module (wrapper module hack/clusters/k8s: the staging modules replaced by their tagged
# versions).
# Cached under $DVM_CACHE/k8s/<release>-<go version>/bin; a cold build takes long on 2 cores (see README, clusters).
set -euo pipefail
# shellcheck source=hack/clusters/lib.sh
. "$(dirname "$0")/lib.sh"

BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

have_all() {
    local b
    for b in "${BINARIES[@]}"; do [ -x "$K8S_BIN/$b" ] || return 1; done
}
have_all && exit 0

# modules and the build cache live in the dvm cache too (shared with hack/toolchain.sh); go.sum pins every module
export GOMODCACHE=${DVM_GOMODCACHE:-$DVM_CACHE/go/mod} GOCACHE=${DVM_GOCACHE:-$DVM_CACHE/go/build} GOFLAGS=-mod=readonly
command -v go >/dev/null || die "go is needed to build Kubernetes $K8S_VERSION (the machine image provides it)"
minor=${K8S_VERSION#v1.}
minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
pkgs=()
for b in "${BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done

log "building Kubernetes $K8S_VERSION (${BINARIES[*]}) from the Go module; cold this takes a long while on 2 cores"
start=$SECONDS
tmp=$K8S_BIN.tmp
rm -rf "$tmp"
(cd "$REPO_ROOT/hack/clusters/k8s" && CGO_ENABLED=0 nice -n 10 go build -trimpath -o "$tmp/" -ldflags "$ldflags" "${pkgs[@]}")
rm -rf "$K8S_BIN"
mv "$tmp" "$K8S_BIN"
have_all || die "build finished but binaries are missing in $K8S_BIN"
log "Kubernetes $K8S_VERSION built in $((SECONDS - start))s -> $K8S_BIN"
