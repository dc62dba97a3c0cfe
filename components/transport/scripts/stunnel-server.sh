#!/usr/bin/env bash
# dvm destination transfer pod, container "stunnel". Contract: contract/PROTOCOL.md.
# The stunnel server in the foreground: TLS 1.3 PSK on 0.0.0.0:8443, forwarding to rsyncd on 127.0.0.1:8873.
set -euo pipefail

config=${DVM_CONFIG_DIR:-/etc/dvm/config}/stunnel-server.conf
[ -r "$config" ] || { printf 'dvm: usage-error message="%s is missing (config ConfigMap not mounted?)"\n' "$config"; exit 98; }
# stunnel caps its connections at (open-file limit) * 125 / 256: 125 here, so a flood of connections that never
# authenticate cannot grow it to an OOM kill mid-transfer (each costs ~90 KB until TIMEOUTbusy drops it)
ulimit -Sn 256 2>/dev/null || : # (a lower hard limit only lowers the cap)
printf 'dvm: stunnel-start config=%s\n' "$config"
exec stunnel "$config"
