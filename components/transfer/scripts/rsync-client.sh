#!/usr/bin/env bash
# dvm source transfer pod, container "rsync". Contract: components/transfer/PROTOCOL.md.
#
#   rsync-client.sh [rsync option | script option ...] -- <source-pvc>:<target-module>[:verify] ...
#
# Script options (never passed to rsync), decided per PVC before its copy and logged on its pvc-start line:
#   --dvm-sparse-if-holes   add --sparse only when the source PVC holds a file with holes (dvm:rsync.sparse auto)
#   --dvm-inplace-if-empty  add --inplace only when the destination module is empty (dvm:rsync.inplace auto)
#
# Waits (sleeping between probes) until the rsync daemon answers through the stunnel client on
# 127.0.0.1:$DVM_TUNNEL_PORT, then copies every source PVC to its destination module, retrying failed attempts
# with increasing delay (partial files are kept by --partial, so a retry resumes). Exits with the failing rsync's
# exit code, 97 if the tunnel never came up, 98 on a usage error; writes the done-file on every exit path so the
# stunnel container of the pod stops.
set -uo pipefail

ipc_dir=${DVM_IPC_DIR:-/rsync-stunnel-ipc}
done_file="$ipc_dir/rsync-client-container-done"
tunnel_port=${DVM_TUNNEL_PORT:-2222}
source_root=${DVM_SOURCE_ROOT:-/mnt/source}
secret_dir=${DVM_SECRET_DIR:-/etc/dvm/secret}
password_file="$secret_dir/rsync.password"
wait_seconds=${DVM_STUNNEL_WAIT_SECONDS:-600}
backoff_limit=${DVM_BACKOFF_LIMIT:-20}
retry_base=${DVM_RETRY_BASE_SECONDS:-5}
retry_max=${DVM_RETRY_MAX_SECONDS:-60}
rsync_user=dvm

readonly EXIT_TUNNEL_DOWN=97 EXIT_USAGE=98

exit_code=$EXIT_USAGE
child=""
private_password=""

log() { printf 'dvm: %s\n' "$*"; }

# shellcheck disable=SC2317 # called by the traps
finish() {
    # every exit path: tell the stunnel container we are done, then report
    [ -n "$private_password" ] && rm -f "$private_password"
    mkdir -p "$ipc_dir" 2>/dev/null
    : >"$done_file" || log "error message=\"cannot write $done_file\""
    log "done exit=$exit_code"
    exit "$exit_code"
}
trap finish EXIT

# shellcheck disable=SC2317 # called by the traps
on_signal() {
    [ -n "$child" ] && kill -TERM "$child" 2>/dev/null
    exit_code=$1
    exit "$exit_code"
}
trap 'on_signal 143' TERM
trap 'on_signal 130' INT

usage() {
    log "usage-error message=\"$*\""
    printf '%s\n' "usage: rsync-client.sh [rsync option | --dvm-sparse-if-holes | --dvm-inplace-if-empty ...] -- <source-pvc>:<target-module>[:verify] ..." >&2
    exit_code=$EXIT_USAGE
    exit "$exit_code"
}

for var in wait_seconds backoff_limit retry_base retry_max tunnel_port; do
    [[ ${!var} =~ ^[0-9]+$ ]] || usage "$var must be a whole number, got '${!var}'"
done

opts=()
sparse_if_holes=0
inplace_if_empty=0
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    case $1 in
        --dvm-sparse-if-holes) sparse_if_holes=1 ;;
        --dvm-inplace-if-empty) inplace_if_empty=1 ;;
        --dvm-*) usage "unknown script option '$1' (known: --dvm-sparse-if-holes, --dvm-inplace-if-empty)" ;;
        -*) opts+=("$1") ;;
        *) usage "rsync option '$1' does not start with '-'; put the PVC pairs after '--'" ;;
    esac
    shift
done
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
    # The stunnel sidecar usually starts within a second of this container: probe a few times quickly, then every
    # 2 s (bench: 2.1 s -> 0.1 s from pod start to the first byte; the idle cost stays a sleep per 2 s).
    probes=$(( probes + 1 ))
    if (( probes <= 5 )); then sleep 0.2 & child=$!; else sleep 2 & child=$!; fi
    wait "$child"
    child=""
done
log "tunnel-up after=$(( SECONDS - started ))"

# exit codes that cannot succeed on a retry: syntax/usage, protocol, unsupported action, daemon/auth failure
is_fatal() { case $1 in 1 | 2 | 4 | 5) return 0 ;; *) return 1 ;; esac; }

# A non-root rsyncd cannot change the times or permissions of the volume's top directory when another user owns it
# (a new PVC's root usually belongs to root, group-writable through the fsGroup): rsync then ends with 23 although
# every file arrived. True when those are the only errors of the attempt.
only_volume_root_attributes() {
    local line seen=1
    while IFS= read -r line; do
        case $line in
            'rsync: ['*'] failed to set '*' on "." (in '*'): Operation not permitted (1)') seen=0 ;;
            'rsync error: some files/attrs were not transferred '*) ;;
            'rsync: '* | 'rsync error: '* | 'ERROR: '*) return 1 ;;
        esac
    done <"$1"
    return "$seen"
}

has_opt() {
    local o
    for o in "${opts[@]}"; do [ "$o" = "$1" ] && return 0; done
    return 1
}

# milliseconds for the scan-ms/check-ms log keys: bash 5's clock without a fork; whole seconds on an older bash
now_ms() {
    if [ -n "${EPOCHREALTIME:-}" ]; then
        local t=${EPOCHREALTIME/[.,]/}
        echo $(( 10#$t / 1000 ))
    else
        echo $(( SECONDS * 1000 ))
    fi
}

# True when a regular file under $1 has fewer bytes allocated than its apparent size: holes (or a filesystem that
# compresses, which only turns --sparse on - the safe direction). Stops at the first such file; never follows
# symlinks (find -P); prints nothing per file name, so odd names cannot break it; skips the volume root's
# lost+found (root-only, and rsync excludes it too). Sets scan_result: holes | no-holes | scan-failed.
scan_for_holes() {
    local dir=$1 hit find_rc
    hit=$(find -P "$dir" -path "$dir/lost+found" -prune -o -type f -size +0 -printf '%b %s\n' 2>"$ipc_dir/sparse-scan.stderr" \
        | awk '$1 * 512 < $2 { print "hole"; exit }'; exit "${PIPESTATUS[0]}")
    find_rc=$?
    if [ "$hit" = hole ]; then
        scan_result=holes
    elif [ "$find_rc" -eq 0 ]; then
        scan_result=no-holes
    else
        # some directories could not be read: turn --sparse on rather than risk an outgrown destination
        scan_result=scan-failed
    fi
}

# Whether the destination module holds nothing but its top directory (and lost+found): the first copy into a new
# volume, where writing in place cannot meet an existing file. The daemon is write-only (it never sends data back),
# so this is a dry-run push of the source's top level with --delete and -ii: every entry must be new ("+++++++++")
# and nothing may be up for deletion. Unknown output counts as "not empty" (the safe direction). Sets check_result:
# empty | not-empty | check-failed.
check_destination_empty() {
    local src=$1 target=$2 itemized
    if ! itemized=$(rsync --dry-run --dirs --links --delete -ii --exclude=/lost+found --timeout=60 \
        --password-file="$private_password" "$source_root/$src/" "rsync://$rsync_user@127.0.0.1:$tunnel_port/$target/" \
        2>"$ipc_dir/inplace-check.stderr"); then
        check_result=check-failed
        return
    fi
    # "<11 change flags> <name>" per top-level entry ("*deleting   <name>" for one only on the destination). awk
    # must positively confirm "empty" (exit 0): any failure, even a missing awk, means "not empty".
    if awk '/^\*deleting / { found = 1; exit }
        { code = substr($0, 1, 11); name = substr($0, 13) }
        name == "./" { next }
        substr(code, 3) != "+++++++++" { found = 1; exit }
        END { exit found }' <<<"$itemized"; then
        check_result=empty
    else
        check_result=not-empty
    fi
}

# rsync before 3.3.0 can leave stale data where an existing destination file's trailing part became a hole on the
# source when --sparse and --inplace are used together (before 3.1.3 it refuses the pair). Only an explicit
# --inplace (dvm:rsync.inplace true) can meet --sparse, so only then is the version asked for, once per pod.
sparse_inplace_safe=1
if has_opt --inplace; then
    rsync_version=$(rsync --version 2>/dev/null | sed -n '1s/^rsync *version \([0-9][0-9.]*\).*/\1/p')
    [ -n "$rsync_version" ] && [ "$(printf '%s\n' 3.3.0 "$rsync_version" | sort -V | head -n 1)" = 3.3.0 ] \
        || sparse_inplace_safe=0
fi

max_attempts=$(( backoff_limit + 1 ))
exit_code=0
for pair in "${pairs[@]}"; do
    IFS=: read -r src target verify <<<"$pair"
    extra=(--exclude=/lost+found)
    [ "$verify" = verify ] && extra+=(--checksum)
    # --sparse and --inplace: decided once per PVC, before its first attempt (a retry keeps the decision)
    decisions=""
    sparse=off
    if has_opt --sparse; then
        sparse=on
        decisions+=" sparse=on"
    elif (( sparse_if_holes )); then
        t0=$(now_ms)
        scan_for_holes "$source_root/$src"
        [ "$scan_result" = no-holes ] || { sparse=on; extra+=(--sparse); }
        decisions+=" sparse=$sparse sparse-scan=$scan_result scan-ms=$(( $(now_ms) - t0 ))"
    else
        decisions+=" sparse=off"
    fi
    pvc_opts=("${opts[@]}")
    if has_opt --inplace && [ "$sparse" = on ] && (( ! sparse_inplace_safe )); then
        # dvm:rsync.inplace true, but this PVC is copied with --sparse by an rsync that mishandles the pair: writing
        # by rename costs time, never data
        pvc_opts=()
        for o in "${opts[@]}"; do [ "$o" = --inplace ] || pvc_opts+=("$o"); done
        decisions+=" inplace=off reason=\"rsync ${rsync_version:-of unknown version} < 3.3.0 with --sparse\""
    elif has_opt --inplace; then
        decisions+=" inplace=on"
    elif (( inplace_if_empty )) && [ "$sparse" = on ]; then
        # Not with --sparse: in place buys nothing on the large files that have holes, and older rsync mishandles
        # the pair (above).
        decisions+=" inplace=off destination=unchecked"
    elif (( inplace_if_empty )); then
        t0=$(now_ms)
        check_destination_empty "$src" "$target"
        decisions+=" inplace=$([ "$check_result" = empty ] && echo on || echo off) destination=$check_result check-ms=$(( $(now_ms) - t0 ))"
        [ "$check_result" = empty ] && extra+=(--inplace)
    else
        decisions+=" inplace=off"
    fi
    errors="$ipc_dir/rsync-$src.stderr"
    attempt=1
    while :; do
        log "pvc-start pvc=$src target=$target attempt=$attempt max=$max_attempts$decisions"
        rsync "${pvc_opts[@]}" "${extra[@]}" --password-file="$private_password" \
            "$source_root/$src/" "rsync://$rsync_user@127.0.0.1:$tunnel_port/$target/" \
            2> >(tee "$errors" >&2) &
        child=$!
        wait "$child"
        rc=$?
        child=""
        wait 2>/dev/null # let tee flush the error copy
        if [ "$rc" -eq 0 ]; then
            log "pvc-end pvc=$src attempt=$attempt exit=0 result=ok"
            break
        fi
        if [ "$rc" -eq 24 ]; then
            # the copy finished; files that vanished from the (live) source meanwhile were skipped
            log "pvc-end pvc=$src attempt=$attempt exit=24 result=ok warning=\"some source files vanished during the copy\""
            break
        fi
        if [ "$rc" -eq 23 ] && only_volume_root_attributes "$errors"; then
            log "pvc-end pvc=$src attempt=$attempt exit=23 result=ok warning=\"the destination volume's top directory belongs to another user; its permissions and times were left as they are\""
            break
        fi
        if is_fatal "$rc" || grep -q "No space left on device" "$errors" 2>/dev/null; then
            log "pvc-end pvc=$src attempt=$attempt exit=$rc result=fatal"
            exit_code=$rc
            exit "$exit_code"
        fi
        if (( attempt >= max_attempts )); then
            log "pvc-end pvc=$src attempt=$attempt exit=$rc result=fatal reason=\"backoff limit reached\""
            exit_code=$rc
            exit "$exit_code"
        fi
        delay=$retry_base
        for (( i = 1; i < attempt && delay < retry_max; i++ )); do delay=$(( delay * 2 )); done
        (( delay > retry_max )) && delay=$retry_max
        log "pvc-end pvc=$src attempt=$attempt exit=$rc result=retry retry-in=$delay"
        sleep "$delay" & child=$!
        wait "$child"
        child=""
        attempt=$(( attempt + 1 ))
    done
done
exit_code=0
exit 0
