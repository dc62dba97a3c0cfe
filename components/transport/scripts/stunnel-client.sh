#!/usr/bin/env bash
# dvm source transfer pod, container "stunnel". Contract: contract/PROTOCOL.md.
# Runs the stunnel client until the rsync container writes its done-file (checked once a second: no busy loop),
# then stops it and exits 0. If stunnel dies on its own, exits with its code (never 0).
set -uo pipefail

config=${DVM_CONFIG_DIR:-/etc/dvm/config}/stunnel-client.conf
# the start-up self-check of the transfer image (exit 96 naming dvm:transferImage)
# shellcheck source=components/transfer/scripts/image-check.sh
. "$(dirname "${BASH_SOURCE[0]}")/image-check.sh" || { printf 'dvm: usage-error message="%s"\n' "image-check.sh is missing (the scripts ConfigMap is incomplete)"; exit 98; }
image_check || image_unfit stunnel
ipc_dir=${DVM_IPC_DIR:-/rsync-stunnel-ipc}
done_file="$ipc_dir/rsync-client-container-done"

log() { printf 'dvm: %s\n' "$*"; }

[ -r "$config" ] || { log "usage-error message=\"$config is missing (config ConfigMap not mounted?)\""; exit 98; }

stunnel "$config" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"; exit 143' TERM INT
log "stunnel-start pid=$pid"

while :; do
    if [ -e "$done_file" ]; then
        log "stunnel-stop reason=done-file"
        kill -TERM "$pid" 2>/dev/null
        wait "$pid"
        exit 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid"
        rc=$?
        [ "$rc" -eq 0 ] && rc=1
        log "stunnel-exit exit=$rc message=\"stunnel stopped before the rsync container was done\""
        exit "$rc"
    fi
    sleep 1 &
    wait $!
done
