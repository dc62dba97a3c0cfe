#!/usr/bin/env bash
# dvm's transfer image (dvm:transferImage), built without a container daemon: debootstrap makes a Debian rootfs with
# the packages of image/packages.txt, umoci packs it as an OCI image, and the OCI layout is written as a tar archive
# (an "oci-archive" to skopeo). An admin pushes it with
#   skopeo copy oci-archive:<archive>:<tag> docker://registry.example.com/dvm/transfer:<tag>
# and pins dvm:transferImage to registry.example.com/dvm/transfer@<digest> (the digest this script prints).
#
#   image/build.sh [OUT_DIR]   build (cached: a second run with the same recipe only prints), then print
#                              "archive <path>", "tag <tag>", "digest sha256:..." on stdout
#   image/build.sh --key       the recipe's cache key (package list, suite, this script's recipe version)
#
# OUT_DIR defaults to $DVM_CACHE/images/transfer-<key> (DVM_CACHE: ~/.cache/dvm). Needs root (debootstrap, chroot).
# hack/clusters/images.sh sources this file and builds the local clusters' image with it: one recipe, not a copy.
set -euo pipefail

IMAGE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGE_SUITE=bookworm
IMAGE_TAG=$IMAGE_SUITE
# bump when the way the image is made changes (the cache key is this, the suite and the package list)
IMAGE_RECIPE=1

image_packages() { sed -e 's/#.*//' -e 's/[[:space:]]//g' "$IMAGE_DIR/packages.txt" | grep -v '^$'; }
image_key() { { echo "$IMAGE_RECIPE"; echo "$IMAGE_SUITE"; image_packages; } | sha256sum | cut -c1-16; }

image_log() { printf '%s image: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
image_die() { printf 'image: error: %s\n' "$*" >&2; exit 1; }

# the Debian mirror apt already uses (deb822 or one-line format), so the build needs no other host
image_mirror() {
    local m
    m=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
    [ -n "$m" ] || m=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1 || true)
    echo "${m:-http://deb.debian.org/debian}"
}

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

# the manifest digest of the archive's image (what a registry serves it under after skopeo copy)
image_digest() { tar -xOf "$1" index.json | sed -n 's/.*"digest":"\(sha256:[0-9a-f]\{64\}\)".*/\1/p' | head -1; }

# build_image OUT_DIR: the rootfs, the tools the container scripts' self-check (image-check.sh) asks for, the archive
build_image() {
    local out=$1 rootfs incl tool
    [ -s "$out/image.tar" ] && return 0
    [ "$(id -u)" -eq 0 ] || image_die "building the image needs root (debootstrap, chroot)"
    for tool in debootstrap umoci; do
        command -v "$tool" >/dev/null || image_die "$tool is missing (apt-get install debootstrap umoci)"
    done
    rm -rf "$out" && mkdir -p "$out"
    rootfs=$out/rootfs
    incl=$(image_packages | paste -sd, -)
    image_log "building the transfer image (debootstrap $IMAGE_SUITE: $incl) -> $out"
    if ! debootstrap --variant=minbase --include="$incl" "$IMAGE_SUITE" "$rootfs" "$(image_mirror)" >"$out/debootstrap.log" 2>&1; then
        tail -20 "$out/debootstrap.log" >&2
        image_die "debootstrap failed (log: $out/debootstrap.log)"
    fi
    # a container image needs no package caches, docs or the apt lists
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
        "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log "$rootfs"/debootstrap
    for tool in rsync stunnel bash nc sha256sum sed awk sort find mktemp tee head; do
        chroot "$rootfs" sh -c "command -v $tool" >/dev/null || image_die "the transfer image lacks $tool"
    done
    pack "$IMAGE_TAG" "$rootfs" "$out" /bin/bash
    rm -rf "$rootfs"
}

image_main() {
    if [ "${1:-}" = --key ]; then
        image_key
        return
    fi
    local out=${1:-${DVM_CACHE:-$HOME/.cache/dvm}/images/transfer-$(image_key)}
    build_image "$out"
    echo "archive $out/image.tar"
    echo "tag $IMAGE_TAG"
    echo "digest $(image_digest "$out/image.tar")"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    image_main "$@"
fi
