#!/usr/bin/env bash
# Builds the two images the local clusters need, as OCI layouts packed into tar archives that
# `ctr images import` reads (no image registry exists here):
#   - the transfer image: dvm's own recipe, image/build.sh (a Debian rootfs by debootstrap with image/packages.txt);
#   - the pause (sandbox) image: the static binary built from hack/clusters/pause.
# Cached under $DVM_CACHE/images/<name>-<key>, the key being a hash of the recipe (image/build.sh --key) / sources.
# Prints nothing on stdout; `images.sh paths` prints "<name> <ref> <archive>" lines.
set -euo pipefail
# shellcheck source=hack/clusters/lib.sh
. "$(dirname "$0")/lib.sh"

# the transfer image's recipe (package list, debootstrap, packing) is the product's own: image/build.sh
# shellcheck source=image/build.sh
. "$REPO_ROOT/image/build.sh"
# bump when the way the pause image is made changes (its cache key is this and the pause sources)
RECIPE=1

pause_key() { { echo "$RECIPE"; cat "$REPO_ROOT/hack/clusters/pause/main.go" "$REPO_ROOT/hack/clusters/pause/go.mod"; go env GOVERSION; } | sha256sum | cut -c1-16; }
transfer_dir() { echo "$DVM_CACHE/images/transfer-$(image_key)"; }
pause_dir() { echo "$DVM_CACHE/images/pause-$(pause_key)"; }

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
    [ -s "$(transfer_dir)/image.tar" ] && return 0
    bash "$REPO_ROOT/hack/ensure-packages.sh" debootstrap umoci
    # the recipe's tag is the tag of the local clusters' reference
    [ "$IMAGE_TAG" = "${TRANSFER_IMAGE##*:}" ] || die "image/build.sh tags $IMAGE_TAG, lib.sh's TRANSFER_IMAGE is $TRANSFER_IMAGE"
    build_image "$(transfer_dir)"
}

case "${1:-build}" in
    build) build_pause; build_transfer ;;
    paths)
        echo "pause $PAUSE_IMAGE $(pause_dir)/image.tar"
        echo "transfer $TRANSFER_IMAGE $(transfer_dir)/image.tar" ;;
    digest) image_digest "$(transfer_dir)/image.tar" ;;
    *) die "usage: hack/clusters/images.sh [build|paths|digest]" ;;
esac
