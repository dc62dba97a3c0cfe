#!/usr/bin/env bash
# dvm destination transfer pod, container "rsyncd". Contract: components/transfer/PROTOCOL.md.
# The rsync daemon in the foreground, bound to 127.0.0.1 (reachable only through the stunnel server of the pod).
set -euo pipefail

config=${DVM_CONFIG_DIR:-/etc/dvm/config}/rsyncd.conf
[ -r "$config" ] || { printf 'dvm: usage-error message="%s is missing (config ConfigMap not mounted?)"\n' "$config"; exit 98; }
printf 'dvm: rsyncd-start config=%s\n' "$config"
exec rsync --daemon --no-detach --config="$config"
