#!/usr/bin/env bash
# Brings up the local pair of real Kubernetes clusters "src" and "dst" (idempotent: running parts are kept).
# See hack/clusters/lib.sh for the layout. Kubeconfigs: $DVM_CACHE/clusters/{src,dst}/kubeconfig.
# Usage: up.sh [src|dst ...]  (default: both)
set -euo pipefail
# shellcheck source=hack/clusters/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || die "clusters-up needs root (network namespaces, cgroups, containerd)"
clusters_lock
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${CLUSTERS[@]}")
for n in "${names[@]}"; do cluster_vars "$n" >/dev/null; done
t0=$SECONDS

log "packages (Debian): containerd runc CNI plugins etcd iptables umoci debootstrap"
bash "$REPO_ROOT/hack/ensure-packages.sh" containerd runc containernetworking-plugins etcd-server iptables \
    conntrack umoci debootstrap openssl util-linux procps iproute2
bash "$REPO_ROOT/hack/clusters/build.sh"
bash "$REPO_ROOT/hack/clusters/images.sh" build
ETCD=$(command -v etcd || echo /usr/bin/etcd)
[ -x "$ETCD" ] || die "etcd binary not found after installing etcd-server"
CNI_BIN=/usr/lib/cni
[ -x "$CNI_BIN/bridge" ] || die "CNI plugins not found in $CNI_BIN"

mkdir -p "$CLUSTERS_DIR" "$CLUSTERS_RUN"

# --- host: sysctls the kubelet and kube-proxy change are saved once and restored by clusters-down -------------------
HOST_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
    kernel.keys.root_maxbytes net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
    net.netfilter.nf_conntrack_max fs.inotify.max_user_instances fs.inotify.max_user_watches)
if [ ! -s "$CLUSTERS_DIR/host-sysctls" ]; then
    for s in "${HOST_SYSCTLS[@]}"; do
        v=$(sysctl -n "$s" 2>/dev/null) && printf '%s=%s\n' "$s" "$v"
    done >"$CLUSTERS_DIR/host-sysctls.tmp"
    mv "$CLUSTERS_DIR/host-sysctls.tmp" "$CLUSTERS_DIR/host-sysctls"
fi

# --- host bridge (no uplink, no forwarding to the outside) ----------------------------------------------------------
if ! ip link show "$HOST_BRIDGE" >/dev/null 2>&1; then
    ip link add "$HOST_BRIDGE" type bridge
    ip addr add "$HOST_BRIDGE_ADDR/$NODE_PREFIX" dev "$HOST_BRIDGE"
fi
ip link set "$HOST_BRIDGE" up

# start_proc NAME CMD...: start CMD in the cluster's netns as its own session, unless NAME already runs.
start_proc() {
    local name=$1; shift
    local pidf=$DIR/pids/$name.pid
    mkdir -p "$DIR/pids" "$DIR/logs"
    if [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then return 0; fi
    # nsenter and setsid exec the program: the pid of this background job is the program's own pid
    # the daemons outlive this run: they must not hold the clusters lock
    nsenter --net="/run/netns/$NETNS" -- setsid "$@" >>"$DIR/logs/$name.log" 2>&1 </dev/null {CLUSTERS_LOCK_FD}>&- &
    echo $! >"$pidf"
}

# put FILE: write stdin to FILE only when the content differs (kube-proxy exits when its config file changes, so a
# second clusters-up must leave unchanged files alone)
put() {
    local f=$1 t
    t=$(mktemp "$f.XXXXXX")
    cat >"$t"
    if cmp -s "$t" "$f"; then rm -f "$t"; else chmod 600 "$t"; mv "$t" "$f"; fi
}

# write_kubeconfig FILE CERT-NAME [SERVER]
write_kubeconfig() {
    local file=$1 who=$2 server=${3:-$API_URL}
    put "$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: dvm-$CLUSTER
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
- name: dvm-$CLUSTER-$who
  user:
    client-certificate-data: $(base64 -w0 <"$PKI/$who.crt")
    client-key-data: $(base64 -w0 <"$PKI/$who.key")
contexts:
- name: dvm-$CLUSTER
  context:
    cluster: dvm-$CLUSTER
    user: dvm-$CLUSTER-$who
current-context: dvm-$CLUSTER
EOF
}

setup_netns() {
    if ! ip netns list | grep -qw "$NETNS"; then
        ip netns add "$NETNS"
    fi
    if ! ip link show "$VETH_HOST" >/dev/null 2>&1; then
        ip link add "$VETH_HOST" type veth peer name eth0 netns "$NETNS"
        ip link set "$VETH_HOST" master "$HOST_BRIDGE" up
        in_ns ip addr add "$NODE_ADDR/$NODE_PREFIX" dev eth0
    fi
    in_ns ip link set lo up
    in_ns ip link set eth0 up
    # per-namespace: forwarding for the pod bridge; bridged pod traffic through iptables for services
    in_ns sysctl -qw net.ipv4.ip_forward=1
    in_ns sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
}

setup_cgroups() {
    # kubelet (cgroupfs driver) requires its --cgroup-root to exist in every v1 hierarchy it uses
    local mnt
    while read -r mnt; do
        mkdir -p "$mnt$CGROUP_ROOT"
        if [ -e "$mnt/cpuset.cpus" ]; then
            [ -n "$(cat "$mnt$CGROUP_ROOT/cpuset.cpus")" ] || cat "$mnt/cpuset.cpus" >"$mnt$CGROUP_ROOT/cpuset.cpus"
            [ -n "$(cat "$mnt$CGROUP_ROOT/cpuset.mems")" ] || cat "$mnt/cpuset.mems" >"$mnt$CGROUP_ROOT/cpuset.mems"
        fi
    done < <(awk '$3 == "cgroup" {print $2}' /proc/mounts)
    if [ -z "$(awk '$3 == "cgroup" {print $2}' /proc/mounts)" ] && grep -q ' cgroup2 ' /proc/mounts; then
        mkdir -p "/sys/fs/cgroup$CGROUP_ROOT"
    fi
}

write_configs() {
    local c=$DIR/config
    mkdir -p "$c" "$DIR/cni/net.d" "$DIR/volumes" "$DIR/pod-logs" "$RUN"
    write_kubeconfig "$KUBECONFIG_FILE" admin
    write_kubeconfig "$c/controller-manager.kubeconfig" controller-manager "https://127.0.0.1:$API_PORT"
    write_kubeconfig "$c/scheduler.kubeconfig" scheduler "https://127.0.0.1:$API_PORT"
    write_kubeconfig "$c/kubelet.kubeconfig" kubelet-client "https://127.0.0.1:$API_PORT"
    write_kubeconfig "$c/kube-proxy.kubeconfig" kube-proxy "https://127.0.0.1:$API_PORT"

    put "$c/containerd.toml" <<EOF
version = 2
root = "$DIR/containerd"
state = "$RUN/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$RUN/containerd.ttrpc.sock"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  enable_selinux = false
  max_container_log_line_size = 16384
  netns_mounts_under_state_dir = true
  # this machine grants no CAP_SYS_RESOURCE: never ask for an oom_score_adj below containerd's own
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN"
    conf_dir = "$DIR/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$RUN/runc"
        SystemdCgroup = false
EOF

    put "$DIR/cni/net.d/10-dvm.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "dvm-$CLUSTER",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$POD_BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$DIR/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$POD_GW"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF

    put "$c/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_ADDR
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet.crt
tlsPrivateKeyFile: $PKI/kubelet.key
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
failSwapOn: false
failCgroupV1: false
podLogsDir: $DIR/pod-logs
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
maxPods: 60
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
rotateCertificates: false
serverTLSBootstrap: false
registerNode: true
syncFrequency: 10s
EOF

    put "$c/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
oomScoreAdj: 0
mode: iptables
clientConnection: {kubeconfig: $c/kube-proxy.kubeconfig}
hostnameOverride: $NODE_NAME
bindAddress: $NODE_ADDR
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$NODE_ADDR/32"]
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
}

api_ready() { kc get --raw /readyz >/dev/null; }

start_control_plane() {
    start_proc etcd "$ETCD" --name "dvm-$CLUSTER" --data-dir "$DIR/etcd" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster "dvm-$CLUSTER=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "" \
        --quota-backend-bytes 2147483648 --snapshot-count 10000
    wait_for 60 "etcd of $CLUSTER" in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$ETCD_PORT" || die "etcd did not start: $DIR/logs/etcd.log"

    start_proc kube-apiserver "$K8S_BIN/kube-apiserver" \
        --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
        --advertise-address "$NODE_ADDR" --bind-address 0.0.0.0 --secure-port "$API_PORT" \
        --service-cluster-ip-range "$SERVICE_CIDR" --service-node-port-range "$NODEPORT_RANGE" \
        --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
        --client-ca-file "$PKI/ca.crt" \
        --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
        --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
        --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP \
        --service-account-issuer "https://kubernetes.default.svc" \
        --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
        --authorization-mode Node,RBAC --allow-privileged=true \
        --enable-admission-plugins NodeRestriction \
        --profiling=false --event-ttl 30m
    wait_for 120 "kube-apiserver of $CLUSTER" api_ready || die "kube-apiserver did not become ready: $DIR/logs/kube-apiserver.log"

    start_proc kube-controller-manager "$K8S_BIN/kube-controller-manager" \
        --kubeconfig "$DIR/config/controller-manager.kubeconfig" \
        --authentication-kubeconfig "$DIR/config/controller-manager.kubeconfig" \
        --authorization-kubeconfig "$DIR/config/controller-manager.kubeconfig" \
        --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
        --root-ca-file "$PKI/ca.crt" --service-account-private-key-file "$PKI/sa.key" \
        --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
        --controllers '*,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller' --profiling=false
    start_proc kube-scheduler "$K8S_BIN/kube-scheduler" \
        --kubeconfig "$DIR/config/scheduler.kubeconfig" \
        --authentication-kubeconfig "$DIR/config/scheduler.kubeconfig" \
        --authorization-kubeconfig "$DIR/config/scheduler.kubeconfig" \
        --bind-address 127.0.0.1 --leader-elect=false --profiling=false
}

containerd_ready() { ctr --address "$CONTAINERD_SOCK" version; }

import_images() {
    local kind ref archive have
    have=$(ctr --address "$CONTAINERD_SOCK" -n k8s.io images ls -q 2>/dev/null || true)
    while read -r kind ref archive; do
        [ -s "$archive" ] || die "image archive missing: $archive (hack/clusters/images.sh build)"
        # re-import when the archive changed (its path carries the cache key)
        local stamp=$DIR/images/$kind.imported
        mkdir -p "$DIR/images"
        if grep -qx "$ref" <<<"$have" && [ "$(cat "$stamp" 2>/dev/null)" = "$archive digests" ]; then continue; fi
        log "$CLUSTER: importing $ref"
        # --digests: also as <name>@sha256:<manifest digest>, so pods can name the image pinned by digest (the policy
        # pack's transfer-image-pinned) and the kubelet finds it without a registry
        ctr --address "$CONTAINERD_SOCK" -n k8s.io images import --digests --base-name "${ref%:*}" "$archive" >/dev/null
        grep -qx "$ref" <<<"$(ctr --address "$CONTAINERD_SOCK" -n k8s.io images ls -q)" \
            || die "$CLUSTER: $ref not present in containerd after import"
        echo "$archive digests" >"$stamp"
    done < <(bash "$REPO_ROOT/hack/clusters/images.sh" paths)
}

start_node() {
    start_proc containerd containerd --config "$DIR/config/containerd.toml"
    wait_for 60 "containerd of $CLUSTER" containerd_ready || die "containerd did not start: $DIR/logs/containerd.log"
    import_images
    start_proc kubelet "$K8S_BIN/kubelet" --config "$DIR/config/kubelet.yaml" \
        --kubeconfig "$DIR/config/kubelet.kubeconfig" --root-dir "$DIR/kubelet" \
        --hostname-override "$NODE_NAME" --node-ip "$NODE_ADDR" --v 1
    start_proc kube-proxy "$K8S_BIN/kube-proxy" --config "$DIR/config/kube-proxy.yaml"
}

node_ready() {
    [ "$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

for n in "${names[@]}"; do
    cluster_vars "$n"
    log "$CLUSTER: network namespace $NETNS, node $NODE_ADDR, API $API_URL"
    setup_netns
    setup_cgroups
    bash "$REPO_ROOT/hack/clusters/pki.sh" "$CLUSTER"
    write_configs
    start_control_plane
    start_node
done
for n in "${names[@]}"; do
    cluster_vars "$n"
    wait_for 180 "node $NODE_NAME Ready" node_ready || die "$CLUSTER: node not Ready; logs in $DIR/logs (kubelet.log)"
    wait_for 60 "default service account in $CLUSTER" kc get serviceaccount default -n default \
        || die "$CLUSTER: no default service account; see $DIR/logs/kube-controller-manager.log"
    bash "$REPO_ROOT/hack/clusters/storage.sh" "$CLUSTER"
    log "$CLUSTER: ready (kubeconfig $KUBECONFIG_FILE)"
done
# one file with both contexts (dvm-src, dvm-dst): what stacks/Pulumi.local.yaml names
files=()
for n in "${CLUSTERS[@]}"; do cluster_vars "$n"; [ -s "$KUBECONFIG_FILE" ] && files+=("$KUBECONFIG_FILE"); done
KUBECONFIG=$(IFS=:; echo "${files[*]}") "$K8S_BIN/kubectl" config view --flatten >"$CLUSTERS_DIR/kubeconfig.tmp"
chmod 600 "$CLUSTERS_DIR/kubeconfig.tmp"
mv "$CLUSTERS_DIR/kubeconfig.tmp" "$CLUSTERS_DIR/kubeconfig"
log "clusters up in $((SECONDS - t0))s: ${names[*]} (both contexts: KUBECONFIG=$CLUSTERS_DIR/kubeconfig)"
