#!/usr/bin/env bash
# dvm source transfer pod, container "rsync". Contract: contract/PROTOCOL.md.
#
#   rsync-client.sh [rsync option | script option ...] -- <source-pvc>:<target-module>[:verify] ...
#
# Script options (never passed to rsync), decided per PVC before its copy and logged on its pvc-start line:
#   --dvm-sparse-if-holes   add --sparse only when the source PVC holds a file with holes (dvm:rsync.sparse auto)
#   --dvm-inplace-if-empty  add --inplace only when the destination module is empty (dvm:rsync.inplace auto)
#   --dvm-count-unsafe-links   count the symlinks a destination daemon without chroot rewrites, and report them
#   --dvm-refuse-unsafe-links  the same, but fail such a PVC before its copy (dvm:rsync.unsafeSymlinks fail)
#   --dvm-parallel=<n>      copy up to n PVCs at the same time, each in a subshell with its own rsync, every line of
#                           its output prefixed "[<source-pvc>] " (dvm:rsync.parallel); the first failure stops the
#                           others
#
# Waits (sleeping between probes) until the rsync daemon answers through the stunnel client on
# 127.0.0.1:$DVM_TUNNEL_PORT, then copies every source PVC to its destination module, retrying failed attempts
# with increasing delay (partial files are kept by --partial, so a retry resumes). Exits with the failing rsync's
# exit code, 97 if the tunnel never came up, 98 on a usage error; writes the done-file on every exit path so the
# stunnel container of the pod stops (after DVM_DEBUG_HOLD_SECONDS when the exit is not 0: dvm:debugHold).
set -uo pipefail

ipc_dir=${DVM_IPC_DIR:-/rsync-stunnel-ipc}
done_file="$ipc_dir/rsync-client-container-done"
wake_fifo="$ipc_dir/rsync-client-container-wake"
tunnel_port=${DVM_TUNNEL_PORT:-2222}
source_root=${DVM_SOURCE_ROOT:-/mnt/source}
secret_dir=${DVM_SECRET_DIR:-/etc/dvm/secret}
password_file="$secret_dir/rsync.password"
wait_seconds=${DVM_STUNNEL_WAIT_SECONDS:-600}
backoff_limit=${DVM_BACKOFF_LIMIT:-20}
retry_base=${DVM_RETRY_BASE_SECONDS:-5}
retry_max=${DVM_RETRY_MAX_SECONDS:-60}
hold_seconds=${DVM_DEBUG_HOLD_SECONDS:-0}
# stage: a live source (exit 24 is a warning); cutover: the final pass of a quiesced source (exit 24 fails the PVC)
migration_mode=${DVM_MIGRATION_MODE:-stage}
rsync_user=dvm

readonly EXIT_TUNNEL_DOWN=97 EXIT_USAGE=98 EXIT_UNSAFE_LINKS=95

exit_code=$EXIT_USAGE
child=""
private_password=""
holding=0
signalled=0
# parallel copies: subshell pid -> its PVC pair; in each subshell, its PVC and attempt (copy_pvc, stop_pvc)
declare -A running=()
pvc_src=""
pvc_attempt=0

log() { printf 'dvm: %s\n' "$*"; }

# shellcheck disable=SC2317 # called by the traps
finish() {
    # every exit path: tell the stunnel container we are done, then report. dvm:debugHold keeps a failed container
    # (and with it the tunnel) up for `kubectl exec` first.
    [ "$exit_code" != 0 ] && [[ $hold_seconds =~ ^[1-9][0-9]*$ ]] && debug_hold
    [ -n "$private_password" ] && rm -f "$private_password"
    mkdir -p "$ipc_dir" 2>/dev/null
    : >"$done_file" || log "error message=\"cannot write $done_file\""
    # wake the stunnel container now rather than at its next check (opened read-write: never blocks)
    [ -p "$wake_fifo" ] && { printf 'done\n' 1<>"$wake_fifo"; } 2>/dev/null
    log "done exit=$exit_code"
    exit "$exit_code"
}
trap finish EXIT

# shellcheck disable=SC2317 # called by the traps
on_signal() {
    signalled=1
    [ -n "$child" ] && kill -TERM "$child" 2>/dev/null
    local pid
    for pid in "${!running[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    # during a debug hold the verdict stands: finish() goes on with the failure's exit code
    (( holding )) && return
    exit_code=$1
    exit "$exit_code"
}
trap 'on_signal 143' TERM
trap 'on_signal 130' INT

usage() {
    log "usage-error message=\"$*\""
    printf '%s\n' "usage: rsync-client.sh [rsync option | --dvm-sparse-if-holes | --dvm-inplace-if-empty | --dvm-count-unsafe-links | --dvm-refuse-unsafe-links | --dvm-parallel=<n> ...] -- <source-pvc>:<target-module>[:verify] ..." >&2
    exit_code=$EXIT_USAGE
    exit "$exit_code"
}

# the per-PVC decisions (sparse, in place, what an attempt's exit means, the retry delay)
pvc_functions="$(dirname "${BASH_SOURCE[0]}")/rsync-client-pvc.sh"
# shellcheck source=components/transfer/scripts/rsync-client-pvc.sh
. "$pvc_functions" || usage "cannot read $pvc_functions (the scripts ConfigMap is incomplete)"

# the start-up self-check of the transfer image
image_functions="$(dirname "${BASH_SOURCE[0]}")/image-check.sh"
# shellcheck source=components/transfer/scripts/image-check.sh
. "$image_functions" || usage "cannot read $image_functions (the scripts ConfigMap is incomplete)"

for var in wait_seconds backoff_limit retry_base retry_max tunnel_port hold_seconds; do
    [[ ${!var} =~ ^[0-9]+$ ]] || usage "$var must be a whole number, got '${!var}'"
done
case $migration_mode in
    stage | cutover) ;;
    *) usage "DVM_MIGRATION_MODE must be stage or cutover, got '$migration_mode'" ;;
esac

opts=()
sparse_if_holes=0
inplace_if_empty=0
unsafe_links=""
parallel=1
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    case $1 in
        --dvm-sparse-if-holes) sparse_if_holes=1 ;;
        --dvm-inplace-if-empty) inplace_if_empty=1 ;;
        --dvm-count-unsafe-links) unsafe_links=count ;;
        --dvm-refuse-unsafe-links) unsafe_links=refuse ;;
        --dvm-parallel=*)
            parallel=${1#*=}
            [[ $parallel =~ ^([1-9]|1[0-6])$ ]] || usage "--dvm-parallel needs a count from 1 to 16, got '$parallel'" ;;
        --dvm-*) usage "unknown script option '$1' (known: --dvm-sparse-if-holes, --dvm-inplace-if-empty, --dvm-count-unsafe-links, --dvm-refuse-unsafe-links, --dvm-parallel=<n>)" ;;
        -*) opts+=("$1") ;;
        *) usage "rsync option '$1' does not start with '-'; put the PVC pairs after '--'" ;;
    esac
    shift
done
# every option rsync gets from dvm, including those decided per PVC (a failure exits 96 through the EXIT trap, so the
# done-file still stops the stunnel container)
check_opts=("${opts[@]}" --exclude=/lost+found --checksum)
(( sparse_if_holes )) && check_opts+=(--sparse)
(( inplace_if_empty )) && check_opts+=(--inplace)
if ! image_check || ! image_check_rsync_options "${check_opts[@]}"; then
    exit_code=$EXIT_IMAGE_UNFIT
    image_unfit rsync
fi
[ $# -gt 0 ] || usage "missing '--' before the PVC pairs"
shift
[ $# -gt 0 ] || usage "no <source-pvc>:<target-module> pair after '--'"
pairs=("$@")
for pair in "${pairs[@]}"; do
    [[ $pair =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:verify)?$ ]] \
        || usage "'$pair' is not <source-pvc>:<target-module>[:verify] (e.g. data:data or data:data-new:verify)"
    src=${pair%%:*}
    [ -d "$source_root/$src" ] || usage "source PVC directory $source_root/$src does not exist (is PVC $src mounted?)"
done
[ -r "$password_file" ] || usage "rsync password file $password_file is missing or unreadable (credentials Secret not mounted?)"
# rsync refuses a password file that others may read. On the source the Secret volume is world-readable (the source
# pod has no fsGroup, so the kubelet never changes ownership of anything there): use a private copy in the pod's
# scratch directory (an in-memory emptyDir), removed on exit.
private_password=$(umask 077 && mktemp "${TMPDIR:-/tmp}/dvm-rsync-password.XXXXXX") \
    || usage "cannot create a private copy of the rsync password in ${TMPDIR:-/tmp} (scratch volume not mounted?)"
cat "$password_file" >"$private_password" || usage "cannot copy $password_file to $private_password"
mkdir -p "$ipc_dir" || usage "cannot create $ipc_dir"

# The tunnel is up when the rsync daemon's greeting comes back through it: this proves stunnel client, the
# destination endpoint, the TLS handshake (PSK) and rsyncd - not just that the local stunnel listens.
probe() {
    local line=""
    { exec 3<>"/dev/tcp/127.0.0.1/$tunnel_port"; } 2>/dev/null || return 1
    IFS= read -r -t 5 line <&3 2>/dev/null # a reset while stunnel retries the endpoint is expected
    exec 3<&- 3>&-
    [[ $line == "@RSYNCD:"* ]]
}

log "tunnel-wait port=$tunnel_port timeout=$wait_seconds"
started=$SECONDS
probes=0
until probe; do
    # SECONDS counts whole seconds: ">" (not ">=") guarantees the full wait even when started mid-second
    if (( SECONDS - started > wait_seconds )); then
        log "tunnel-down after=$(( SECONDS - started )) message=\"no rsync daemon answered through the stunnel client on 127.0.0.1:$tunnel_port within ${wait_seconds}s; is the destination endpoint reachable and are the tunnel credentials the same on both clusters?\""
        exit_code=$EXIT_TUNNEL_DOWN
        exit "$exit_code"
    fi
    # The stunnel sidecar usually starts within a second of this container, and the destination pod, started at the
    # same time, within a few: probe 5 times at 0.2 s, then every 0.5 s for the first 10 s (each step the first byte
    # would wait), then every 2 s (a long wait costs a sleep per 2 s).
    probes=$(( probes + 1 ))
    if (( probes <= 5 )); then
        sleep 0.2 & child=$!
    elif (( SECONDS - started < 10 )); then
        sleep 0.5 & child=$!
    else
        sleep 2 & child=$!
    fi
    wait "$child"
    child=""
done
log "tunnel-up after=$(( SECONDS - started ))"

max_attempts=$(( backoff_limit + 1 ))
check_sparse_inplace_safety
exit_code=0
if (( parallel == 1 || ${#pairs[@]} == 1 )); then
    for pair in "${pairs[@]}"; do
        copy_pvc "$pair"
        (( pvc_rc == 0 )) || { exit_code=$pvc_rc; exit "$exit_code"; }
    done
else
    # up to $parallel subshells, one per PVC; as one ends the next starts. The first PVC that fails stops the others
    # (each logs its pvc-end) and its exit code is the pod's.
    next=0
    while (( next < ${#pairs[@]} || ${#running[@]} > 0 )); do
        while (( exit_code == 0 && next < ${#pairs[@]} && ${#running[@]} < parallel )); do
            ( trap stop_pvc TERM; line_prefix=1; copy_pvc "${pairs[next]}"; exit "$pvc_rc" ) &
            running[$!]=${pairs[next]}
            next=$(( next + 1 ))
        done
        (( ${#running[@]} > 0 )) || break
        wait -n
        rc=$?
        # the subshell wait -n reaped is the one no longer there
        for pid in "${!running[@]}"; do kill -0 "$pid" 2>/dev/null || unset "running[$pid]"; done
        if (( rc != 0 && exit_code == 0 )); then
            exit_code=$rc
            for pid in "${!running[@]}"; do kill -TERM "$pid" 2>/dev/null; done
        fi
    done
    (( exit_code == 0 )) || exit "$exit_code"
fi
exit_code=0
exit 0
