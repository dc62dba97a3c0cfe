#!/usr/bin/env bash
# Local PersistentVolumes (one directory each under the cluster's state) and their StorageClass, so PVCs bind.
# Idempotent; volumes left Released (their claim deleted) are wiped and made Available again.
# Usage: storage.sh src|dst
set -euo pipefail
# shellcheck source=hack/clusters/lib.sh
. "$(dirname "$0")/lib.sh"
cluster_vars "${1:?usage: hack/clusters/storage.sh src|dst}"

# Released/Failed volumes: delete the PV object, empty its directory; it is created anew below
while read -r pv phase; do
    case "$phase" in
        Released|Failed)
            kc delete pv "$pv" --wait=true >/dev/null
            dir=$DIR/volumes/${pv#"$CLUSTER"-}
            [ -d "$dir" ] && find "$dir" -mindepth 1 -delete ;;
    esac
done < <(kc get pv -l dvm.io/local-pv=true -o jsonpath='{range .items[*]}{.metadata.name} {.status.phase}{"\n"}{end}')

manifest=$DIR/config/storage.yaml
{
    cat <<YAML
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $STORAGE_CLASS
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
reclaimPolicy: Retain
YAML
    for i in $(seq -w 1 "$PV_COUNT"); do
        mkdir -p "$DIR/volumes/pv-$i"
        chmod 0777 "$DIR/volumes/pv-$i"
        cat <<YAML
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $CLUSTER-pv-$i
  labels: {dvm.io/local-pv: "true"}
spec:
  capacity: {storage: $PV_CAPACITY}
  accessModes: [ReadWriteOnce, ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: $STORAGE_CLASS
  volumeMode: Filesystem
  local: {path: $DIR/volumes/pv-$i}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [$NODE_NAME]}
YAML
    done
} >"$manifest"
kc apply -f "$manifest" >/dev/null
