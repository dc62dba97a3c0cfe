#!/usr/bin/env bash
# Tears the local cluster pair down: pods, processes (only those whose pid files this tooling wrote, plus the shims of
# its own containerd), mounts, cgroups, network namespaces, the host bridge and the saved host sysctls; then removes
# the cluster state. Safe to run when nothing is up. Usage: down.sh [src|dst ...]  (default: both)
set -euo pipefail
# shellcheck source=hack/clusters/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || die "clusters-down needs root"
# never under a run that still uses the clusters: wait for it
clusters_lock
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${CLUSTERS[@]}")
for n in "${names[@]}"; do cluster_vars "$n" >/dev/null; done

# stop_procs NAME...: TERM (then KILL after 15s) the processes of those pid files that still are the programs we
# started (the command line must name the program), all at once
stop_procs() {
    local name pidf pid pids=()
    for name in "$@"; do
        pidf=$DIR/pids/$name.pid
        [ -s "$pidf" ] || continue
        pid=$(cat "$pidf")
        if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$name"; then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
        rm -f "$pidf"
    done
    local deadline=$((SECONDS + 15)) alive
    while :; do
        alive=()
        for pid in "${pids[@]}"; do
            # a zombie has exited: only its parent's reaping is left
            [ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] && alive+=("$pid")
        done
        [ ${#alive[@]} -eq 0 ] && return 0
        [ $SECONDS -ge $deadline ] && break
        sleep 0.2
    done
    kill -KILL "${alive[@]}" 2>/dev/null || true
}

containerd_up() { [ -S "$CONTAINERD_SOCK" ] && ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1; }

# the shims of this cluster's containerd: their command line names its socket
own_shims() {
    local p
    for p in /proc/[0-9]*; do
        [ -r "$p/cmdline" ] || continue
        if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q "containerd-shim.* -address $CONTAINERD_SOCK"; then
            echo "${p#/proc/}"
        fi
    done
}

teardown() {
    local ns_paths=() id path pid
    # no controller may replace what is stopped below
    stop_procs kube-controller-manager kube-scheduler
    if [ -s "$KUBECONFIG_FILE" ] && [ -x "$K8S_BIN/kubectl" ] && kc get --raw /readyz >/dev/null 2>&1 \
        && [ -s "$DIR/pids/kubelet.pid" ]; then
        # let the kubelet stop every pod: it tears down pod networks (CNI DEL) and unmounts volumes
        kc delete pods --all --all-namespaces --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
        local deadline=$((SECONDS + 30))
        while [ $SECONDS -lt $deadline ] && containerd_up \
            && grep -q RUNNING <<<"$(ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks ls 2>/dev/null)"; do
            sleep 1
        done
    fi
    stop_procs kube-proxy kubelet
    if containerd_up; then
        # whatever is left: kill the tasks, note their pod network namespaces
        for id in $(ctr --address "$CONTAINERD_SOCK" -n k8s.io containers ls -q 2>/dev/null); do
            path=$(ctr --address "$CONTAINERD_SOCK" -n k8s.io containers info "$id" 2>/dev/null \
                | grep -o '"path": *"/[a-z/]*netns/cni-[0-9a-f-]*"' | sed 's/.*"\(\/.*\)"/\1/' || true)
            [ -n "$path" ] && ns_paths+=("$path")
            ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
        done
        sleep 1
        for id in $(ctr --address "$CONTAINERD_SOCK" -n k8s.io containers ls -q 2>/dev/null); do
            ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1 || true
            ctr --address "$CONTAINERD_SOCK" -n k8s.io containers delete "$id" >/dev/null 2>&1 || true
        done
    fi
    for pid in $(own_shims); do kill -KILL "$pid" 2>/dev/null || true; done
    stop_procs containerd
    stop_procs kube-apiserver
    stop_procs etcd
    for path in "${ns_paths[@]}"; do
        if [ -e "$path" ]; then umount "$path" 2>/dev/null || true; rm -f "$path"; fi
    done
    # every mount under this cluster's directories (volumes, overlay snapshots, shm), deepest first
    local m
    while IFS= read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done < <(awk '{print $2}' /proc/mounts | grep -E "^($DIR|$RUN)/" | sort -r)
    # cgroups of the cluster, deepest first
    while read -r mnt; do
        [ -d "$mnt$CGROUP_ROOT" ] || continue
        find "$mnt$CGROUP_ROOT" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done < <(awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/mounts)
    if ip netns list | grep -qw "$NETNS"; then ip netns delete "$NETNS" || true; fi
    ip link delete "$VETH_HOST" >/dev/null 2>&1 || true
    rm -rf "$RUN" "$DIR"
}

for n in "${names[@]}"; do
    cluster_vars "$n"
    log "$CLUSTER: tearing down"
    teardown
done

# last cluster gone: host bridge, saved sysctls
left=0
for n in "${CLUSTERS[@]}"; do cluster_vars "$n"; [ -d "$DIR" ] && left=1; done
if [ $left -eq 0 ]; then
    ip link delete "$HOST_BRIDGE" >/dev/null 2>&1 || true
    if [ -s "$CLUSTERS_DIR/host-sysctls" ]; then
        while IFS= read -r kv; do sysctl -qw "$kv" >/dev/null 2>&1 || true; done <"$CLUSTERS_DIR/host-sysctls"
        rm -f "$CLUSTERS_DIR/host-sysctls"
    fi
    rm -f "$CLUSTERS_DIR/kubeconfig"
    rmdir "$CLUSTERS_RUN" 2>/dev/null || true
fi
log "down: ${names[*]}"
