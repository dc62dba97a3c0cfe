// `make bench` (hack/bench.sh): the benchmarks, side by side in one run, several repetitions, medians.
// Writes bench/results.json, bench/results.md, bench/throughput.png and the tables of docs/benchmarks.md, and prints
// the table.
//
// Sizes and repetitions (environment):
//   DVM_BENCH_LARGE_MIB (4096)  DVM_BENCH_SMALL_FILES (100000)  DVM_BENCH_SMALL_KIB (4)  DVM_BENCH_REPS (3)
//   the mix (bench/dataplane.ts makeMix): DVM_BENCH_MIX_TABLES (4) of DVM_BENCH_MIX_TABLE_MIB (256),
//   DVM_BENCH_MIX_FILES (50000) small files, a sparse image of DVM_BENCH_MIX_SPARSE_MIB (1024)
//   DVM_BENCH_DATASETS ("large,small,mix")  DVM_BENCH_LIMITS ("iperf,iperf-stunnel,pipe,read": bench/limits.ts)
//   DVM_BENCH_IPERF_SECONDS (10)
//   DVM_BENCH_SCALE ("50,500,5000")  DVM_BENCH_SCALE_REPS (3)  DVM_BENCH_SCALE_EXPERIMENTS ("": bench/scale.ts; "each"
//   for every experiment alone; at the largest size)  DVM_BENCH_SCALE_EXPERIMENT_REPS (1)  DVM_BENCH_IDLE_SECONDS (20)
//   DVM_BENCH_ONLY ("dataplane,scale,e2e": run a subset)  DVM_BENCH_E2E ("auto": the end-to-end step of bench/e2e.ts
//   runs when the engine toolchain, the Kubernetes binaries and the cluster images are built; "1" always, building
//   what is missing; "0" never; its sizes and parts - the waves, the cutover window: DVM_BENCH_E2E_* in bench/e2e.ts)
//   DVM_BENCH_VARIANTS ("split-3,parallel-2,parallel-3,streams-3": variants of the generated configuration from
//   bench/variants.ts run side by side with it; "all", or "" for none)  DVM_BENCH_OUT (bench/: where results go)
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
    changeFiles, clearDir, Dataset, Env, Generated, IdleSample, loadavg, makeLarge, makeMix, makeSmall, measureIdle, Mtc, RunSample,
} from "./dataplane";
import { runIperf, runPipe, runRead } from "./limits";
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
    const items = list("DVM_BENCH_SCALE_EXPERIMENTS", "");
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
    // by default the variants that measure a proposal of the report (see bench/variants.ts); the ones that chose the
    // generated configuration's defaults are kept with their runs in bench/experiments/
    const variants = list("DVM_BENCH_VARIANTS", "split-3,parallel-2,parallel-3,streams-3", ["all", ...variantNames]);
    return {
        largeMiB: num("DVM_BENCH_LARGE_MIB", 4096, 1),
        smallFiles: num("DVM_BENCH_SMALL_FILES", 100000, 300),
        smallKiB: num("DVM_BENCH_SMALL_KIB", 4, 1),
        mix: {
            tables: num("DVM_BENCH_MIX_TABLES", 4, 1),
            tableMiB: num("DVM_BENCH_MIX_TABLE_MIB", 256, 1),
            files: num("DVM_BENCH_MIX_FILES", 50000, 100),
            sparseMiB: num("DVM_BENCH_MIX_SPARSE_MIB", 1024, 8),
        },
        reps: num("DVM_BENCH_REPS", 3, 1),
        iperfSeconds: num("DVM_BENCH_IPERF_SECONDS", 10, 1),
        limits: list("DVM_BENCH_LIMITS", "iperf,iperf-stunnel,pipe,read", ["iperf", "iperf-stunnel", "pipe", "read"]),
        scale: list("DVM_BENCH_SCALE", "50,500,5000").map((s) => {
            if (!/^[0-9]+$/.test(s) || Number(s) < 1) throw new Error(`DVM_BENCH_SCALE: ${JSON.stringify(s)} is not a PVC count; example: DVM_BENCH_SCALE=50,500,5000`);
            return Number(s);
        }),
        scaleReps: num("DVM_BENCH_SCALE_REPS", 3, 1),
        // each item: experiments joined by "+", run at the largest size; "each" = every experiment alone, then all together
        scaleExperiments: scaleExperiments(),
        scaleExperimentReps: num("DVM_BENCH_SCALE_EXPERIMENT_REPS", 1, 1),
        idleSeconds: num("DVM_BENCH_IDLE_SECONDS", 20, 5),
        only: list("DVM_BENCH_ONLY", "dataplane,scale,e2e", ["dataplane", "scale", "e2e"]),
        e2e: e2eMode(),
        datasets: list("DVM_BENCH_DATASETS", "large,small,mix", ["large", "small", "mix"]),
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

/** The default data sets' sizes: each timed dvm run should last >= 10 s on a quiet 2-core machine (the report marks
 * the rows that did not). */
async function dataplane(p: Params, variants: Variant[]): Promise<{ runs: RunSample[]; idle: IdleSample; generatedArgs: string[]; datasets: Record<string, { files: number; bytes: number }> }> {
    if (process.getuid?.() !== 0) throw new Error("the data-plane benchmark needs root (network and mount namespaces, tmpfs); run `sudo make bench` or DVM_BENCH_ONLY=scale");
    fs.mkdirSync(p.tmp, { recursive: true });
    // every source + one copy at a time (each configuration's copy is cleared after its passes) + logs; tmpfs takes
    // memory only for what is written
    const smallMiB = (p.smallFiles * (p.smallKiB + 1)) / 1024;
    const mixMiB = p.mix.tables * p.mix.tableMiB + (p.mix.files * 18) / 1024 + 8;
    const largeMiB = p.datasets.includes("large") ? p.largeMiB : 1;
    // a copy without --sparse (MTC's) writes the mix's sparse image in full
    const sizeMiB = Math.ceil(largeMiB + smallMiB + mixMiB + Math.max(largeMiB, smallMiB, mixMiB + p.mix.sparseMiB)) + 512;
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
        const sets: Dataset[] = [];
        const large = makeLarge(path.join(p.tmp, "src", "large"), largeMiB);
        if (p.datasets.includes("large")) sets.push(large);
        const small = makeSmall(path.join(p.tmp, "src", "small"), p.smallFiles, p.smallKiB);
        if (p.datasets.includes("small")) sets.push(small);
        if (p.datasets.includes("mix")) sets.push(makeMix(path.join(p.tmp, "src", "mix"), p.mix));
        log(`data sets on tmpfs ${p.tmp} (${Date.now() - t} ms): ${sets.map((d) => `${d.name} ${d.files} files, ${(d.bytes / 2 ** 20).toFixed(0)} MiB`).join("; ")}`);

        const dst = (c: string) => path.join(p.tmp, "dst", c);
        generated = new Generated(env, "generated", large.dir, dst("generated"));
        mtc = new Mtc(env, dst("mtc"));
        generated.prepare();
        await mtc.start();
        for (const v of variants) others.push(new Generated(env, v.name, large.dir, dst(v.name), v).prepare(small.dir));
        log(`rsync args as generated: ${generated.args().join(" ")}`);

        type Result = Omit<RunSample, "dataset" | "config" | "rep" | "pass" | "bytes" | "files" | "loadavg">;
        type Runner = { name: string; fits: (ds: Dataset) => boolean; full: (ds: Dataset, rep: number) => Promise<Result>; incr?: (ds: Dataset, label: string) => Promise<Result> };
        const rsyncRunner = (name: string, g: { run: (label: string, dir: string) => Promise<Result> }, dir: string, fits: (ds: Dataset) => boolean = () => true): Runner => ({
            name, fits,
            full: async (ds, rep) => { clearDir(dir); return g.run(`${ds.name}-${rep}`, ds.dir); },
            incr: async (ds, label) => g.run(label, ds.dir),
        });
        const runners: Runner[] = [
            ...(p.limits.includes("pipe") ? [{ name: "pipe", fits: () => true, full: async (ds: Dataset) => runPipe(env, ds.dir, dst("pipe"), ds.bytes) }] : []),
            ...(p.limits.includes("read") ? [{ name: "read", fits: () => true, full: async (ds: Dataset) => runRead(env, ds.dir, ds.bytes) }] : []),
            rsyncRunner("generated", generated, dst("generated")),
            rsyncRunner("mtc", mtc, dst("mtc")),
            // a split variant's PVCs are the top-level directories of the small files (others would split hard links)
            ...others.map((g) => rsyncRunner(g.name, g, g.dstDir, (ds) => (!g.change.split || ds.name === "small") && g.fits(ds.dir))),
        ];

        // warm-up (not recorded): every configuration once on a tiny tree
        const tiny = makeSmall(path.join(p.tmp, "src", "tiny"), 300, 4);
        for (const r of runners.filter((x) => x.fits({ ...tiny, name: "small" }))) await r.full({ ...tiny, name: "small" }, 0);
        for (const r of runners) clearDir(dst(r.name));

        for (let rep = 1; rep <= p.reps; rep++) {
            // the link's limits: one stream of DVM_BENCH_IPERF_SECONDS each, bare and through dvm's stunnel settings
            for (const [name, rendered] of [["iperf", undefined], ["iperf-stunnel", generated.rendered]] as const) {
                if (!p.limits.includes(name)) continue;
                const res = await runIperf(env, p.iperfSeconds, rendered);
                runs.push({ dataset: "link", config: name, rep, pass: "full", files: 0, loadavg: loadavg(), ...res });
                log(`rep ${rep} link ${name}: ${res.seconds.toFixed(2)} s, ${(res.bytes / 1e6 / res.seconds).toFixed(1)} MB/s, ${(res.cpu.total / (res.bytes / 1e9)).toFixed(2)} CPU-s/GB`);
            }
            for (const ds of sets) {
                // rotate the order each repetition, so that drift in the machine's load does not favour one configuration
                const order = runners.map((_, i) => runners[(i + rep - 1) % runners.length]).filter((r) => r.fits(ds));
                for (const r of order) {
                    t = Date.now();
                    const res = await r.full(ds, rep);
                    runs.push({ dataset: ds.name, config: r.name, rep, pass: "full", bytes: ds.bytes, files: ds.files, loadavg: loadavg(), ...res });
                    log(`rep ${rep} ${ds.name} ${r.name}: ${res.seconds.toFixed(2)} s, ${(ds.bytes / 1e6 / res.seconds).toFixed(1)} MB/s, ${(ds.files / res.seconds).toFixed(0)} files/s`);
                    if (r.incr && ds.name !== "large") {
                        // 1% of the files change against this configuration's full copy, then nothing (the floor of any
                        // incremental pass: file lists, a stat of every file); the source is put back afterwards
                        const change = changeFiles(ds.dir, 0.01);
                        try {
                            const inc = await r.incr(ds, `${ds.name}-${rep}-incremental`);
                            runs.push({ dataset: ds.name, config: r.name, rep, pass: "incremental", bytes: ds.bytes, files: change.files.length, loadavg: loadavg(), ...inc });
                            const same = await r.incr(ds, `${ds.name}-${rep}-unchanged`);
                            runs.push({ dataset: ds.name, config: r.name, rep, pass: "unchanged", bytes: ds.bytes, files: 0, loadavg: loadavg(), ...same });
                            log(`rep ${rep} ${ds.name} ${r.name}: incremental (${change.files.length} changed files) ${inc.seconds.toFixed(2)} s, unchanged ${same.seconds.toFixed(2)} s`);
                        } finally {
                            change.revert();
                        }
                    }
                    clearDir(dst(r.name)); // room for the next configuration's copy
                }
            }
        }
        const idle = await measureIdle(env, p.idleSeconds);
        log(`waiting loops over ${idle.seconds.toFixed(0)} s: rsync-client.sh ${(idle.rsyncWaitLoop * 100).toFixed(3)}% of a core, stunnel-client.sh ${(idle.sidecarLoop * 100).toFixed(3)}%`);
        return { runs, idle, generatedArgs: generated.args(), datasets: Object.fromEntries(sets.map((d) => [d.name, { files: d.files, bytes: d.bytes }])) };
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
