#!/usr/bin/env bash
# Copies one image between two registries with skopeo. Run by @pulumi/command's local.Command on the machine of
# `pulumi up`, once per image; components/images/index.ts sets the environment (contract IMAGE_ENV).
#   image-copy.sh          copy DVM_IMAGE_SOURCE's digest DVM_IMAGE_DIGEST to DVM_IMAGE_DESTINATION
#   image-copy.sh keep     print the record of the last copy again (the update command: nothing to copy)
# - every architecture of a list, digests preserved: the copy reads the source by the digest the program resolved
#   and fails unless exactly that digest lands on the destination;
# - credentials reach skopeo through auth files made here (mode 0600, in a private directory removed on exit), never
#   on a command line;
# - retries with a doubling delay; errors a retry cannot heal (credentials, TLS, a missing image) fail at once, naming
#   the dvm:images key to check and quoting the registry's own error;
# - stdout: one JSON record {"digest","bytes","seconds","attempts"}; stderr: skopeo's progress and `dvm: <event>` lines.
set -euo pipefail

log() { printf 'dvm: %s\n' "$*" >&2; }
# what a person reads under a failure
say() { printf '  %s\n' "$*" >&2; }

if [ "${1:-}" = keep ]; then
    printf '%s\n' "${PULUMI_COMMAND_STDOUT:-}"
    exit 0
fi

missing=()
for v in DVM_IMAGE_SOURCE DVM_IMAGE_DESTINATION DVM_IMAGE_DIGEST DVM_IMAGE_RETRIES DVM_IMAGE_RETRY_DELAY_SECONDS \
    DVM_IMAGE_SRC_TLS_VERIFY DVM_IMAGE_DST_TLS_VERIFY; do
    [ -n "${!v:-}" ] || missing+=("$v")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "usage-error missing=${missing[*]}"
    exit 98
fi
command -v skopeo >/dev/null || { log "usage-error reason=skopeo-not-installed (apt-get install skopeo)"; exit 98; }
command -v jq >/dev/null || { log "usage-error reason=jq-not-installed (apt-get install jq)"; exit 98; }

src=$DVM_IMAGE_SOURCE
dst=$DVM_IMAGE_DESTINATION
digest=$DVM_IMAGE_DIGEST
case $digest in sha256:*) ;; *) log "usage-error reason=digest-not-sha256 digest=$digest"; exit 98 ;; esac

# the repository of a reference: without @digest, and without :tag (a ':' after the last '/')
repository() {
    local r=${1%@*}
    case ${r##*/} in *:*) r=${r%:*} ;; esac
    printf '%s' "$r"
}
src_by_digest="$(repository "$src")@$digest"

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/dvm-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

# auth file for one registry host from a user name and password (base64 through a pipe, printf is a builtin)
auth_file() {
    local file=$1 host=$2 user=$3 password=$4 auth
    if [ -n "$user" ]; then
        auth=$(printf '%s:%s' "$user" "$password" | base64 -w0)
        printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$host" "$auth" >"$file"
    else
        printf '{"auths":{}}\n' >"$file"
    fi
}
auth_file "$work/src-auth.json" "${src%%/*}" "${DVM_IMAGE_SRC_USERNAME:-}" "${DVM_IMAGE_SRC_PASSWORD:-}"
auth_file "$work/dst-auth.json" "${dst%%/*}" "${DVM_IMAGE_DST_USERNAME:-}" "${DVM_IMAGE_DST_PASSWORD:-}"
unset DVM_IMAGE_SRC_PASSWORD DVM_IMAGE_DST_PASSWORD

src_opts=(--src-authfile "$work/src-auth.json" --src-tls-verify="$DVM_IMAGE_SRC_TLS_VERIFY")
dst_opts=(--dest-authfile "$work/dst-auth.json" --dest-tls-verify="$DVM_IMAGE_DST_TLS_VERIFY")
inspect_opts=(--authfile "$work/dst-auth.json" --tls-verify="$DVM_IMAGE_DST_TLS_VERIFY")
if [ -n "${DVM_IMAGE_SRC_CA_BUNDLE:-}" ]; then
    mkdir "$work/src-certs" && printf '%s\n' "$DVM_IMAGE_SRC_CA_BUNDLE" >"$work/src-certs/ca.crt"
    src_opts+=(--src-cert-dir "$work/src-certs")
fi
if [ -n "${DVM_IMAGE_DST_CA_BUNDLE:-}" ]; then
    mkdir "$work/dst-certs" && printf '%s\n' "$DVM_IMAGE_DST_CA_BUNDLE" >"$work/dst-certs/ca.crt"
    dst_opts+=(--dest-cert-dir "$work/dst-certs")
    inspect_opts+=(--cert-dir "$work/dst-certs")
fi

# "<kind> <side>" of an error a retry cannot heal (side: which registry it is about); empty when a retry may heal it
classify() {
    local err=$1 side=destination
    if grep -qiE 'initializing source|reading manifest|reading blob|choosing an image from manifest list' "$err"; then side=source; fi
    if grep -qiE 'unauthorized|authentication required|incorrect username or password|requested access to the resource is denied|denied:' "$err"; then
        echo "credentials $side"
    elif grep -qiE 'x509:|certificate' "$err"; then
        echo "tls $side"
    elif grep -qiE 'manifest unknown|name unknown' "$err"; then
        echo "not-found $side"
    elif grep -qiE 'preserve digests|digests? do not match' "$err"; then
        echo "digest $side"
    fi
}

started=$EPOCHREALTIME
attempts=$(( DVM_IMAGE_RETRIES + 1 ))
delay=$DVM_IMAGE_RETRY_DELAY_SECONDS
attempt=0
while :; do
    attempt=$(( attempt + 1 ))
    log "image-copy-attempt source=$src destination=$dst digest=$digest attempt=$attempt/$attempts"
    # skopeo's progress goes to stdout: send it to stderr, keep its errors for the classification
    if skopeo copy --all --preserve-digests --digestfile "$work/digest" "${src_opts[@]}" "${dst_opts[@]}" \
        "docker://$src_by_digest" "docker://$dst" >&2 2>"$work/err"; then
        cat "$work/err" >&2
        break
    fi
    cat "$work/err" >&2
    read -r kind side <<<"$(classify "$work/err")" || true
    # skopeo's own last line, without its logrus frame: the registry's words
    registry_error=$(grep -v '^[[:space:]]*$' "$work/err" | tail -1 | sed -E 's/^time="[^"]*" level=[a-z]+ msg="(.*)"$/\1/')
    if [ -n "$kind" ] || [ "$attempt" -ge "$attempts" ]; then
        log "image-copy-failed source=$src destination=$dst attempts=$attempt reason=${kind:-retries-exhausted}${side:+ registry=$side}"
        case $kind in
            credentials) say "the $side registry refused the credentials: check dvm:images.$side.username and dvm:images.$side.password" ;;
            tls) say "the $side registry's certificate is not trusted: check dvm:images.$side.caBundle (or dvm:images.$side.tlsVerify)" ;;
            not-found) say "the image does not exist on the $side registry" ;;
            digest) say "the destination registry cannot store the image with its digest unchanged" ;;
        esac
        say "registry error: $registry_error"
        exit 1
    fi
    log "image-copy-retry source=$src destination=$dst attempt=$attempt delay=${delay}s error=$registry_error"
    sleep "$delay"
    delay=$(( delay * 2 > 300 ? 300 : delay * 2 ))
done
seconds=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

landed=$(cat "$work/digest")
if [ "$landed" != "$digest" ]; then
    log "image-copy-failed source=$src destination=$dst attempts=$attempt reason=digest-changed landed=$landed expected=$digest"
    exit 1
fi

# bytes: every distinct blob of every architecture (configs and layers) plus the manifests, read back from the
# destination, which also proves the image is there
dst_repo=$(repository "$dst")
manifest() { skopeo inspect --raw "${inspect_opts[@]}" "docker://$1"; }
manifest "$dst_repo@$digest" >"$work/top"
top=$(cat "$work/top")
{
    printf '%s %s\n' "$digest" "$(wc -c <"$work/top")"
    if jq -e 'has("manifests")' >/dev/null <<<"$top"; then
        jq -r '.manifests[] | "\(.digest) \(.size)"' <<<"$top"
        for d in $(jq -r '.manifests[].digest' <<<"$top"); do
            manifest "$dst_repo@$d" | jq -r '(.config // empty), (.layers // [])[] | "\(.digest) \(.size // 0)"'
        done
    else
        jq -r '(.config // empty), (.layers // [])[] | "\(.digest) \(.size // 0)"' <<<"$top"
    fi
} >"$work/blobs"
bytes=$(sort -u "$work/blobs" | awk '{ s += $2 } END { printf "%d", s }')

log "image-copy-done source=$src destination=$dst digest=$digest bytes=$bytes seconds=$seconds attempts=$attempt"
printf '{"digest":"%s","bytes":%s,"seconds":%s,"attempts":%s}\n' "$digest" "$bytes" "$seconds" "$attempt"
