#!/usr/bin/env bash
# make demo: the local cluster pair (built on first use), sample data in two source namespaces, one wave through
# `pulumi up` with the live progress view, then the status table and how to point a stack at your own clusters.
# Runs as root (network namespaces, containerd). State: $DVM_CACHE/demo (Pulumi file backend, project copy).
#   DVM_DEMO_PASSPHRASE   passphrase of the demo stack's secrets (default: a fixed demo-only one)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/clusters/lib.sh
. hack/clusters/lib.sh

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
DEMO=$DVM_CACHE/demo
STACK=local
t0=$SECONDS

[ "$(id -u)" -eq 0 ] || die "make demo needs root (it runs two Kubernetes nodes in network namespaces)"
# one run at a time on the machine-wide clusters (see hack/e2e.sh)
clusters_lock

say "1/5  Two local Kubernetes clusters (src, dst): Kubernetes $K8S_VERSION from its Go module, Debian's etcd,"
echo "     containerd, runc and CNI plugins. The first run builds them (about 10 minutes on 2 cores)."
bash hack/clusters/up.sh
export KUBECONFIG=$CLUSTERS_DIR/kubeconfig

say "2/5  The Pulumi engine, Node.js language host and Kubernetes provider (first use: built from Go modules, ~25 min)"
bash hack/toolchain.sh >/dev/null
eval "$(bash hack/toolchain-env.sh)"
echo "     pulumi $(pulumi version) in $DVM_TOOLCHAIN_BIN"

say "3/5  Sample data in the source cluster: namespaces demo-shop and demo-wiki"
seed() {  # seed NS PVC: a PVC on the src cluster with sample files written into its local volume
    local ns=$1 pvc=$2 vol dir
    cluster_vars src
    kc create namespace "$ns" --dry-run=client -o yaml | kc apply -f - >/dev/null
    kc -n "$ns" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $pvc}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: $STORAGE_CLASS
  resources: {requests: {storage: 1Gi}}
EOF
    wait_for 60 "$ns/$pvc to bind" bash -c "[ \"\$('$K8S_BIN/kubectl' --kubeconfig '$KUBECONFIG_FILE' -n '$ns' get pvc '$pvc' -o jsonpath='{.status.phase}')\" = Bound ]" \
        || die "$ns/$pvc did not bind"
    vol=$(kc -n "$ns" get pvc "$pvc" -o jsonpath='{.spec.volumeName}')
    dir=$(kc get pv "$vol" -o jsonpath='{.spec.local.path}')
    if [ -e "$dir/.dvm-demo-seeded" ]; then
        echo "     $ns/$pvc: already seeded ($(du -sh "$dir" | cut -f1))"
        return 0
    fi
    local i
    for i in $(seq 1 40); do
        mkdir -p "$dir/records/$((i % 8))"
        head -c $((i * 3000)) /dev/urandom >"$dir/records/$((i % 8))/record-$i.bin"
        printf '%s record %d\n' "$ns" "$i" >"$dir/records/$((i % 8))/record-$i.txt"
    done
    head -c $((96 << 20)) /dev/urandom >"$dir/archive.bin"
    ln -s archive.bin "$dir/latest"
    ln "$dir/records/1/record-1.txt" "$dir/hardlink-to-record-1.txt"
    chmod -R a+rX "$dir"
    touch "$dir/.dvm-demo-seeded"
    echo "     $ns/$pvc: $(find "$dir" -type f | wc -l) files, $(du -sh "$dir" | cut -f1)"
}
seed demo-shop catalog-db
seed demo-shop product-images
seed demo-wiki pages

say "4/5  pulumi up: wave waves/local-demo.yaml, stack '$STACK' (live progress from the source cluster below)"
# the demo's stack state describes one incarnation of the clusters: after clusters-down/up, start it afresh
ids=""
for c in "${CLUSTERS[@]}"; do cluster_vars "$c"; ids+="$(kc get namespace kube-system -o jsonpath='{.metadata.uid}') "; done
if [ -d "$DEMO/state" ] && [ "$(cat "$DEMO/clusters-id" 2>/dev/null)" != "$ids" ]; then
    echo "     the clusters were recreated since the last demo: starting the demo stack afresh"
    rm -rf "$DEMO/state" "$DEMO/project/stacks"
fi
# a project copy, so the demo's stack file and state never land in the work tree
mkdir -p "$DEMO/project/stacks" "$DEMO/state"
echo "$ids" >"$DEMO/clusters-id"
for e in Pulumi.yaml package.json tsconfig.json index.ts contract kube config components progress waves policies bin; do
    rm -rf "${DEMO:?}/project/$e"
    cp -a "$e" "$DEMO/project/$e"
done
ln -sfn "$PWD/node_modules" "$DEMO/project/node_modules"
[ -e "$DEMO/project/stacks/Pulumi.$STACK.yaml" ] || cp hack/clusters/demo/Pulumi.local.yaml "$DEMO/project/stacks/Pulumi.$STACK.yaml"
export PULUMI_BACKEND_URL="file://$DEMO/state" PULUMI_CONFIG_PASSPHRASE=${DVM_DEMO_PASSPHRASE:-dvm-demo-only}
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true
cd "$DEMO/project"
if pulumi stack select "$STACK" --non-interactive >/dev/null 2>&1; then
    # the stack exists from an earlier demo: run the next (incremental) pass of the same wave
    pass=$(pulumi config get dvm:pass 2>/dev/null || echo 1)
    pulumi config set dvm:pass $((pass + 1)) >/dev/null
    echo "     stack '$STACK' exists: pass $((pass + 1)) of the wave (rsync sends only what changed)"
else
    pulumi stack init "$STACK" --non-interactive >/dev/null
fi
# the transfer image pinned by digest (the policy pack refuses a tag): the clusters import it under both names
digest=$(bash "$REPO_ROOT/hack/clusters/images.sh" digest)
pulumi config set dvm:transferImage "${TRANSFER_IMAGE%:*}@$digest" >/dev/null
log_file=$DEMO/pulumi-up.log
# a demo run that was interrupted leaves its lock behind (nothing else uses this state directory)
rm -rf "$DEMO/state/.pulumi/locks"
pulumi up --yes --skip-preview --non-interactive --stack "$STACK" \
    --policy-pack policies --policy-pack-config policies/config/root.json >"$log_file" 2>&1 &
up_pid=$!
# the live view: one bar per PVC on a terminal, plain lines otherwise; ends when pulumi up does
node bin/dvm.js watch --stack "$STACK" --interval 2 &
watch_pid=$!
up_rc=0
wait "$up_pid" || up_rc=$?
sleep 2
kill "$watch_pid" 2>/dev/null || true
wait "$watch_pid" 2>/dev/null || true
echo
grep -E '^(Resources:|    [+~-] |Duration:)' "$log_file" || true
if [ "$up_rc" -ne 0 ]; then
    tail -40 "$log_file"
    die "pulumi up failed (exit $up_rc); full log: $log_file"
fi

say "5/5  Status (dvm status, from the stack output 'migration')"
node bin/dvm.js status --stack "$STACK"

cat <<EOF

Done in $((SECONDS - t0))s. The data is now on the destination cluster:
  KUBECONFIG=$KUBECONFIG $K8S_BIN/kubectl --context dvm-dst get pvc -A

Point a stack at your own clusters instead (in this repository):
  pulumi stack init my-pair
  pulumi config set --secret --path dvm:source.kubeconfig "\$(cat ~/.kube/source.yaml)"
  pulumi config set --secret --path dvm:destination.kubeconfig "\$(cat ~/.kube/destination.yaml)"
  pulumi config set --path dvm:destination.endpoint.type loadBalancer   # or route, ingress, nodePort
  pulumi config set dvm:wave waves/wave-1.yaml                          # your wave file
  pulumi up --policy-pack policies     # add --policy-pack-config policies/config/root.json for runAsRoot
Examples: stacks/Pulumi.*.yaml; the demo's own stack: hack/clusters/demo/Pulumi.local.yaml.
Stop the local clusters: make clusters-down
EOF
