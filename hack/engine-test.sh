#!/usr/bin/env bash
# The engine tier: mocha tests under test/engine/ drive the real `pulumi` CLI built by `make toolchain`
# (local file backend in a temp dir, passphrase secrets, no update checks, no plugin downloads).
#   bash hack/engine-test.sh [mocha args...]     e.g. --grep policy (with no args, also the stand-ins' Go tests)
# PULUMI_CONFIG_PASSPHRASE comes from the environment; a fixed test-only one is used when it is unset
# (it only ever encrypts throw-away test stacks).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash hack/toolchain-env.sh)"
# the program copies images with skopeo (dvm:images); the tests' registries need the rest (hack/registries.sh)
bash hack/ensure-packages.sh skopeo jq docker-registry apache2-utils openssl curl
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-dvm-engine-tier-test-only}"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
echo "engine: pulumi $(pulumi version) from $DVM_TOOLCHAIN_BIN ($(cat "$DVM_TOOLCHAIN_BIN/../go-version"))"
start=$(date +%s)
# dvm's stand-in for the command provider, tested on its own against the provider's documented behaviour
[ $# -gt 0 ] || bash hack/toolchain.sh --test
node_modules/.bin/mocha --no-config --require ts-node/register/transpile-only --extension ts \
    --timeout 900000 --reporter spec --parallel --jobs 3 "$@" 'test/engine/**/*.test.ts'
echo "engine: passed in $(( $(date +%s) - start ))s"
