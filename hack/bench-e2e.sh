#!/usr/bin/env bash
# The end-to-end step of `make bench` (bench/e2e.ts): waves through `pulumi up` between the local pair of real clusters.
#   bash hack/bench-e2e.sh <out.json>
#   bash hack/bench-e2e.sh --check     exit 0 when everything the step needs is built (the toolchain, the Kubernetes
#                                         binaries, the images), else print what is missing and the command, exit 1
# Brings the clusters up (building what is missing) and, when it was the one that brought them up, down again at the
# end (DVM_BENCH_KEEP_CLUSTERS=1 keeps them). Needs the engine toolchain (make toolchain) and the node modules
# (make deps). bench/run.ts runs it; `make bench-e2e` runs only this step. Sizes: see bench/e2e.ts (DVM_BENCH_E2E_*).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: hack/bench-e2e.sh <out.json> | --check}
# shellcheck source=hack/clusters/lib.sh
. hack/clusters/lib.sh

if [ "$out" = --check ]; then
    missing=()
    [ "$(id -u)" -eq 0 ] || { echo "it needs root (the local clusters: network namespaces, cgroups, containerd); run make bench as root"; exit 1; }
    bash hack/toolchain.sh --bin >/dev/null 2>&1 || missing+=("the engine toolchain (make toolchain: ~25 min cold on 2 cores)")
    for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
        [ -x "$K8S_BIN/$b" ] || { missing+=("the Kubernetes $K8S_VERSION binaries in $K8S_BIN (make clusters-up builds them: long on 2 cores)"); break; }
    done
    while read -r _ _ archive; do
        [ -s "$archive" ] || { missing+=("the cluster images (make clusters-up builds them)"); break; }
    done < <(bash hack/clusters/images.sh paths)
    if [ ${#missing[@]} -gt 0 ]; then
        printf 'not built yet: %s' "${missing[0]}"
        [ ${#missing[@]} -gt 1 ] && printf '; %s' "${missing[@]:1}"
        echo
        exit 1
    fi
    exit 0
fi
case $out in /*) ;; *) out=$PWD/$out ;; esac
# one run at a time on the machine-wide clusters (see hack/e2e.sh)
clusters_lock

was_up=1
for c in "${CLUSTERS[@]}"; do
    cluster_vars "$c"
    [ -s "$KUBECONFIG_FILE" ] && kc get --raw /readyz >/dev/null 2>&1 || was_up=0
done
start=$SECONDS
bash hack/clusters/up.sh
up_seconds=$((SECONDS - start))
if [ "$was_up" = 0 ] && [ -z "${DVM_BENCH_KEEP_CLUSTERS:-}" ]; then
    trap 'bash hack/clusters/down.sh || true' EXIT
fi
[ "$was_up" = 1 ] && up_seconds=0

bash hack/toolchain.sh >&2  # seconds when built; DVM_BENCH_E2E=1 on a fresh machine builds it (~25 min)
eval "$(bash hack/toolchain-env.sh)"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-dvm-bench-only}"
export DVM_KUBECTL=$K8S_BIN/kubectl DVM_CLUSTERS_DIR=$CLUSTERS_DIR
export DVM_BENCH_E2E_CLUSTERS_UP_SECONDS=$up_seconds DVM_BENCH_E2E_BROUGHT_UP=$((1 - was_up))
echo "bench e2e: pulumi $(pulumi version) from $DVM_TOOLCHAIN_BIN; clusters: $CLUSTERS_DIR/kubeconfig (up in ${up_seconds}s)" >&2
node -r ts-node/register/transpile-only bench/e2e.ts "$out"
