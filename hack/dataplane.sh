#!/usr/bin/env bash
# make dataplane: the data-plane tier (issue 3) - the container scripts and rendered configs on real rsync and
# stunnel between two network-namespace hosts. Needs root. Larger data: DVM_DATAPLANE_SMALL_FILES=30000
# DVM_DATAPLANE_LARGE_MIB=1024. DVM_DATAPLANE_SAVE_FIXTURES=1 rewrites test/fixtures/rsync/dataplane-*.log.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
    echo "dataplane: needs root (network namespaces, mount namespaces, file owners)" >&2
    exit 1
fi
bash hack/ensure-packages.sh rsync stunnel4 netcat-openbsd iproute2 tshark openssl util-linux
echo "dataplane: $(rsync --version | head -1); $(stunnel -version 2>&1 | grep -m1 '^stunnel'); $(openssl version)"
if [ "${DVM_DATAPLANE_SAVE_FIXTURES:-}" = 1 ]; then
    mkdir -p test/fixtures/rsync
    rsync --version | head -1 >test/fixtures/rsync/VERSION
fi
start=$SECONDS
node_modules/.bin/mocha --config test/dataplane/mocharc.json "$@"
echo "dataplane: passed in $(( SECONDS - start ))s"
