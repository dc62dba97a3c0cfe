# dvm - every tier a make target. `make demo` and `make test` are the two commands the README starts with.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export DVM_CACHE ?= $(HOME)/.cache/dvm
export PULUMI_SKIP_UPDATE_CHECK := true
MOCHA := node_modules/.bin/mocha

.PHONY: all help deps build docs image unit typecheck shellcheck test dataplane engine e2e bench bench-e2e toolchain clusters-up clusters-down clusters-smoke demo watch status clean

all: unit

## help: this list (from the `## target:` lines of this Makefile)
help:
	@echo "dvm: make demo (the local clusters, one wave, live progress) and make test (every tier CI runs); all targets:"
	@awk '/^## [a-z0-9-]+:/ { t = substr($$2, 1, length($$2) - 1); sub(/^## [a-z0-9-]+: */, ""); printf "  %-15s %s\n", t, $$0 }' $(MAKEFILE_LIST)

## deps: node modules of the program and the policy pack (npm ci from the lock files)
deps: node_modules/.dvm-installed policies/node_modules/.dvm-installed

node_modules/.dvm-installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# policy pack (policies/): its own package.json and lock file; `pulumi --policy-pack policies` runs it from there
policies/node_modules/.dvm-installed: policies/package.json policies/package-lock.json
	cd policies && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## build: compile the program and the dvm CLI to build/ (npm run build; npm ci does it too)
build: deps build/cli/main.js

PRODUCT_TS := $(shell find index.ts contract config kube components progress cli -name '*.ts' 2>/dev/null)
build/cli/main.js: $(PRODUCT_TS) tsconfig.json tsconfig.build.json
	npm run --silent build
	@touch $@

## docs: regenerate the generated tables of docs/configuration.md (option tables) and docs/cli.md (access table)
docs: deps
	node -r ts-node/register/transpile-only hack/docs.ts

## image: dvm's transfer image (image/build.sh): an OCI archive to push with skopeo; prints its path and digest (root)
# debootstrap + umoci, no container daemon; cached under $(DVM_CACHE)/images/transfer-<key>/image.tar (image/README.md)
image:
	bash hack/ensure-packages.sh debootstrap umoci
	bash image/build.sh

## unit: the fast tier - type check, shellcheck, mocha: Pulumi mocks, the pack, bench/'s self-tests (~1 min)
unit: deps typecheck shellcheck
	$(MOCHA)

## typecheck: tsc --noEmit of the program, the tests and bench/, and of the policy pack
typecheck: deps
	node_modules/.bin/tsc --noEmit -p .
	policies/node_modules/.bin/tsc --noEmit -p policies

## shellcheck: every shell file of the repository (container scripts, hack/, .ci/run)
shellcheck:
	bash hack/ensure-packages.sh shellcheck
	bash hack/shellcheck.sh

## test: every tier CI runs - unit, dataplane, engine, e2e (root; ~6-10 min warm)
test: unit dataplane engine e2e

## dataplane: the container scripts and configs on real rsync and stunnel between two netns hosts (root; 2-4 min)
# (hack/dataplane.sh, test/dataplane/) integrity, security, faults. Bigger data:
# DVM_DATAPLANE_SMALL_FILES=30000 DVM_DATAPLANE_LARGE_MIB=1024 make dataplane
dataplane: deps
	bash hack/dataplane.sh

## bench: throughput and CPU vs the limits and MTC's defaults, program scale, end-to-end waves (root; < 20 min)
# (hack/bench.sh, bench/) the generated data plane vs iperf3, a tar|socat pipe and MTC's default configuration on the host
# pair, waiting-loop and stunnel CPU, program scale under mocks, then the end-to-end step (bench-e2e below) when the
# toolchain and the cluster binaries are built - DVM_BENCH_E2E=0/1/auto. Not in make test. Writes bench/results.json,
# bench/results.md, bench/throughput.png. Sizes: see bench/run.ts and bench/e2e.ts
bench: deps
	bash hack/bench.sh

## bench-e2e: only the end-to-end step of bench - waves through `pulumi up` between the local clusters (root; ~4 min)
# (hack/bench-e2e.sh, bench/e2e.ts) waves of 1 and 4 namespaces (clusters brought up and down again like make e2e):
# wave time vs the sum of the pure transfer times, time to first byte and where it goes; the cutover window vs an
# incremental pass (DVM_BENCH_E2E_PARTS=cutover: only that). Writes into DVM_BENCH_OUT, by
# default bench/experiments/e2e-only/ (the reference results in bench/ stay)
bench-e2e: deps toolchain
	DVM_BENCH_ONLY=e2e DVM_BENCH_E2E=1 DVM_BENCH_OUT="$${DVM_BENCH_OUT:-bench/experiments/e2e-only}" bash hack/bench.sh

# clusters (hack/clusters/): a local pair of real Kubernetes clusters "src" and "dst" on this machine (Kubernetes built
# from its Go module, Debian's etcd/containerd/runc/CNI); kubeconfigs in $(DVM_CACHE)/clusters/*/. One run at a time:
# up, down, smoke, e2e, bench-e2e and demo wait for the machine-wide lock /run/dvm-clusters.lock
## clusters-up: bring up the local cluster pair src/dst (root; builds Kubernetes and the images on first use)
clusters-up:
	bash hack/clusters/up.sh

## clusters-down: tear the local cluster pair down (waits for a run that uses it)
clusters-down:
	bash hack/clusters/down.sh

## clusters-smoke: a src pod reaches a dst NodePort, PVCs bind, the transfer image runs rsync and stunnel
clusters-smoke:
	bash hack/clusters/smoke.sh

## e2e: the program through the real engine between the local clusters (root; ~4 min warm)
# (hack/e2e.sh, test/e2e/) seeded source PVCs, data equality, incremental pass, unreachable endpoint, next wave, source
# untouched, policy pack, dvm discover and dvm check; brings the clusters up and, if it started them, down again (DVM_E2E_KEEP_CLUSTERS=1 keeps
# them)
e2e: deps toolchain build
	bash hack/e2e.sh

## demo: the local clusters, sample data, dvm discover + check, one wave through `pulumi up` with live progress
# (hack/demo.sh) the README's first command; the clusters are built on first use; run it again for an incremental pass
demo: deps toolchain build
	bash hack/demo.sh

## toolchain: the Pulumi CLI, a Node.js language host and the Kubernetes provider from Go modules (cold ~25 min)
# (hack/toolchain.sh) Pulumi CLI v3.248.0, built into $(DVM_CACHE)/toolchain/<key>/bin (cold: ~25 min on 2 cores; then
# seconds)
toolchain: deps
	bash hack/toolchain.sh

## engine: the program, the policy pack and the progress provider through the real Pulumi engine (~2 min warm)
# (hack/engine-test.sh, test/engine/) render mode, local file backend, passphrase from PULUMI_CONFIG_PASSPHRASE, no
# update checks, no plugin downloads. The progress provider (progress.test.ts) runs against a fake Kubernetes API in
# the test process serving real rsync logs: success, failure with the rsync details, retry of an unfinished record,
# new pass, dvm status, render mode, no kubeconfig in the state
engine: deps toolchain build
	bash hack/engine-test.sh

# watch / status (cli/, compiled, via bin/dvm.js): plain lines when not a TTY; the source cluster from the stack's
# dvm:source, or KUBECONFIG=... / DVM_WATCH_ARGS="--context src". The Pulumi CLI comes from PATH, else from
# `make toolchain`'s bin dir.
DVM_PULUMI_PATH = $$(d=$$(bash hack/toolchain.sh --bin 2>/dev/null) && printf '%s:' "$$d")$$PATH
## watch: `make watch STACK=<stack>` - one progress bar per PVC from the source cluster while `pulumi up` runs
watch: build
	PATH="$(DVM_PULUMI_PATH)" node bin/dvm.js watch $(if $(STACK),--stack $(STACK)) $(DVM_WATCH_ARGS)

## status: `make status STACK=<stack>` - the progress table recorded in the stack output
status: build
	PATH="$(DVM_PULUMI_PATH)" node bin/dvm.js status $(if $(STACK),--stack $(STACK)) $(DVM_STATUS_ARGS)

## clean: remove build products (not the ~/.cache/dvm build cache)
clean:
	rm -rf build rendered
