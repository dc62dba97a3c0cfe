#!/usr/bin/env bash
# Builds the two images the local clusters need, as OCI layouts packed into tar archives that
# `ctr images import` reads (no image registry exists here):
#   - the transfer image: a Debian rootfs made by debootstrap with rsync, stunnel4, bash, netcat-openbsd, coreutils;
#   - the pause (sandbox) image: the static binary built from hack/clusters/pause.
# Cached under $DVM_CACHE/images/<name>-<key>, the key being a hash of the package list / sources and this script.
# Prints nothing on stdout; `images.sh paths` prints "<name> <ref> <archive>" lines.
set -euo pipefail
# shellcheck source=hack/clusters/lib.sh
. "$(dirname "$0")/lib.sh"

TRANSFER_PACKAGES=(rsync stunnel4 bash netcat-openbsd coreutils procps findutils)
SUITE=bookworm
# bump when the way an image is made changes (the cache key is this, the suite and the package list / pause sources)
RECIPE=1

mirror() {
    # the mirror apt already uses (deb822 or one-line format), so the build needs no other host
    local m
    m=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
    [ -n "$m" ] || m=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1 || true)
    echo "${m:-http://deb.debian.org/debian}"
}

transfer_key() { printf '%s\n' "$RECIPE" "$SUITE" "${TRANSFER_PACKAGES[@]}" | sha256sum | cut -c1-16; }
pause_key() { { echo "$RECIPE"; cat "$REPO_ROOT/hack/clusters/pause/main.go" "$REPO_ROOT/hack/clusters/pause/go.mod"; go env GOVERSION; } | sha256sum | cut -c1-16; }
transfer_dir() { echo "$DVM_CACHE/images/transfer-$(transfer_key)"; }
pause_dir() { echo "$DVM_CACHE/images/pause-$(pause_key)"; }

# pack TAG ROOTFS OUTDIR ENTRYPOINT...: OCI layout with one layer holding ROOTFS, as OUTDIR/image.tar
pack() {
    local tag=$1 rootfs=$2 out=$3; shift 3
    local layout=$out/layout bundle=$out/bundle
    rm -rf "$layout" "$bundle"
    umoci init --layout "$layout"
    umoci new --image "$layout:$tag"
    umoci unpack --image "$layout:$tag" "$bundle"
    cp -a "$rootfs/." "$bundle/rootfs/"
    umoci repack --image "$layout:$tag" "$bundle"
    local cfg=(--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.workingdir /)
    for e in "$@"; do cfg+=(--config.entrypoint "$e"); done
    umoci config --image "$layout:$tag" --author dvm "${cfg[@]}"
    umoci gc --layout "$layout"
    rm -rf "$bundle"
    tar -C "$layout" -cf "$out/image.tar.tmp" oci-layout index.json blobs
    mv "$out/image.tar.tmp" "$out/image.tar"
    rm -rf "$layout"
}

build_pause() {
    local out
    out=$(pause_dir)
    [ -s "$out/image.tar" ] && return 0
    log "building the pause image -> $out"
    rm -rf "$out" && mkdir -p "$out/rootfs"
    (cd "$REPO_ROOT/hack/clusters/pause" && CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "-s -w" -o "$out/rootfs/pause" .)
    pack "${PAUSE_IMAGE##*:}" "$out/rootfs" "$out" /pause
    rm -rf "$out/rootfs"
}

build_transfer() {
    local out rootfs
    out=$(transfer_dir)
    [ -s "$out/image.tar" ] && return 0
    bash "$REPO_ROOT/hack/ensure-packages.sh" debootstrap umoci
    log "building the transfer image (debootstrap $SUITE: ${TRANSFER_PACKAGES[*]}) -> $out"
    rm -rf "$out" && mkdir -p "$out"
    rootfs=$out/rootfs
    local incl
    incl=$(IFS=,; echo "${TRANSFER_PACKAGES[*]}")
    if ! debootstrap --variant=minbase --include="$incl" "$SUITE" "$rootfs" "$(mirror)" >"$out/debootstrap.log" 2>&1; then
        tail -20 "$out/debootstrap.log" >&2
        die "debootstrap failed (log: $out/debootstrap.log)"
    fi
    # a container image needs no package caches, docs or the apt lists
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
        "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log "$rootfs"/debootstrap
    for tool in rsync stunnel bash nc sha256sum; do
        chroot "$rootfs" sh -c "command -v $tool" >/dev/null || die "transfer image lacks $tool"
    done
    pack "${TRANSFER_IMAGE##*:}" "$rootfs" "$out" /bin/bash
    rm -rf "$rootfs"
}

case "${1:-build}" in
    build) build_pause; build_transfer ;;
    paths)
        echo "pause $PAUSE_IMAGE $(pause_dir)/image.tar"
        echo "transfer $TRANSFER_IMAGE $(transfer_dir)/image.tar" ;;
    *) die "usage: hack/clusters/images.sh [build|paths]" ;;
esac
