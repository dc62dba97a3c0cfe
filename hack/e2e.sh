#!/usr/bin/env bash
# The e2e tier: dvm's program through the real engine against the local pair of real clusters.
#   bash hack/e2e.sh [mocha args...]
# Brings the clusters up (building what is missing) and, when it was the one that brought them up, down again at the
# end (DVM_E2E_KEEP_CLUSTERS=1 keeps them). Needs the engine toolchain (make toolchain) and the node modules (make deps).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/clusters/lib.sh
. hack/clusters/lib.sh
# one run at a time on the machine-wide clusters: a second run waits here, so the first is never torn down under it
clusters_lock
start=$(date +%s)

was_up=1
for c in "${CLUSTERS[@]}"; do
    cluster_vars "$c"
    [ -s "$KUBECONFIG_FILE" ] && kc get --raw /readyz >/dev/null 2>&1 || was_up=0
done
bash hack/clusters/up.sh
if [ "$was_up" = 0 ] && [ -z "${DVM_E2E_KEEP_CLUSTERS:-}" ]; then
    trap 'bash hack/clusters/down.sh || true' EXIT
fi

eval "$(bash hack/toolchain-env.sh)"
# the program copies images with skopeo (dvm:images); the tests' registries need the rest (hack/registries.sh)
bash hack/ensure-packages.sh skopeo jq docker-registry apache2-utils openssl curl
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-dvm-e2e-test-only}"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export DVM_KUBECTL=$K8S_BIN/kubectl DVM_CLUSTERS_DIR=$CLUSTERS_DIR
echo "e2e: pulumi $(pulumi version) from $DVM_TOOLCHAIN_BIN; clusters: $CLUSTERS_DIR/kubeconfig"
node_modules/.bin/mocha --no-config --require ts-node/register/transpile-only --extension ts \
    --timeout 1800000 --reporter spec "$@" 'test/e2e/**/*.test.ts'
echo "e2e: passed in $(( $(date +%s) - start ))s"
