#!/usr/bin/env bash
# dvm source transfer pod, container "rsync": the per-PVC decisions of rsync-client.sh, which sources this file.
# Contract: contract/PROTOCOL.md. Functions only; they read the caller's globals (opts, source_root, tunnel_port,
# rsync_user, private_password, ipc_dir, retry_base, retry_max, sparse_if_holes, inplace_if_empty, unsafe_links,
# hold_seconds, exit_code, signalled, migration_mode) and set the globals each one names.
# shellcheck disable=SC2034,SC2154 # globals shared with rsync-client.sh: set there, read here, and the reverse

# exit codes that cannot succeed on a retry: syntax/usage, protocol, unsupported action
is_fatal() { case $1 in 1 | 2 | 4) return 0 ;; *) return 1 ;; esac; }

# Exit 5 (the session did not start) is fatal only when rsyncd refused it: a wrong password or a module that does
# not exist. No greeting at all (rsyncd restarting behind a running stunnel) or "max connections" heal on a retry.
refused_by_daemon() { grep -q -e '^@ERROR: auth failed' -e '^@ERROR: Unknown module' "$1" 2>/dev/null; }

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
    hit=$(find -P "$dir" -path "$dir/lost+found" -prune -o -type f -size +0 -printf '%b %s\n' 2>"$ipc_dir/sparse-scan-${dir##*/}.stderr" \
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
    if ! itemized=$(rsync --dry-run --dirs --links --specials --devices --delete -ii --exclude=/lost+found --timeout=60 \
        --password-file="$private_password" "$source_root/$src/" "rsync://$rsync_user@127.0.0.1:$tunnel_port/$target/" \
        2>"$ipc_dir/inplace-check-$src.stderr"); then
        check_result=check-failed
        return
    fi
    # "<11 change flags> <name>" per top-level entry ("*deleting   <name>" for one only on the destination; FIFOs and
    # sockets are itemized too, and devices a non-root daemon would not create are skipped, so neither counts as
    # content). awk must positively confirm "empty" (exit 0): any failure, even a missing awk, means "not empty".
    if awk '/^\*deleting / { found = 1; exit }
        /^skipping non-regular file / { next }
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

# sanitized_link TARGET DEPTH: what an rsync daemon without chroot writes for the target TARGET of a symlink DEPTH
# directories below the volume root (rsync's sanitize_path(): no leading "/", no "." or empty components, ".." only
# as far up as the volume root; a trailing "/" stays). Sets sanitized.
sanitized_link() {
    local rest=$1 depth=$2 comp kept=0
    sanitized=""
    while [ -n "$rest" ]; do
        case $rest in
            /*) rest=${rest#/}; continue ;;
            */*) comp=${rest%%/*}/; rest=${rest#*/} ;;
            *) comp=$rest; rest="" ;;
        esac
        case $comp in
            . | ./) ;;
            .. | ../)
                if (( depth > 0 && ${#sanitized} == kept )); then
                    depth=$(( depth - 1 )); sanitized+=$comp; kept=${#sanitized}
                elif (( ${#sanitized} > kept )); then
                    sanitized=${sanitized%/}; sanitized=${sanitized%"${sanitized##*/}"}
                fi ;;
            *) sanitized+=$comp ;;
        esac
    done
    [ -n "$sanitized" ] || sanitized=.
}

# count_unsafe_links DIR: the symlinks under DIR whose target a destination daemon without chroot rewrites (absolute
# ones lose their "/", ".." above the volume root is cut). find prints only the candidates (depth, name, target,
# each NUL-ended: any byte may be in a name), so plain relative links cost nothing but the walk. Sets unsafe_count
# and unsafe_example ("<name> -> <target>" of the first one, control characters as "?").
count_unsafe_links() {
    local dir=$1 depth name target
    unsafe_count=0 unsafe_example=""
    while IFS= read -r -d '' depth && IFS= read -r -d '' name && IFS= read -r -d '' target; do
        sanitized_link "$target" $(( depth - 1 ))
        [ "$sanitized" = "$target" ] && continue
        unsafe_count=$(( unsafe_count + 1 ))
        [ -n "$unsafe_example" ] || unsafe_example="$name -> $target"
    done < <(find -P "$dir" -path "$dir/lost+found" -prune -o -type l \( -lname '/*' -o -lname '*//*' -o -lname . \
        -o -lname './*' -o -lname '*/.' -o -lname '*/./*' -o -lname .. -o -lname '../*' -o -lname '*/..' -o -lname '*/../*' \) \
        -printf '%d\0%P\0%l\0' 2>"$ipc_dir/links-scan.stderr")
    unsafe_example=${unsafe_example//[[:cntrl:]]/?}
    unsafe_example=${unsafe_example//\\/\\\\}
    unsafe_example=${unsafe_example//\"/\\\"}
}

# decide_pvc SRC TARGET VERIFY: --sparse and --inplace for one PVC, decided once before its first attempt (a retry
# keeps the decision), and its unsafe symlinks counted. Sets pvc_opts (the pod's options for this PVC), extra
# (options added for it), decisions (the key=value words of its pvc-start line) and links (those of the count, also
# on pvc-end).
decide_pvc() {
    local src=$1 target=$2 verify=$3 sparse=off t0 o
    extra=(--exclude=/lost+found)
    # dvm:rsync.verify already gave --checksum to every PVC
    [ "$verify" = verify ] && ! has_opt --checksum && extra+=(--checksum)
    decisions=""
    links=""
    unsafe_count=0
    if [ -n "$unsafe_links" ]; then
        t0=$(now_ms)
        count_unsafe_links "$source_root/$src"
        links=" unsafe-links=$unsafe_count"
        decisions+="$links${unsafe_example:+ unsafe-link=\"$unsafe_example\"} links-ms=$(( $(now_ms) - t0 ))"
    fi
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
    elif is_fatal "$rc" || { [ "$rc" -eq 5 ] && refused_by_daemon "$errors"; } || grep -q "No space left on device" "$errors" 2>/dev/null; then
        outcome=fatal
    else
        outcome=retry
    fi
}

# prefix_output PREFIX: stdin to stdout, PREFIX before every line and every "\r"-ended progress update, each flushed
# as it comes (awk reads what the pipe has, so the log keeps moving; one write per line, so PVCs never tear a line)
prefix_output() {
    awk -v p="$1" 'BEGIN { RS = "[\r\n]" } length($0) { print p $0; fflush() }'
}

# copy_pvc PAIR: one PVC (<source>:<target>[:verify]) with its attempts, retries and their delay. Sets pvc_rc (0, or
# the exit code the pod ends with); pvc_src and pvc_attempt while it runs (for stop_pvc). With line_prefix set, every
# line of rsync's output starts with "[<source>] " (PVCs copied at the same time share the log).
copy_pvc() {
    local src target verify errors rc
    IFS=: read -r src target verify <<<"$1"
    pvc_src=$src
    decide_pvc "$src" "$target" "$verify"
    errors="$ipc_dir/rsync-$src.stderr"
    attempt=1
    while :; do
        log "pvc-start pvc=$src target=$target attempt=$attempt max=$max_attempts$decisions"
        pvc_attempt=$attempt
        if [ "$unsafe_links" = refuse ] && (( unsafe_count > 0 )); then
            log "pvc-end pvc=$src attempt=$attempt exit=$EXIT_UNSAFE_LINKS result=fatal reason=\"$unsafe_count symlinks would be rewritten: the destination's rsync daemon has no chroot (dvm:rsync.unsafeSymlinks fail)\"$links"
            pvc_rc=$EXIT_UNSAFE_LINKS
            return 0
        fi
        run_rsync "$src" "$target" "$errors"
        attempt_outcome "$rc" "$errors"
        if [ "$outcome" = ok ]; then
            log "pvc-end pvc=$src attempt=$attempt exit=$rc result=ok${outcome_warning:+ warning=\"$outcome_warning\"}$links"
            pvc_rc=0
            return 0
        fi
        if [ "$outcome" = fatal ]; then
            log "pvc-end pvc=$src attempt=$attempt exit=$rc result=fatal${outcome_reason:+ reason=\"$outcome_reason\"}$links"
            pvc_rc=$rc
            return 0
        fi
        if (( attempt >= max_attempts )); then
            log "pvc-end pvc=$src attempt=$attempt exit=$rc result=fatal reason=\"backoff limit reached\"$links"
            pvc_rc=$rc
            return 0
        fi
        retry_delay "$attempt"
        log "pvc-end pvc=$src attempt=$attempt exit=$rc result=retry retry-in=$delay$links"
        sleep "$delay" & child=$!
        wait "$child"
        child=""
        attempt=$(( attempt + 1 ))
    done
}

# stop_pvc: the TERM trap of a PVC copied in parallel when another PVC of the pod failed (or the pod is stopped):
# ends its rsync (or its retry's wait) and says so on a pvc-end line.
# shellcheck disable=SC2317 # called by the trap
stop_pvc() {
    [ -n "$child" ] && kill -TERM "$child" 2>/dev/null
    (( pvc_attempt > 0 )) && log "pvc-end pvc=$pvc_src attempt=$pvc_attempt exit=143 result=fatal reason=\"stopped: another PVC of this pod failed, or the pod was stopped\""
    exit 143
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

# run_rsync SRC TARGET ERRORS: one rsync attempt, its exit code in rc. rsync ends each --info=progress2 update with
# "\r" and prints no "\n" before the end of the PVC, while the container runtime cuts log entries at "\n" only: so
# rsync's stdout goes through a FIFO to progress_lines (prefix_output with line_prefix set), which ends every update
# with "\n" and the log moves while bytes move. stderr is copied to ERRORS as well. Sets child while rsync runs (the signal traps stop it).
run_rsync() {
    local src=$1 target=$2 errors=$3 fifo="$ipc_dir/rsync-$1.stdout" reader
    rm -f "$fifo"
    mkfifo -m 600 "$fifo" || { log "error message=\"cannot create $fifo\""; fifo=/dev/stdout; }
    if [ "$fifo" != /dev/stdout ]; then
        if [ -n "${line_prefix:-}" ]; then prefix_output "[$src] " <"$fifo" & else progress_lines <"$fifo" & fi
        reader=$!
    fi
    if [ -n "${line_prefix:-}" ]; then
        rsync "${pvc_opts[@]}" "${extra[@]}" --password-file="$private_password" \
            "$source_root/$src/" "rsync://$rsync_user@127.0.0.1:$tunnel_port/$target/" \
            >"$fifo" 2> >(tee "$errors" | prefix_output "[$src] " >&2) &
    else
        rsync "${pvc_opts[@]}" "${extra[@]}" --password-file="$private_password" \
            "$source_root/$src/" "rsync://$rsync_user@127.0.0.1:$tunnel_port/$target/" \
            >"$fifo" 2> >(tee "$errors" >&2) &
    fi
    child=$!
    wait "$child"
    rc=$?
    child=""
    [ -n "${reader:-}" ] && wait "$reader"
    [ "$fifo" = /dev/stdout ] || rm -f "$fifo"
    wait 2>/dev/null # let tee flush the error copy
}

# stdin to stdout, every "\r"-ended piece as a line of its own. bash reads a pipe byte by byte: rsync prints about
# one progress update a second, and per-file lines only for deletions and skips (--info=DEL2,SKIP2).
progress_lines() {
    local piece
    while IFS= read -r -d $'\r' piece || [ -n "$piece" ]; do
        [ -n "$piece" ] && printf '%s\n' "$piece"
    done
    return 0
}

# debug_hold: dvm:debugHold - the failed container stays up (and the done-file unwritten, so the stunnel container
# keeps the tunnel) for hold_seconds, or until a signal, for `kubectl exec`.
debug_hold() {
    holding=1
    sleep "$hold_seconds" & child=$!
    # a signal before child was set cannot have stopped the sleep
    (( signalled )) && kill -TERM "$child" 2>/dev/null
    log "debug-hold seconds=$hold_seconds exit=$exit_code message=\"the rsync container stays up for ${hold_seconds}s (dvm:debugHold): kubectl exec -it <pod> -c rsync -- bash; the tunnel is 127.0.0.1:$tunnel_port, the password file $private_password\""
    wait "$child"
    child=""
}
