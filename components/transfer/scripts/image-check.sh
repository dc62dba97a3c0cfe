#!/usr/bin/env bash
# dvm transfer pods, every container: the start-up self-check of the transfer image (dvm:transferImage), sourced by
# rsync-client.sh, stunnel-client.sh, rsyncd.sh and stunnel-server.sh. Contract: contract/PROTOCOL.md.
# Each container checks the whole image (rsync, stunnel, bash, the tools the scripts call), so whichever starts first
# reports a missing piece at once; the source's rsync container then fails its Job instead of waiting for a tunnel.
# Functions only; image_check sets image_problems and returns non-zero when the image cannot run dvm's scripts.

readonly EXIT_IMAGE_UNFIT=96
# rsync 3.1.0 brought --info=PROGRESS2,STATS2 (the progress dvm reads); stunnel 5.50 TLS 1.3 ciphersuites with PSK
readonly IMAGE_MIN_RSYNC=3.1.0 IMAGE_MIN_STUNNEL=5.50 IMAGE_MIN_OPENSSL=1.1.1 IMAGE_MIN_BASH=4

# version_at_least HAVE WANT
version_at_least() { [ "$(printf '%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

image_check() {
    local tool rsync_v stunnel_out stunnel_v openssl_v
    image_problems=()
    (( BASH_VERSINFO[0] >= IMAGE_MIN_BASH )) || image_problems+=("bash ${BASH_VERSION} < $IMAGE_MIN_BASH")
    for tool in rsync stunnel sed awk sort find mktemp cat tee head; do
        command -v "$tool" >/dev/null 2>&1 || image_problems+=("no $tool")
    done
    if command -v rsync >/dev/null 2>&1; then
        rsync_v=$(rsync --version 2>/dev/null | sed -n '1s/^rsync *version \([0-9][0-9.]*\).*/\1/p')
        if [ -z "$rsync_v" ]; then
            image_problems+=("rsync --version names no version")
        elif ! version_at_least "$rsync_v" "$IMAGE_MIN_RSYNC"; then
            image_problems+=("rsync $rsync_v < $IMAGE_MIN_RSYNC (no --info=PROGRESS2)")
        fi
    fi
    if command -v stunnel >/dev/null 2>&1; then
        # stunnel prints its version and features on stderr, e.g. "stunnel 5.68 on ...", "Running  with OpenSSL 3.0.11",
        # "... TLS:ENGINE,OCSP,PSK,SNI ..."
        stunnel_out=$(stunnel -version 2>&1 </dev/null)
        stunnel_v=$(sed -n 's/^.*stunnel \([0-9][0-9.]*\) on .*$/\1/p' <<<"$stunnel_out" | head -n 1)
        openssl_v=$(sed -n 's/^.*Running  *with OpenSSL \([0-9][0-9.]*[a-z]*\).*$/\1/p' <<<"$stunnel_out" | head -n 1)
        if [ -z "$stunnel_v" ]; then
            image_problems+=("stunnel -version names no version")
        elif ! version_at_least "$stunnel_v" "$IMAGE_MIN_STUNNEL"; then
            image_problems+=("stunnel $stunnel_v < $IMAGE_MIN_STUNNEL (no TLS 1.3 ciphersuites)")
        fi
        if [ -z "$openssl_v" ] || ! version_at_least "${openssl_v%%[a-z]*}" "$IMAGE_MIN_OPENSSL"; then
            image_problems+=("stunnel runs with OpenSSL ${openssl_v:-of unknown version} (TLS 1.3 needs $IMAGE_MIN_OPENSSL)")
        fi
        grep -Eq 'TLS:([A-Z0-9]+,)*PSK(,|$| )' <<<"$stunnel_out" || image_problems+=("stunnel without PSK support")
        grep -Eq 'TLS:([A-Z0-9]+,)*SNI(,|$| )' <<<"$stunnel_out" || image_problems+=("stunnel without SNI support")
    fi
    [ ${#image_problems[@]} -eq 0 ]
}

# image_check_rsync_options OPTION...: rsync knows every option dvm passes (a dry run between two empty scratch
# directories: nothing is read or written). Appends to image_problems.
image_check_rsync_options() {
    local dir out
    dir=$(mktemp -d "${TMPDIR:-/tmp}/dvm-image-check.XXXXXX") || { image_problems+=("no writable ${TMPDIR:-/tmp}"); return 1; }
    mkdir -p "$dir/a" "$dir/b"
    if ! out=$(rsync --dry-run "$@" "$dir/a/" "$dir/b/" 2>&1); then
        image_problems+=("rsync refuses dvm's options: $(head -n 1 <<<"$out")")
    fi
    rm -rf "$dir"
    [ ${#image_problems[@]} -eq 0 ]
}

# image_unfit CONTAINER: report (log line and the container's termination message) and exit 96.
image_unfit() {
    local what msg
    what=$(IFS=';'; echo "${image_problems[*]}")
    what=${what//\"/\'}
    msg="the transfer image (dvm:transferImage) cannot run dvm's scripts: $what; use an image built from dvm's image/ recipe"
    printf 'dvm: image-unfit container=%s problems="%s" message="%s"\n' "$1" "$what" "$msg"
    { printf '%s\n' "$msg" >/dev/termination-log; } 2>/dev/null || true
    exit "$EXIT_IMAGE_UNFIT"
}
