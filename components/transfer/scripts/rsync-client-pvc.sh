#!/usr/bin/env bash
# dvm source transfer pod, container "rsync": the per-PVC decisions of rsync-client.sh, which sources this file.
# Contract: contract/PROTOCOL.md. Functions only; they read the caller's globals (opts, source_root, tunnel_port,
# rsync_user, private_password, ipc_dir, retry_base, retry_max, sparse_if_holes, inplace_if_empty, migration_mode) and
# set the globals each one names.
# shellcheck disable=SC2034,SC2154 # globals shared with rsync-client.sh: set there, read here, and the reverse

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
# Sets sparse_inplace_safe (1/0) and rsync_version.
check_sparse_inplace_safety() {
    sparse_inplace_safe=1
    rsync_version=""
    if has_opt --inplace; then
        rsync_version=$(rsync --version 2>/dev/null | sed -n '1s/^rsync *version \([0-9][0-9.]*\).*/\1/p')
        [ -n "$rsync_version" ] && [ "$(printf '%s\n' 3.3.0 "$rsync_version" | sort -V | head -n 1)" = 3.3.0 ] \
            || sparse_inplace_safe=0
    fi
}

# decide_pvc SRC TARGET VERIFY: --sparse and --inplace for one PVC, decided once before its first attempt (a retry
# keeps the decision). Sets pvc_opts (the pod's options for this PVC), extra (options added for it) and decisions
# (the key=value words of its pvc-start line).
decide_pvc() {
    local src=$1 target=$2 verify=$3 sparse=off t0 o
    extra=(--exclude=/lost+found)
    [ "$verify" = verify ] && extra+=(--checksum)
    decisions=""
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
}

# attempt_outcome RC ERRORS-FILE: what one finished rsync attempt means. Sets outcome (ok | fatal | retry),
# outcome_warning (for an ok that needs a word) and outcome_reason (for a fatal one the exit code does not explain).
attempt_outcome() {
    local rc=$1 errors=$2
    outcome_warning=""
    outcome_reason=""
    if [ "$rc" -eq 0 ]; then
        outcome=ok
    elif [ "$rc" -eq 24 ] && [ "$migration_mode" = cutover ]; then
        # the final pass of a quiesced source: nothing may change, so a writer is still at work - another attempt
        # would copy another moving state
        outcome=fatal
        outcome_reason="source files vanished during the cutover pass: something still writes to the volume"
    elif [ "$rc" -eq 24 ]; then
        # the copy finished; files that vanished from the (live) source meanwhile were skipped
        outcome=ok
        outcome_warning="some source files vanished during the copy"
    elif [ "$rc" -eq 23 ] && only_volume_root_attributes "$errors"; then
        outcome=ok
        outcome_warning="the destination volume's top directory belongs to another user; its permissions and times were left as they are"
    elif is_fatal "$rc" || grep -q "No space left on device" "$errors" 2>/dev/null; then
        outcome=fatal
    else
        outcome=retry
    fi
}

# retry_delay ATTEMPT: seconds before the next attempt - retry_base, doubled per attempt, capped at retry_max. Sets
# delay.
retry_delay() {
    local i
    delay=$retry_base
    for (( i = 1; i < $1 && delay < retry_max; i++ )); do delay=$(( delay * 2 )); done
    (( delay > retry_max )) && delay=$retry_max
    return 0
}
