# dvm - every tier a make target. `make demo` and `make test` are the two commands the README starts with.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export DVM_CACHE ?= $(HOME)/.cache/dvm
export PULUMI_SKIP_UPDATE_CHECK := true
MOCHA := node_modules/.bin/mocha

.PHONY: all deps unit typecheck shellcheck test dataplane engine e2e bench bench-e2e toolchain clusters-up clusters-down clusters-smoke demo watch status progress-engine clean

all: unit

## deps: node modules of the program and the policy pack (npm ci from the lock files)
deps: node_modules/.dvm-installed policies/node_modules/.dvm-installed

node_modules/.dvm-installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# policy pack (policies/): its own package.json and lock file; `pulumi --policy-pack policies` runs it from there
policies/node_modules/.dvm-installed: policies/package.json policies/package-lock.json
	cd policies && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## unit: the fast tier - type check, shellcheck of the container scripts, mocha with Pulumi mocks (seconds)
unit: deps typecheck shellcheck
	$(MOCHA)

typecheck: deps
	node_modules/.bin/tsc --noEmit -p .
	policies/node_modules/.bin/tsc --noEmit -p policies

shellcheck:
	bash hack/ensure-packages.sh shellcheck
	bash hack/shellcheck.sh

## test: every tier CI runs
test: unit dataplane engine e2e

## dataplane (hack/dataplane.sh, test/dataplane/): the container scripts and rendered configs on real rsync and
## stunnel between two network-namespace hosts - integrity, security, faults (root; a few minutes). Bigger data:
## DVM_DATAPLANE_SMALL_FILES=30000 DVM_DATAPLANE_LARGE_MIB=1024 make dataplane
dataplane: deps
	bash hack/dataplane.sh

## bench (hack/bench.sh, bench/): throughput of the generated data plane vs raw tar|nc vs MTC's default
## configuration on the data-plane host pair, waiting-loop and stunnel CPU, program scale under mocks, then the
## end-to-end step (bench-e2e below) when the toolchain and the cluster binaries are built - DVM_BENCH_E2E=0/1/auto
## (root; not in make test; ~10-14 min). Writes bench/results.json, bench/results.md, bench/throughput.png. Sizes: see
## bench/run.ts and bench/e2e.ts
bench: deps
	bash hack/bench.sh

## bench-e2e (hack/bench-e2e.sh, bench/e2e.ts): only the end-to-end step - waves of 1 and 4 namespaces through
## `pulumi up` between the local clusters (brought up and down again like make e2e): wave time vs the sum of the pure
## transfer times, time to first byte and where it goes (root; ~4 min warm). Writes into DVM_BENCH_OUT, by default
## bench/experiments/e2e-only/ (the reference results in bench/ stay)
bench-e2e: deps toolchain
	DVM_BENCH_ONLY=e2e DVM_BENCH_E2E=1 DVM_BENCH_OUT="$${DVM_BENCH_OUT:-bench/experiments/e2e-only}" bash hack/bench.sh

## clusters (hack/clusters/*.sh): a local pair of real Kubernetes clusters "src" and "dst" on this machine
## (Kubernetes built from its Go module, Debian's etcd/containerd/runc/CNI); kubeconfigs in $(DVM_CACHE)/clusters/*/
clusters-up:
	bash hack/clusters/up.sh

clusters-down:
	bash hack/clusters/down.sh

## clusters-smoke: a src pod reaches a dst NodePort, PVCs bind, the transfer image runs rsync and stunnel
clusters-smoke:
	bash hack/clusters/smoke.sh

## e2e (hack/e2e.sh, test/e2e/): the program through the real engine between the local clusters - seeded source
## PVCs, data equality, incremental pass, unreachable endpoint, next wave, source untouched, policy pack (root; brings
## the clusters up and, if it started them, down again; DVM_E2E_KEEP_CLUSTERS=1 keeps them)
e2e: deps toolchain
	bash hack/e2e.sh

## demo (hack/demo.sh): the README's first command - the local cluster pair (built on first use), sample data, one
## wave through `pulumi up` with the live progress view, the status table; run it again for an incremental pass
demo: deps toolchain
	bash hack/demo.sh

## toolchain (hack/toolchain.sh): the Pulumi CLI v3.248.0, a Node.js language host and the Kubernetes provider
## built from Go modules into $(DVM_CACHE)/toolchain/<key>/bin (cold: ~25 min on 2 cores; then seconds)
toolchain: deps
	bash hack/toolchain.sh

## engine (hack/engine-test.sh, test/engine/): the program through the real Pulumi engine in render mode
## (local file backend, passphrase from PULUMI_CONFIG_PASSPHRASE, no update checks, no plugin downloads), then the
## progress provider's engine proof (progress-engine below)
engine: deps toolchain
	bash hack/engine-test.sh
	$(MAKE) --no-print-directory progress-engine

## watch / status (progress/cli.ts via bin/dvm.js): `make watch STACK=<stack>` shows one progress bar per PVC from the
## source cluster while `pulumi up` runs (plain lines when not a TTY; source cluster from the stack's dvm:source, or
## KUBECONFIG=... / DVM_WATCH_ARGS="--context src"); `make status STACK=<stack>` prints the recorded progress table.
## The Pulumi CLI comes from PATH, else from `make toolchain`'s bin dir.
DVM_PULUMI_PATH = $$(d=$$(bash hack/toolchain.sh --bin 2>/dev/null) && printf '%s:' "$$d")$$PATH
watch: deps
	PATH="$(DVM_PULUMI_PATH)" node bin/dvm.js watch $(if $(STACK),--stack $(STACK)) $(DVM_WATCH_ARGS)

status: deps
	PATH="$(DVM_PULUMI_PATH)" node bin/dvm.js status $(if $(STACK),--stack $(STACK)) $(DVM_STATUS_ARGS)

## progress-engine (progress/engine-proof/): the TransferProgress dynamic provider through the real engine
## (`make toolchain`): success, failure with the rsync details, retry of an unfinished record, new pass, dvm status,
## render mode, no kubeconfig in the state; against a local fake Kubernetes API serving real rsync logs (~1.5 min)
progress-engine: deps
	eval "$$(bash hack/toolchain-env.sh)" && node -r ts-node/register/transpile-only progress/engine-proof/proof.ts

## clean: remove build products (not the ~/.cache/dvm build cache)
clean:
	rm -rf build rendered
