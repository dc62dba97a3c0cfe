// `make bench` (hack/bench.sh): the benchmarks, side by side in one run, several repetitions, medians.
// Writes bench/results.json, bench/results.md, bench/throughput.png and the tables of docs/benchmarks.md, and prints
// the table.
//
// Sizes and repetitions (environment):
//   DVM_BENCH_LARGE_MIB (1024)  DVM_BENCH_SMALL_FILES (30000)  DVM_BENCH_SMALL_KIB (4)  DVM_BENCH_REPS (5)
//   DVM_BENCH_SCALE ("10,100,1000")  DVM_BENCH_SCALE_REPS (3)  DVM_BENCH_SCALE_EXPERIMENTS ("each": bench/scale.ts;
//   "" for none; at the largest size)  DVM_BENCH_SCALE_EXPERIMENT_REPS (1)  DVM_BENCH_IDLE_SECONDS (20)
//   DVM_BENCH_ONLY ("dataplane,scale,e2e": run a subset)  DVM_BENCH_E2E ("auto": the end-to-end step of bench/e2e.ts
//   runs when the engine toolchain, the Kubernetes binaries and the cluster images are built; "1" always, building
//   what is missing; "0" never; its sizes: DVM_BENCH_E2E_* in bench/e2e.ts)  DVM_BENCH_DATASETS ("large,small")
//   DVM_BENCH_VARIANTS ("sparse-always,no-inplace,chacha20,previous,split-3,parallel-3": variants of the generated configuration from bench/variants.ts
//   run side by side with it; "all", or "" for none)  DVM_BENCH_OUT (bench/: where results go)
//   DVM_BENCH_DOCS ("auto": replace the generated block of docs/benchmarks.md when the results go to bench/, the
//   reference run the page reports; "1" always, "0" never)
//   DVM_BENCH_TMP (/var/tmp/dvm-bench: a tmpfs is mounted there for the data sets, so the disks of a shared
//   machine do not decide the result)
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { NET, netDown, netUp, sh, stopAll } from "../test/support/dataplane";
import {
    changeFraction, clearDir, Dataset, Env, Generated, IdleSample, loadavg, makeLarge, makeSmall, measureIdle, Mtc, RunSample, runRaw,
} from "./dataplane";
import type { E2EResult } from "./e2e";
import { BENCH_DOC, updateBenchDoc, writeReports } from "./report";
import { COMPILED_JS, growthExponent, runScale, SCALE_EXPERIMENTS, ScaleSample } from "./scale";
import { VARIANTS, Variant } from "./variants";

// Own namespace and veth names per process (veth names: at most 15 characters), so that `make bench`, `make dataplane`
// and another `make bench` (with a DVM_BENCH_TMP of its own) can run at the same time on a shared machine: netUp and
// netDown delete the names they use. The harness reads NET at call time.
const netId = process.pid.toString(36);
Object.assign(NET as { -readonly [K in keyof typeof NET]: string }, { src: `dvmbench-${netId}-src`, dst: `dvmbench-${netId}-dst`, vethSrc: `dbs-${netId}`, vethDst: `dbd-${netId}` });

function num(name: string, def: number, min: number): number {
    const v = process.env[name];
    if (v === undefined || v === "") return def;
    if (!/^[0-9]+$/.test(v) || Number(v) < min) throw new Error(`${name} must be a whole number >= ${min}, got ${JSON.stringify(v)}; example: ${name}=${def}`);
    return Number(v);
}

function list(name: string, def: string, allowed?: string[]): string[] {
    const v = (process.env[name] ?? def).trim();
    const items = v === "" ? [] : v.split(",").map((s) => s.trim());
    if (allowed) {
        for (const i of items) {
            if (!allowed.includes(i)) throw new Error(`${name}: ${JSON.stringify(i)} is not one of ${allowed.join(", ")}; example: ${name}=${def || allowed.join(",")}`);
        }
    }
    return items;
}

function scaleExperiments(): string[][] {
    const names = [...Object.keys(SCALE_EXPERIMENTS), COMPILED_JS];
    const items = list("DVM_BENCH_SCALE_EXPERIMENTS", "each");
    const out: string[][] = [];
    for (const i of items) {
        if (i === "each") { out.push(...names.map((n) => [n])); continue; }
        const parts = i.split("+");
        for (const part of parts) {
            if (!names.includes(part)) throw new Error(`DVM_BENCH_SCALE_EXPERIMENTS: ${JSON.stringify(part)} is not one of ${names.join(", ")}; example: DVM_BENCH_SCALE_EXPERIMENTS=each or =${names.join("+")}`);
        }
        out.push(parts);
    }
    return out;
}

function e2eMode(): "0" | "1" | "auto" {
    const mode = (process.env.DVM_BENCH_E2E ?? "auto").trim() || "auto";
    if (mode !== "0" && mode !== "1" && mode !== "auto") throw new Error(`DVM_BENCH_E2E must be 0, 1 or auto, got ${JSON.stringify(mode)}; example: DVM_BENCH_E2E=auto`);
    return mode;
}

function docsMode(): "0" | "1" | "auto" {
    const mode = (process.env.DVM_BENCH_DOCS ?? "auto").trim() || "auto";
    if (mode !== "0" && mode !== "1" && mode !== "auto") throw new Error(`DVM_BENCH_DOCS must be 0, 1 or auto, got ${JSON.stringify(mode)}; example: DVM_BENCH_DOCS=0`);
    return mode;
}

export const params = () => {
    const variantNames = Object.keys(VARIANTS);
    // by default the variants that each measure a proposal of the report (see bench/variants.ts)
    const variants = list("DVM_BENCH_VARIANTS", "sparse-always,no-inplace,chacha20,previous,split-3,parallel-3", ["all", ...variantNames]);
    return {
        largeMiB: num("DVM_BENCH_LARGE_MIB", 1024, 1),
        smallFiles: num("DVM_BENCH_SMALL_FILES", 30000, 100),
        smallKiB: num("DVM_BENCH_SMALL_KIB", 4, 1),
        reps: num("DVM_BENCH_REPS", 5, 1),
        scale: list("DVM_BENCH_SCALE", "10,100,1000").map((s) => {
            if (!/^[0-9]+$/.test(s) || Number(s) < 1) throw new Error(`DVM_BENCH_SCALE: ${JSON.stringify(s)} is not a PVC count; example: DVM_BENCH_SCALE=10,100,1000`);
            return Number(s);
        }),
        scaleReps: num("DVM_BENCH_SCALE_REPS", 3, 1),
        // each item: experiments joined by "+", run at the largest size; "each" = every experiment alone, then all together
        scaleExperiments: scaleExperiments(),
        scaleExperimentReps: num("DVM_BENCH_SCALE_EXPERIMENT_REPS", 1, 1),
        idleSeconds: num("DVM_BENCH_IDLE_SECONDS", 20, 5),
        only: list("DVM_BENCH_ONLY", "dataplane,scale,e2e", ["dataplane", "scale", "e2e"]),
        e2e: e2eMode(),
        datasets: list("DVM_BENCH_DATASETS", "large,small", ["large", "small"]),
        variants: variants.includes("all") ? variantNames : variants,
        out: process.env.DVM_BENCH_OUT || __dirname,
        tmp: process.env.DVM_BENCH_TMP || "/var/tmp/dvm-bench",
    };
};
export type Params = ReturnType<typeof params>;

function machine() {
    const cpu = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
    const first = (cmd: string, args: string[]) => { try { return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).split("\n")[0].trim(); } catch (e) { return `unavailable (${(e as Error).message.split("\n")[0]})`; } };
    let commit = "unknown";
    try {
        const cwd = path.join(__dirname, "..");
        commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", cwd }).trim();
        // what was measured is the work tree: name the files of the measured code that differ from the commit
        const dirty = execFileSync("git", ["status", "--porcelain", "--", "contract", "kube", "components", "config", "progress", "index.ts", "test/dataplane", "test/e2e", "test/support", "policies", "hack/bench-e2e.sh", "bench"], { encoding: "utf8", cwd })
            .split("\n").filter((l) => l.trim() !== "").map((l) => l.slice(3))
            .filter((f) => !/^bench\/(results\.(json|md)|throughput\.png)$/.test(f));
        if (dirty.length > 0) commit += ` + uncommitted changes in ${dirty.join(", ")}`;
    } catch { /* not a git checkout */ }
    return {
        host: os.hostname(),
        cpu,
        cores: os.cpus().length,
        aes: /\baes\b/.test(fs.readFileSync("/proc/cpuinfo", "utf8")),
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        kernel: os.release(),
        node: process.version,
        rsync: first("rsync", ["--version"]),
        stunnel: sh("stunnel", ["-version"], { allowFail: true }).err.split("\n").find((l) => l.startsWith("stunnel ")) ?? "unknown",
        openssl: first("openssl", ["version"]),
        commit,
        loadavgStart: loadavg(),
        startedAt: new Date().toISOString(),
    };
}

function log(s: string): void {
    process.stderr.write(`bench: ${s}\n`);
}

async function dataplane(p: Params, variants: Variant[]): Promise<{ runs: RunSample[]; idle: IdleSample; generatedArgs: string[]; datasets: Record<string, { files: number; bytes: number }> }> {
    if (process.getuid?.() !== 0) throw new Error("the data-plane benchmark needs root (network and mount namespaces, tmpfs); run `sudo make bench` or DVM_BENCH_ONLY=scale");
    fs.mkdirSync(p.tmp, { recursive: true });
    // source + one large copy at a time (cleared after each run) + every configuration's small copy (kept for the
    // incremental pass) + logs; tmpfs takes memory only for what is written
    const smallMiB = (p.smallFiles * (p.smallKiB + 1)) / 1024;
    const sizeMiB = Math.ceil(2 * p.largeMiB + (p.variants.length + 4) * smallMiB) + 512;
    sh("mount", ["-t", "tmpfs", "-o", `size=${sizeMiB}m,mode=0755`, "dvm-bench", p.tmp]);
    const env: Env = { work: p.tmp, logs: path.join(p.tmp, "logs") };
    const runs: RunSample[] = [];
    let generated: Generated | undefined;
    let mtc: Mtc | undefined;
    const others: Generated[] = [];
    try {
        fs.mkdirSync(env.logs);
        netUp();
        let t = Date.now();
        const large = makeLarge(path.join(p.tmp, "src", "large"), p.datasets.includes("large") ? p.largeMiB : 1);
        const small = makeSmall(path.join(p.tmp, "src", "small"), p.smallFiles, p.smallKiB);
        log(`data sets: ${large.files} large files (${p.largeMiB} MiB), ${small.files} small files of ${p.smallKiB} KiB, on tmpfs ${p.tmp} (${Date.now() - t} ms)`);

        const dst = (c: string) => path.join(p.tmp, "dst", c);
        generated = new Generated(env, "generated", large.dir, dst("generated"));
        mtc = new Mtc(env, dst("mtc"));
        generated.prepare();
        await mtc.start();
        for (const v of variants) others.push(new Generated(env, v.name, large.dir, dst(v.name), v).prepare(small.dir));
        log(`rsync args as generated: ${generated.args().join(" ")}`);

        type Runner = { name: string; fits: (dir: string) => boolean; full: (ds: Dataset, rep: number) => Promise<Omit<RunSample, "dataset" | "config" | "rep" | "pass" | "bytes" | "files" | "loadavg">>; incr?: (ds: Dataset, label: string) => ReturnType<Generated["run"]> };
        const runners: Runner[] = [
            { name: "raw", fits: () => true, full: async (ds) => runRaw(env, ds, dst("raw")) },
            {
                name: "generated",
                fits: () => true,
                full: async (ds, rep) => { clearDir(dst("generated")); return generated!.run(`${ds.name}-${rep}`, ds.dir); },
                incr: async (ds, label) => generated!.run(label, ds.dir),
            },
            {
                name: "mtc",
                fits: () => true,
                full: async (ds, rep) => { clearDir(dst("mtc")); return mtc!.run(`${ds.name}-${rep}`, ds.dir); },
                incr: async (ds, label) => mtc!.run(label, ds.dir),
            },
            ...others.map((g): Runner => ({
                name: g.name,
                fits: (dir) => g.fits(dir),
                full: async (ds, rep) => { clearDir(g.dstDir); return g.run(`${ds.name}-${rep}`, ds.dir); },
                incr: async (ds, label) => g.run(label, ds.dir),
            })),
        ];

        // warm-up (not recorded): every configuration once on a tiny tree
        const tiny = makeSmall(path.join(p.tmp, "src", "tiny"), 200, 4);
        for (const r of runners.filter((x) => x.fits(tiny.dir))) await r.full({ ...tiny, name: "small" }, 0);
        for (const r of runners) clearDir(dst(r.name));

        for (let rep = 1; rep <= p.reps; rep++) {
            for (const ds of [large, small].filter((d) => p.datasets.includes(d.name))) {
                // rotate the order each repetition, so that drift in the machine's load does not favour one configuration
                const order = runners.map((_, i) => runners[(i + rep - 1) % runners.length]).filter((r) => r.fits(ds.dir));
                for (const r of order) {
                    t = Date.now();
                    const res = await r.full(ds, rep);
                    runs.push({ dataset: ds.name, config: r.name, rep, pass: "full", bytes: ds.bytes, files: ds.files, loadavg: loadavg(), ...res });
                    log(`rep ${rep} ${ds.name} ${r.name}: ${res.seconds.toFixed(2)} s, ${(ds.bytes / 1e6 / res.seconds).toFixed(1)} MB/s, ${(ds.files / res.seconds).toFixed(0)} files/s`);
                    if (ds.name === "large") clearDir(dst(r.name)); // room for the next configuration's copy
                }
                if (ds.name === "small") {
                    // 1% of the files change; every rsync configuration still holds its copy of the full pass
                    const changed = changeFraction(ds.dir, ".", 0.01);
                    for (const r of order.filter((x) => x.incr)) {
                        const res = await r.incr!(ds, `${ds.name}-${rep}-incremental`);
                        runs.push({ dataset: ds.name, config: r.name, rep, pass: "incremental", bytes: ds.bytes, files: changed.length, loadavg: loadavg(), ...res });
                        log(`rep ${rep} ${ds.name} ${r.name} incremental (${changed.length} changed files): ${res.seconds.toFixed(2)} s`);
                    }
                    // and once more with nothing changed: the floor of any incremental pass (file lists, stat of every file)
                    for (const r of order.filter((x) => x.incr)) {
                        const res = await r.incr!(ds, `${ds.name}-${rep}-unchanged`);
                        runs.push({ dataset: ds.name, config: r.name, rep, pass: "unchanged", bytes: ds.bytes, files: 0, loadavg: loadavg(), ...res });
                        log(`rep ${rep} ${ds.name} ${r.name} unchanged: ${res.seconds.toFixed(2)} s`);
                    }
                }
                for (const r of runners) clearDir(dst(r.name)); // free the tmpfs before the next data set
            }
        }
        const idle = await measureIdle(env, p.idleSeconds);
        log(`waiting loops over ${idle.seconds.toFixed(0)} s: rsync-client.sh ${(idle.rsyncWaitLoop * 100).toFixed(3)}% of a core, stunnel-client.sh ${(idle.sidecarLoop * 100).toFixed(3)}%`);
        return { runs, idle, generatedArgs: generated.args(), datasets: { large: { files: large.files, bytes: large.bytes }, small: { files: small.files, bytes: small.bytes } } };
    } finally {
        await mtc?.stop().catch(() => undefined);
        await stopAll();
        netDown();
        if (process.env.DVM_BENCH_KEEP === "1") log(`kept ${p.tmp} (unmount it yourself: umount ${p.tmp})`);
        else sh("umount", [p.tmp], { allowFail: true });
    }
}

const E2E_HOW = "make bench-e2e (only this step) or DVM_BENCH_E2E=1 make bench; make toolchain builds the engine beforehand";

/** The end-to-end step (bench/e2e.ts through hack/bench-e2e.sh): run, or why not. A failed step is recorded as not
 * measured (the other results are still written) and makes the run exit non-zero. */
function e2eStep(p: Params): E2EResult & { failed?: boolean } {
    if (!p.only.includes("e2e")) return { measured: false, reason: `not selected (DVM_BENCH_ONLY=${p.only.join(",")})`, how: "DVM_BENCH_ONLY=dataplane,scale,e2e (the default)" };
    const mode = p.e2e;
    if (mode === "0") return { measured: false, reason: "switched off (DVM_BENCH_E2E=0)", how: E2E_HOW };
    const script = path.join(__dirname, "..", "hack", "bench-e2e.sh");
    if (mode === "auto") {
        const check = spawnSync("bash", [script, "--check"], { encoding: "utf8" });
        if (check.status !== 0) {
            const reason = (check.stdout + check.stderr).trim() || `hack/bench-e2e.sh --check exited ${check.status}`;
            log(`end-to-end step not run: ${reason}; run it with ${E2E_HOW}`);
            return { measured: false, reason, how: E2E_HOW };
        }
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-bench-e2e-"));
    const out = path.join(dir, "e2e.json");
    try {
        log(`end-to-end step (DVM_BENCH_E2E=${mode}): hack/bench-e2e.sh`);
        const r = spawnSync("bash", [script, out], { stdio: ["ignore", "inherit", "inherit"] });
        if (r.status !== 0 || !fs.existsSync(out)) {
            const reason = `the step failed (hack/bench-e2e.sh exited ${r.status ?? r.signal}; its log is above)`;
            log(`end-to-end step: ${reason}`);
            return { measured: false, reason, how: E2E_HOW, failed: true };
        }
        return JSON.parse(fs.readFileSync(out, "utf8")) as E2EResult;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

async function main(): Promise<void> {
    const p = params();
    // checked before the measurements, so a typo does not cost a whole run
    const docs = docsMode();
    const m = machine();
    const started = Date.now();
    log(`machine: ${m.cpu}, ${m.cores} cores, load ${m.loadavgStart}`);
    const variants = p.variants.map((n) => VARIANTS[n]);
    let dp: Awaited<ReturnType<typeof dataplane>> | undefined;
    let scale: ScaleSample[] = [];
    if (p.only.includes("dataplane")) dp = await dataplane(p, variants);
    if (p.only.includes("scale") && p.scale.length > 0) scale = runScale(p.scale, p.scaleReps, log, p.scaleExperiments, p.scaleExperimentReps);
    const { failed: e2eFailed, ...e2e } = e2eStep(p);
    const exponent = {
        time: growthExponent(scale.filter((s) => s.experiments.length === 0).map((s) => [s.pvcs, s.constructSeconds])),
        memory: growthExponent(scale.filter((s) => s.experiments.length === 0).map((s) => [s.pvcs, s.peakRssMiB - s.baseRssMiB])),
    };
    const results = {
        machine: { ...m, loadavgEnd: loadavg(), seconds: (Date.now() - started) / 1000 },
        params: p,
        variants: variants.map((v) => ({ name: v.name, description: v.description })),
        datasets: dp?.datasets,
        generatedArgs: dp?.generatedArgs,
        runs: dp?.runs ?? [],
        idle: dp?.idle,
        scale,
        scaleExponent: exponent,
        e2e,
    };
    const table = writeReports(results, p.out);
    if (writeBenchDoc(docs, p.out, table)) log(`updated the generated block of ${path.relative(process.cwd(), BENCH_DOC)}`);
    process.stdout.write(`${table}\n`);
    log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; wrote ${path.join(p.out, "results.json")}, results.md, throughput.png`);
    if (e2eFailed) {
        log("FAILED: the end-to-end step failed (the other results are written; see its log above)");
        process.exitCode = 1;
    }
}

export type Results = {
    machine: ReturnType<typeof machine> & { loadavgEnd: string; seconds: number };
    params: Params;
    variants: { name: string; description: string }[];
    datasets?: Record<string, { files: number; bytes: number }>;
    /** the rsync container's args of the generated configuration, as measured */
    generatedArgs?: string[];
    runs: RunSample[];
    idle?: IdleSample;
    scale: ScaleSample[];
    scaleExponent: { time: number; memory: number };
    /** the end-to-end step; runs before it was measured carry only `{measured: false, reason}` */
    e2e?: E2EResult;
};

/**
 * Writes this run's tables into docs/benchmarks.md when the run is the reference run in bench/ (DVM_BENCH_DOCS=auto):
 * the page links bench/throughput.png, so results written elsewhere (experiments, `make bench-e2e`) leave it alone.
 */
function writeBenchDoc(mode: "0" | "1" | "auto", out: string, table: string): boolean {
    if (mode === "0" || (mode === "auto" && path.resolve(out) !== path.resolve(__dirname))) return false;
    updateBenchDoc(BENCH_DOC, table, path.join(out, "throughput.png"));
    return true;
}

/** `bench/run.ts --report <results.json>`: rewrite results.md, the chart (and for bench/results.json the tables of
 * docs/benchmarks.md) from a saved run, e.g. after a change of the report's format; what the run measured (or why
 * not) is kept. */
function rerender(file: string): void {
    const r = JSON.parse(fs.readFileSync(file, "utf8")) as Results & { summary?: unknown };
    delete r.summary;
    const out = path.dirname(path.resolve(file));
    const table = writeReports(r, out);
    writeBenchDoc(docsMode(), out, table);
    process.stdout.write(`${table}\n`);
}

if (require.main === module && process.argv[2] === "--report") {
    if (!process.argv[3] || !fs.existsSync(process.argv[3])) {
        process.stderr.write(`bench/run.ts --report: give a results.json of an earlier run, got ${JSON.stringify(process.argv[3] ?? "")}; example: --report bench/results.json\n`);
        process.exit(2);
    }
    rerender(process.argv[3]);
} else if (require.main === module) {
    // interrupted: stop the containers (their own process groups), remove the namespaces, unmount the tmpfs
    const stop = () => {
        void stopAll().finally(() => {
            netDown();
            sh("umount", [params().tmp], { allowFail: true });
            process.exit(130);
        });
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    main().catch((e) => {
        process.stderr.write(`bench: FAILED: ${(e as Error).stack ?? e}\n`);
        process.exit(1);
    });
}
