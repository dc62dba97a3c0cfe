#!/usr/bin/env bash
# dvm destination transfer pod, container "rsyncd". Contract: contract/PROTOCOL.md.
# The rsync daemon in the foreground, bound to 127.0.0.1 (reachable only through the stunnel server of the pod).
set -euo pipefail

config=${DVM_CONFIG_DIR:-/etc/dvm/config}/rsyncd.conf
# the start-up self-check of the transfer image (exit 96 naming dvm:transferImage)
# shellcheck source=components/transfer/scripts/image-check.sh
. "$(dirname "${BASH_SOURCE[0]}")/image-check.sh" || { printf 'dvm: usage-error message="%s"\n' "image-check.sh is missing (the scripts ConfigMap is incomplete)"; exit 98; }
image_check || image_unfit rsyncd
[ -r "$config" ] || { printf 'dvm: usage-error message="%s is missing (config ConfigMap not mounted?)"\n' "$config"; exit 98; }
# rsyncd writes its log by reopening /dev/stdout (`log file` in rsyncd.conf). That works on the pipe a container
# runtime gives, but not on a socket (ENXIO), where rsyncd would log nowhere: then put a pipe in between.
if ! { : >>/dev/stdout; } 2>/dev/null; then
    exec > >(cat) 2>&1
fi
printf 'dvm: rsyncd-start config=%s\n' "$config"
exec rsync --daemon --no-detach --config="$config"
