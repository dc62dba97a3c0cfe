#!/usr/bin/env bash
# Prints shell lines that put the engine toolchain (built by `make toolchain`) first on PATH:
#   eval "$(bash hack/toolchain-env.sh)"
# Fails (exit 1, with a message) when the toolchain for the current versions has not been built yet.
set -euo pipefail
bin=$(bash "$(dirname "$0")/toolchain.sh" --bin)
echo "export DVM_TOOLCHAIN_BIN=$bin"
echo "export PATH=$bin:\$PATH"
