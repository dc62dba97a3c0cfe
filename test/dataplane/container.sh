#!/usr/bin/env bash
# Runs one "container" of a data-plane test pod: a process in the pod's network namespace (ip netns), in a private
# mount namespace where the container paths (/opt/dvm/scripts, /etc/dvm/config, /etc/dvm/secret, /mnt/source/<pvc>
# read-only, /mnt/target/<pvc>, /rsync-stunnel-ipc) are bind mounts of the test's temp directories, /tmp is an
# emptyDir-like tmpfs, the root filesystem is read-only, and the process runs with the user and capabilities the
# pod's securityContext would give.
#
#   container.sh --netns NS [--user UID:GID[:SUPGID]] [--caps cap,cap,...] [--ro HOST:CPATH]... [--rw HOST:CPATH]...
#                [--tmpfs CPATH:SIZE]... [--env K=V]... -- command [arg ...]
#
# Without --user the process is root with only --caps in its bounding set (all capabilities when --caps is absent).
set -euo pipefail

if [ "${DVM_CONTAINER_INNER:-}" != 1 ]; then
    if [ "${1:-}" != --netns ] || [ -z "${2:-}" ]; then
        echo "container.sh: first argument must be --netns NS" >&2
        exit 2
    fi
    netns=$2
    shift 2
    exec ip netns exec "$netns" unshare --mount --propagation private env DVM_CONTAINER_INNER=1 "$0" "$@"
fi

user="" caps="" envs=() binds=() tmpfss=()
while [ $# -gt 0 ]; do
    case $1 in
        --user) user=$2; shift 2 ;;
        --caps) caps=$2; shift 2 ;;
        --ro) binds+=("ro:$2"); shift 2 ;;
        --rw) binds+=("rw:$2"); shift 2 ;;
        --tmpfs) tmpfss+=("$2"); shift 2 ;;
        --env) envs+=("$2"); shift 2 ;;
        --) shift; break ;;
        *) echo "container.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ $# -gt 0 ] || { echo "container.sh: no command after --" >&2; exit 2; }

# the PVC roots are private tmpfs directories, so per-PVC mount points need no directory on the host
mount -t tmpfs -o size=1m,mode=0755 dvm-pvcs /mnt/source
mount -t tmpfs -o size=1m,mode=0755 dvm-pvcs /mnt/target
for b in "${binds[@]}"; do
    mode=${b%%:*} rest=${b#*:}
    host=${rest%%:*} cpath=${rest#*:}
    [ -e "$cpath" ] || mkdir -p "$cpath"
    mount --bind "$host" "$cpath"
    [ "$mode" = ro ] && mount -o remount,bind,ro "$cpath"
done
for t in "${tmpfss[@]}"; do
    cpath=${t%%:*} size=${t#*:}
    mkdir -p "$cpath"
    mount -t tmpfs -o "size=$size,mode=0777" dvm-small "$cpath"
done
mount -t tmpfs -o size=64m,mode=1777 dvm-tmp /tmp
# readOnlyRootFilesystem: true (components/security.ts) - only the volumes above stay writable
mount -o remount,bind,ro /

container_env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp LANG=C.UTF-8)
if [ -n "$user" ]; then
    IFS=: read -r uid gid supgid <<<"$user"
    exec setpriv --reuid="$uid" --regid="$gid" --groups="${supgid:-$gid}" --inh-caps=-all --bounding-set=-all \
        --no-new-privs env -i "${container_env[@]}" "${envs[@]}" "$@"
fi
if [ -n "$caps" ]; then
    bounding="-all"
    IFS=, read -ra list <<<"$caps"
    for c in "${list[@]}"; do bounding+=",+${c,,}"; done
    exec setpriv --bounding-set="$bounding" --inh-caps=-all --no-new-privs env -i "${container_env[@]}" "${envs[@]}" "$@"
fi
exec env -i "${container_env[@]}" "${envs[@]}" "$@"
