#!/usr/bin/env bash
# Smoke test of a running cluster pair (make clusters-up first):
#   - a PVC binds in each cluster and a pod writes to and reads from it;
#   - a pod in src running the transfer image runs rsync --version and stunnel -version;
#   - that pod reaches a NodePort service in dst (a listener in a dst pod, also the transfer image).
# Cleans up after itself; exits non-zero with the reason when a check fails.
set -euo pipefail
# shellcheck source=hack/clusters/lib.sh
. "$(dirname "$0")/lib.sh"
clusters_lock

NS=dvm-smoke
NODEPORT=32080
TOKEN=dvm-smoke-$RANDOM$RANDOM
t0=$SECONDS

on() { cluster_vars "$1"; }
fail() {
    local c
    for c in "${CLUSTERS[@]}"; do
        on "$c"
        echo "--- $c: pods/pvcs in $NS" >&2
        kc -n "$NS" get pods,pvc,svc -o wide >&2 2>&1 || true
        kc -n "$NS" describe pods >&2 2>&1 | tail -40 || true
    done
    die "smoke: $*"
}

cleanup() {
    local c
    for c in "${CLUSTERS[@]}"; do
        on "$c"
        kc delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
    done
}
trap cleanup EXIT

for c in "${CLUSTERS[@]}"; do
    on "$c"
    [ -s "$KUBECONFIG_FILE" ] || die "no kubeconfig at $KUBECONFIG_FILE: run 'make clusters-up' first"
    kc get --raw /readyz >/dev/null || die "$c: API server $API_URL not ready: run 'make clusters-up'"
    if kc get namespace "$NS" >/dev/null 2>&1; then
        kc delete namespace "$NS" --wait=true --timeout=120s >/dev/null
    fi
    kc create namespace "$NS" >/dev/null
    wait_for 30 "default service account in $c/$NS" kc -n "$NS" get serviceaccount default
done

# dst: a listener behind a NodePort, and a PVC written by the listener pod
on dst
DST_NODE=$NODE_ADDR
kc -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: $STORAGE_CLASS
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: listener, labels: {app: listener}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: listener
    image: $TRANSFER_IMAGE
    imagePullPolicy: IfNotPresent
    command: [/bin/bash, -c]
    args:
    - |
      echo "$TOKEN" > /data/token && cat /data/token
      while true; do cat /data/token | nc -N -l 8080 >/dev/null; done
    ports: [{containerPort: 8080}]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
---
apiVersion: v1
kind: Service
metadata: {name: listener}
spec:
  type: NodePort
  selector: {app: listener}
  ports: [{port: 8080, targetPort: 8080, nodePort: $NODEPORT}]
EOF
pvc_bound() { [ "$(kc -n "$NS" get pvc "$1" -o jsonpath='{.status.phase}')" = Bound ]; }
wait_for 60 "dst PVC to bind" pvc_bound data || fail "dst PVC 'data' did not bind"
kc -n "$NS" wait pod/listener --for=condition=Ready --timeout=120s >/dev/null || fail "dst listener pod not Ready"
echo "smoke: dst PVC bound to $(kc -n "$NS" get pvc data -o jsonpath='{.spec.volumeName}'), listener Ready" >&2

# src: the transfer image's tools, and the dst NodePort from a src pod; the pod also writes a src PVC
on src
kc -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: $STORAGE_CLASS
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: $TRANSFER_IMAGE
    imagePullPolicy: IfNotPresent
    command: [/bin/bash, -c]
    args:
    - |
      set -eu
      rsync --version | head -1
      stunnel -version 2>&1 | grep -m1 -i '^stunnel'
      got=\$(nc -w 10 $DST_NODE $NODEPORT </dev/null)
      echo "nodeport-reply: \$got"
      echo "\$got" > /data/reply
      [ "\$got" = "$TOKEN" ]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
EOF
wait_for 60 "src PVC to bind" pvc_bound data || fail "src PVC 'data' did not bind"
pod_done() { kc -n "$NS" get pod client -o jsonpath='{.status.phase}' | grep -qE '^(Succeeded|Failed)$'; }
wait_for 120 "src client pod to finish" pod_done || fail "src client pod did not finish"
logs=$(kc -n "$NS" logs client)
while IFS= read -r l; do echo "smoke: src pod: $l" >&2; done <<<"$logs"
phase=$(kc -n "$NS" get pod client -o jsonpath='{.status.phase}')
[ "$phase" = Succeeded ] || fail "src client pod $phase"
grep -q '^rsync  *version' <<<"$logs" || fail "rsync --version printed no version"
grep -qi '^stunnel' <<<"$logs" || fail "stunnel -version printed no version"
grep -qx "nodeport-reply: $TOKEN" <<<"$logs" || fail "src pod did not get the dst listener's token through NodePort $DST_NODE:$NODEPORT"
echo "smoke: passed in $((SECONDS - t0))s (src pod -> dst NodePort $DST_NODE:$NODEPORT, PVCs bound in both clusters)" >&2
