#!/usr/bin/env bash
# Makes one cluster's certificates with openssl (idempotent: existing files are kept).
# Usage: pki.sh src|dst
#   ca.{crt,key}              the cluster CA (signs every certificate below)
#   apiserver.{crt,key}       kube-apiserver serving: node address, service address, kubernetes.default.svc..., 127.0.0.1
#   kubelet.{crt,key}         kubelet serving: node address and name
#   apiserver-kubelet-client  kube-apiserver -> kubelet (logs, exec)
#   admin, controller-manager, scheduler, kubelet-client, kube-proxy: client certificates (CN/O = user/group)
#   sa.{key,pub}              service account token signing key
set -euo pipefail
# shellcheck source=hack/clusters/lib.sh
. "$(dirname "$0")/lib.sh"
cluster_vars "${1:?usage: hack/clusters/pki.sh src|dst}"

mkdir -p "$PKI"
chmod 700 "$PKI"
cd "$PKI"
DAYS=3650

key() { [ -s "$1.key" ] || openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null; chmod 600 "$1.key"; }

# cert NAME SUBJECT EXTENSIONS
cert() {
    local name=$1 subj=$2 ext=$3
    [ -s "$name.crt" ] && return 0
    key "$name"
    openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
    printf '%s\n' "$ext" >"$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$DAYS" -sha256 \
        -extfile "$name.ext" -out "$name.crt" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
}

if [ ! -s ca.crt ]; then
    key ca
    openssl req -x509 -new -key ca.key -subj "/CN=dvm-$CLUSTER-ca" -days "$DAYS" -sha256 -out ca.crt \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

SERVER="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth"
CLIENT="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

cert apiserver "/CN=kube-apiserver" "$SERVER
subjectAltName=IP:$NODE_ADDR,IP:$API_SERVICE_IP,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert kubelet "/CN=$NODE_NAME" "$SERVER
subjectAltName=IP:$NODE_ADDR,DNS:$NODE_NAME"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$CLIENT"
cert admin "/O=system:masters/CN=dvm-admin" "$CLIENT"
cert controller-manager "/CN=system:kube-controller-manager" "$CLIENT"
cert scheduler "/CN=system:kube-scheduler" "$CLIENT"
cert kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" "$CLIENT"
cert kube-proxy "/CN=system:kube-proxy" "$CLIENT"

if [ ! -s sa.key ]; then
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 600 sa.key
fi
