#!/usr/bin/env bash
# make bench: throughput and CPU of the generated data plane against its limits (iperf3 bare and through stunnel, a
# big-buffer tar | socat pipe, reading the source) and MTC's default configuration on the
# data-plane tier's network-namespace host pair, CPU of the waiting loops and stunnel, and the program's scale under
# Pulumi mocks. Writes bench/results.json, bench/results.md, bench/throughput.png and prints the table.
# Sizes and repetitions: see bench/run.ts (DVM_BENCH_*). Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ] && [ "${DVM_BENCH_ONLY:-}" != scale ]; then
    echo "bench: the data-plane benchmark needs root (network namespaces, mounts); run it as root or with DVM_BENCH_ONLY=scale" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    bash hack/ensure-packages.sh rsync stunnel4 iperf3 socat iproute2 openssl util-linux tar gnuplot-nox
fi
echo "bench: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
start=$SECONDS
# the benchmark's own arithmetic first (medians, ratios, targets, the README block): seconds
node_modules/.bin/mocha --no-config -r ts-node/register/transpile-only --extension ts --reporter dot bench/bench.test.ts
node -r ts-node/register/transpile-only bench/run.ts
echo "bench: finished in $(( SECONDS - start ))s" >&2
