#!/usr/bin/env bash
# dvm destination transfer pod, container "stunnel". Contract: contract/PROTOCOL.md.
# The stunnel server in the foreground: TLS 1.3 PSK on [::]:8443 (IPv4 and IPv6), forwarding to rsyncd on 127.0.0.1:8873.
set -euo pipefail

config=${DVM_CONFIG_DIR:-/etc/dvm/config}/stunnel-server.conf
# the start-up self-check of the transfer image (exit 96 naming dvm:transferImage)
# shellcheck source=components/transfer/scripts/image-check.sh
. "$(dirname "${BASH_SOURCE[0]}")/image-check.sh" || { printf 'dvm: usage-error message="%s"\n' "image-check.sh is missing (the scripts ConfigMap is incomplete)"; exit 98; }
image_check || image_unfit stunnel
[ -r "$config" ] || { printf 'dvm: usage-error message="%s is missing (config ConfigMap not mounted?)"\n' "$config"; exit 98; }
listen=dual-stack
# the config listens on :: (IPv4 and IPv6); a kernel without IPv6 has no :: to bind, so listen on 0.0.0.0 instead
if [ ! -e /proc/net/if_inet6 ]; then
    ipv4_config=${TMPDIR:-/tmp}/stunnel-server-ipv4.conf
    sed 's/^accept = :::/accept = 0.0.0.0:/' "$config" >"$ipv4_config"
    config=$ipv4_config
    listen=ipv4-only
fi
printf 'dvm: stunnel-start config=%s listen=%s\n' "$config" "$listen"
exec stunnel "$config"
