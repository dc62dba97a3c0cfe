#!/usr/bin/env bash
# Shared settings of the local cluster pair (sourced by hack/clusters/*.sh and by the runners that use the clusters:
# hack/e2e.sh, hack/bench-e2e.sh, hack/demo.sh).
#
# Each cluster is one "node": a network namespace (dvm-src / dvm-dst) joined to the host by a veth on the host bridge
# dvm-br0. Inside its namespace a cluster runs its own etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# containerd, kubelet and kube-proxy, so iptables rules, ports and the pod bridge of one cluster never meet the other's.
# The host reaches both API servers at their node addresses; nothing is routed off this machine (no default route in
# the namespaces, the host bridge has no uplink).
# shellcheck disable=SC2034  # variables are used by the scripts that source this file

DVM_CACHE=${DVM_CACHE:-$HOME/.cache/dvm}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

K8S_VERSION=v1.34.4
K8S_BIN=$DVM_CACHE/k8s/$K8S_VERSION-$(go env GOVERSION 2>/dev/null || echo go)/bin
# State of the running pair: certificates, kubeconfigs, etcd data, containerd and kubelet roots, logs, pid files.
CLUSTERS_DIR=${DVM_CLUSTERS_DIR:-$DVM_CACHE/clusters}
# Runtime sockets (short paths: unix socket paths are limited to 108 bytes).
CLUSTERS_RUN=/run/dvm-clusters

CLUSTERS=(src dst)
HOST_BRIDGE=dvm-br0
HOST_BRIDGE_ADDR=10.213.0.1
NODE_PREFIX=24

# Images every containerd gets (no registry exists: they are imported from OCI layouts).
PAUSE_IMAGE=dvm.local/pause:3.10
TRANSFER_IMAGE=dvm.local/dvm-transfer:bookworm
STORAGE_CLASS=dvm-local
PV_COUNT=${DVM_PV_COUNT:-24}
PV_CAPACITY=10Gi

# cluster_vars NAME: sets the per-cluster values (addresses, ports, CIDRs, paths).
cluster_vars() {
    local name=$1
    case "$name" in
        src)
            NODE_ADDR=10.213.0.11; API_PORT=6443; ETCD_PORT=2379; ETCD_PEER_PORT=2380
            POD_CIDR=10.213.32.0/20; POD_GW=10.213.32.1; SERVICE_CIDR=10.213.128.0/24; API_SERVICE_IP=10.213.128.1
            KUBELET_PORT=10250; NODEPORT_RANGE=30000-31999 ;;
        dst)
            NODE_ADDR=10.213.0.12; API_PORT=7443; ETCD_PORT=3379; ETCD_PEER_PORT=3380
            POD_CIDR=10.213.48.0/20; POD_GW=10.213.48.1; SERVICE_CIDR=10.213.144.0/24; API_SERVICE_IP=10.213.144.1
            KUBELET_PORT=10350; NODEPORT_RANGE=32000-32767 ;;
        *) echo "clusters: unknown cluster '$name' (valid: src, dst)" >&2; return 2 ;;
    esac
    CLUSTER=$name
    NETNS=dvm-$name
    NODE_NAME=dvm-$name
    VETH_HOST=dvm-$name-h
    POD_BRIDGE=dvm-$name-br
    CGROUP_ROOT=/dvm-$name
    DIR=$CLUSTERS_DIR/$name
    PKI=$DIR/pki
    RUN=$CLUSTERS_RUN/$name
    CONTAINERD_SOCK=$RUN/containerd.sock
    KUBECONFIG_FILE=$DIR/kubeconfig
    API_URL=https://$NODE_ADDR:$API_PORT
}

log() { printf '%s clusters: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf 'clusters: error: %s\n' "$*" >&2; exit 1; }

# The pair is one machine-wide resource (network namespaces, the host bridge, /run/dvm-clusters, fixed addresses and
# ports), whatever the cache or the checkout: a run that brings it up, tears it down or uses it holds this lock.
CLUSTERS_LOCK=${DVM_CLUSTERS_LOCK:-/run/dvm-clusters.lock}
CLUSTERS_LOCK_FD=7

# clusters_lock: take the lock for the rest of this process (and its children), waiting while another run holds it.
# A child of the holder inherits the descriptor (the same lock) and passes at once. Processes that outlive the run
# (the cluster daemons) must not inherit it: start them with {CLUSTERS_LOCK_FD}>&-.
clusters_lock() {
    if [ "$(readlink "/proc/$$/fd/$CLUSTERS_LOCK_FD" 2>/dev/null)" = "$CLUSTERS_LOCK" ] && flock -n "$CLUSTERS_LOCK_FD"; then
        return 0
    fi
    { exec 7>>"$CLUSTERS_LOCK"; } 2>/dev/null || die "cannot open the lock $CLUSTERS_LOCK (the local clusters need root)"
    if ! flock -n "$CLUSTERS_LOCK_FD"; then
        log "waiting: the local clusters are in use by $(cat "$CLUSTERS_LOCK" 2>/dev/null || echo 'another run') (lock $CLUSTERS_LOCK)"
        local start=$SECONDS
        until flock -w 60 "$CLUSTERS_LOCK_FD"; do
            log "still waiting for the local clusters ($((SECONDS - start))s): $(cat "$CLUSTERS_LOCK" 2>/dev/null)"
        done
        log "got the local clusters after $((SECONDS - start))s of waiting"
    fi
    # who holds it, for the message of the next run that waits (the file is only read while locked by someone)
    : >"$CLUSTERS_LOCK"
    printf '%s (pid %s, in %s, since %s UTC)\n' "${0##*/}" "$$" "$REPO_ROOT" "$(date -u +%H:%M:%S)" >&"$CLUSTERS_LOCK_FD"
}

# in_ns CMD...: run in the current cluster's network namespace. Only the network namespace: `ip netns exec` would
# also give each process a mount namespace of its own (with a fresh /sys), hiding the cgroup mounts from the kubelet
# and containerd's mounts from each other.
in_ns() { nsenter --net="/run/netns/$NETNS" -- "$@"; }

kc() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

# wait_for SECONDS DESCRIPTION CMD...: poll CMD until it succeeds.
wait_for() {
    local secs=$1 what=$2; shift 2
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ]; then
            log "timed out after ${secs}s waiting for $what"
            return 1
        fi
        sleep 1
    done
}
