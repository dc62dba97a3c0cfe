#!/usr/bin/env bash
# Two image registries on loopback for the image-migration tests: Debian's docker-registry (the distribution
# registry), each with TLS from its own local CA and htpasswd (bcrypt) authentication.
#   bash hack/registries.sh up DIR SRC_PORT DST_PORT    start them (a running pair in DIR is stopped first)
#   bash hack/registries.sh down DIR                    stop them (DIR stays: the tests remove it)
#   bash hack/registries.sh stop|start DIR SIDE         stop one (src or dst), start it again as it was (an outage)
# For each side (src, dst) DIR/<side>/ holds ca.pem, user, password (0600), registry.log and data/; the registry
# listens on https://127.0.0.1:<port>. Test-only: the passwords are random and die with DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "registries: $*" >&2; exit 1; }
USER_NAME=dvm-test

stop_side() {
    local d=$1 pid
    [ -f "$d/pid" ] || return 0
    pid=$(cat "$d/pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$d/pid"
}

start_side() {
    local side=$1 port=$2 d=$3/$1
    mkdir -p "$d/data"
    chmod 0700 "$d"
    (
        umask 077
        cd "$d"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=dvm test $side CA" \
            -keyout ca.key -out ca.pem 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
            -keyout server.key -out server.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext \
            -out server.pem 2>/dev/null
        rm -f server.csr ca.key ca.srl
        openssl rand -hex 16 >password
        printf '%s\n' "$USER_NAME" >user
        # -i: the password comes from stdin, never the command line
        htpasswd -iBc htpasswd "$USER_NAME" <password 2>/dev/null
        cat >config.yml <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $d/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: $(openssl rand -hex 16)
  tls:
    certificate: $d/server.pem
    key: $d/server.key
auth:
  htpasswd:
    realm: dvm-test-$side
    path: $d/htpasswd
EOF
    )
    echo "$port" >"$d/port"
    : >"$d/registry.log"
    serve_side "$d" "$side"
}

# serve_side DIR SIDE: run the registry of an existing DIR/<side> and wait until it answers
serve_side() {
    local d=$1 side=$2 port code
    port=$(cat "$d/port")
    setsid docker-registry serve "$d/config.yml" >>"$d/registry.log" 2>&1 </dev/null &
    echo $! >"$d/pid"
    for _ in $(seq 100); do
        # 401 = up, TLS fine, authentication required
        code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$d/ca.pem" "https://127.0.0.1:$port/v2/" || true)
        [ "$code" = 401 ] && return 0
        kill -0 "$(cat "$d/pid")" 2>/dev/null || { cat "$d/registry.log" >&2; die "the $side registry exited"; }
        sleep 0.1
    done
    cat "$d/registry.log" >&2
    die "the $side registry did not answer on 127.0.0.1:$port"
}

case "${1:-}" in
    up)
        [ $# -eq 4 ] || die "usage: hack/registries.sh up DIR SRC_PORT DST_PORT"
        bash hack/ensure-packages.sh docker-registry apache2-utils openssl curl skopeo jq
        dir=$(realpath -m "$2")
        mkdir -p "$dir"
        stop_side "$dir/src"; stop_side "$dir/dst"
        start_side src "$3" "$dir"
        start_side dst "$4" "$dir"
        echo "registries: src https://127.0.0.1:$3, dst https://127.0.0.1:$4 (user $USER_NAME; $dir)"
        ;;
    down)
        [ $# -eq 2 ] || die "usage: hack/registries.sh down DIR"
        stop_side "$2/src"; stop_side "$2/dst"
        ;;
    stop|start)
        if [ $# -ne 3 ] || ! [[ $3 =~ ^(src|dst)$ ]]; then die "usage: hack/registries.sh $1 DIR src|dst"; fi
        [ -f "$2/$3/config.yml" ] || die "no $3 registry in $2 (hack/registries.sh up first)"
        stop_side "$2/$3"
        [ "$1" = stop ] || serve_side "$2/$3" "$3"
        ;;
    *) die "usage: hack/registries.sh up DIR SRC_PORT DST_PORT | down DIR | stop|start DIR src|dst" ;;
esac
