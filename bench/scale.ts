// Program scale under Pulumi mocks: how long the program takes to construct a wave of N PVCs
// (10 per namespace) and how much memory it needs, measured in a fresh Node process per run so that one size cannot
// warm up or bloat the next.
//
//   child:  node -r ts-node/register/transpile-only bench/scale.ts --child <pvcs>   -> one JSON line on stdout
//   parent: runScale([10, 100, 1000], reps) from bench/run.ts
//
// The mocks are the unit tier's (test/support/mocks.ts): every resource registration is answered in-process, so this
// measures the program (config -> plan -> components -> resource registrations), not an engine or a cluster.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface ScaleSample {
    pvcs: number;
    /** SCALE_EXPERIMENTS applied (empty: the program as it is) */
    experiments: string[];
    namespaces: number;
    resources: number;
    /** module loading (pulumi, kubernetes provider SDK, components) */
    loadSeconds: number;
    /** new MigrationWave(...) until its `migration` output resolved and every registration was seen */
    constructSeconds: number;
    /** VmHWM of the child process: peak resident memory, Node itself included */
    peakRssMiB: number;
    /** resident memory after loading the modules, before construction */
    baseRssMiB: number;
    heapUsedMiB: number;
}

function vm(field: "VmHWM" | "VmRSS"): number {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (!m) throw new Error(`/proc/self/status has no ${field} line`);
    return Number(m[1]) / 1024;
}

/** A wave of `pvcs` PVCs, 10 per namespace (the last namespace takes the remainder). */
export function scaleWave(pvcs: number): unknown {
    const perNs = 10;
    const namespaces = [];
    for (let n = 0; n * perNs < pvcs; n++) {
        const count = Math.min(perNs, pvcs - n * perNs);
        namespaces.push({
            name: `app-${n}`,
            pvcs: Array.from({ length: count }, (_, i) => ({ name: `data-${i}`, capacity: "10Gi", accessModes: ["ReadWriteOnce"] })),
        });
    }
    return { name: `scale-${pvcs}`, namespaces };
}

/** Experiments that show where construction time goes (DVM_BENCH_SCALE_EXPERIMENTS); each changes ONE thing in the
 * child process, never the repository's code. (The experiment "shared-progress-provider" found that every namespace
 * re-serialized the progress provider; progress/resource.ts shares one provider since commit 6cdf96f.) */
export const SCALE_EXPERIMENTS: Record<string, { description: string; apply: () => void }> = {
    "promise-stacks": {
        description: "every promise's stack recorded while the wave is declared (PULUMI_DEBUG_PROMISE_LEAKS=1 switches off "
            + "components/wave.ts withoutPromiseStacks): what recording them costs",
        apply: () => { process.env.PULUMI_DEBUG_PROMISE_LEAKS = "1"; },
    },
    "plain-stack-traces": {
        description: "V8's own stack formatting instead of source-map-support's (an upper bound: Pulumi's runner installs "
            + "source-map-support for every program, and captures `new Error().stack` for every promise and a full stack per resource)",
        apply: () => {
            (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;
        },
    },
};

async function child(pvcs: number, experiments: string[]): Promise<void> {
    const t0 = process.hrtime.bigint();
    // the same order as the unit tests: mocks before the components are loaded
    const mocks = require("../test/support/mocks") as typeof import("../test/support/mocks");
    mocks.installMocks();
    for (const e of experiments) SCALE_EXPERIMENTS[e].apply();
    const { MigrationWave } = require("../components/wave") as typeof import("../components/wave");
    const { validateStackConfig } = require("../config/stack") as typeof import("../config/stack");
    const { validateWave } = require("../config/wave") as typeof import("../config/wave");
    const t1 = process.hrtime.bigint();
    const baseRss = vm("VmRSS");

    const c = validateStackConfig({
        source: { context: "src" },
        destination: { context: "dst", endpoint: { type: "route", subdomain: "apps.dst.example.com" } },
        wave: "waves/scale.yaml",
    });
    const w = validateWave(scaleWave(pvcs), "waves/scale.yaml");
    const plan = {
        ...c, wave: { name: w.name, file: c.wave },
        namespaces: w.namespaces.map((ns) => ({ ...ns, pvcs: ns.pvcs.map((p) => ({ ...p, verify: p.verify || c.rsync.verify })) })),
    };
    const wave = new MigrationWave("wave", { plan, sourceKubeconfig: "apiVersion: v1\nkind: Config\n", destinationKubeconfig: "apiVersion: v1\nkind: Config\n" });
    const migration = await mocks.promiseOf(wave.migration) as { namespaces: Record<string, unknown> };
    await mocks.settle();
    const t2 = process.hrtime.bigint();
    if (Object.keys(migration.namespaces).length !== plan.namespaces.length) {
        throw new Error(`the wave output lists ${Object.keys(migration.namespaces).length} namespaces, expected ${plan.namespaces.length}`);
    }
    const sample: ScaleSample = {
        pvcs,
        experiments,
        namespaces: plan.namespaces.length,
        resources: mocks.declared.length,
        loadSeconds: Number(t1 - t0) / 1e9,
        // settle() waits until no registration arrived for 30 ms: that quiet period is not construction
        constructSeconds: Math.max(0, Number(t2 - t1) / 1e9 - 0.03),
        peakRssMiB: vm("VmHWM"),
        baseRssMiB: baseRss,
        heapUsedMiB: process.memoryUsage().heapUsed / 1048576,
    };
    process.stdout.write(`${JSON.stringify(sample)}\n`);
}

/** The experiment "compiled-js": the program compiled by tsc without source maps, run by plain node with
 * source-map-support registered as Pulumi's runner does (it installs it for every program). Compiled once per run
 * into `dir`; the container scripts the components read are copied next to the compiled components. */
export const COMPILED_JS = "compiled-js";
function compile(root: string, dir: string): string {
    const tsc = path.join(root, "node_modules", ".bin", "tsc");
    const res = spawnSync(tsc, ["-p", root, "--outDir", dir, "--sourceMap", "false", "--noEmit", "false"], { encoding: "utf8", maxBuffer: 64 << 20 });
    // tsc emits even when some other file of the project has a type error; only a missing output is fatal
    const out = path.join(dir, "bench", "scale.js");
    if (!fs.existsSync(out)) throw new Error(`experiment ${COMPILED_JS}: tsc wrote no ${out} (${res.status}):\n${res.stdout}${res.stderr}`);
    for (const sub of ["components/transfer/scripts", "components/transport/scripts"]) {
        fs.mkdirSync(path.join(dir, sub), { recursive: true });
        for (const f of fs.readdirSync(path.join(root, sub))) fs.copyFileSync(path.join(root, sub, f), path.join(dir, sub, f));
    }
    return out;
}

/** Runs one child per (size, repetition), sizes interleaved. */
export function runScale(sizes: number[], reps: number, log: (s: string) => void = () => undefined, experiments: string[][] = [], experimentReps = 1): ScaleSample[] {
    const root = path.join(__dirname, "..");
    const out: ScaleSample[] = [];
    let compiled: string | undefined;
    let compiledDir: string | undefined;
    const plain = sizes.map((n) => ({ n, ex: [] as string[] }));
    const tried = experiments.filter((e) => e.length > 0).map((ex) => ({ n: Math.max(...sizes), ex }));
    for (let r = 0; r < Math.max(reps, experimentReps); r++) {
        for (const { n, ex } of [...(r < reps ? plain : []), ...(r < experimentReps ? tried : [])]) {
            let argv = ["-r", "ts-node/register/transpile-only", path.join(__dirname, "scale.ts"), "--child", String(n), ...ex];
            if (ex.includes(COMPILED_JS)) {
                // inside the project (build/ is ignored), so that node finds node_modules
                compiledDir ??= path.join(root, "build", `bench-compiled-${process.pid}`);
                compiled ??= compile(root, compiledDir);
                argv = ["-r", "source-map-support/register", compiled, "--child", String(n), ...ex.filter((e) => e !== COMPILED_JS)];
            }
            const res = spawnSync(process.execPath, argv, {
                cwd: root, encoding: "utf8", maxBuffer: 64 << 20, env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
            });
            if (res.status !== 0) throw new Error(`scale child for ${n} PVCs failed (${res.status}):\n${res.stderr}\n${res.stdout}`);
            const line = res.stdout.trim().split("\n").pop() ?? "";
            const s = JSON.parse(line) as ScaleSample;
            s.experiments = ex;
            log(`scale: ${n} PVCs (${s.namespaces} namespaces, ${s.resources} resources)${ex.length ? ` + ${ex.join(" + ")}` : ""}: ${s.constructSeconds.toFixed(2)} s, peak ${s.peakRssMiB.toFixed(0)} MiB`);
            out.push(s);
        }
    }
    if (compiledDir) fs.rmSync(compiledDir, { recursive: true, force: true });
    return out;
}

/** Least-squares slope of log(y) over log(x): y ~ x^k. */
export function growthExponent(points: [number, number][]): number {
    const p = points.filter(([x, y]) => x > 0 && y > 0).map(([x, y]) => [Math.log(x), Math.log(y)]);
    if (p.length < 2) return NaN;
    const mx = p.reduce((a, [x]) => a + x, 0) / p.length;
    const my = p.reduce((a, [, y]) => a + y, 0) / p.length;
    const sxy = p.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
    const sxx = p.reduce((a, [x]) => a + (x - mx) ** 2, 0);
    return sxy / sxx;
}

if (require.main === module && process.argv[2] === "--child") {
    const n = Number(process.argv[3]);
    if (!Number.isInteger(n) || n < 1) {
        process.stderr.write(`bench/scale.ts --child: PVC count must be a whole number >= 1, got ${JSON.stringify(process.argv[3])}; example: --child 100\n`);
        process.exit(2);
    }
    const experiments = process.argv.slice(4);
    for (const e of experiments) {
        if (!(e in SCALE_EXPERIMENTS)) {
            process.stderr.write(`bench/scale.ts --child: unknown experiment ${JSON.stringify(e)}; one of ${Object.keys(SCALE_EXPERIMENTS).join(", ")}\n`);
            process.exit(2);
        }
    }
    child(n, experiments).catch((e) => { process.stderr.write(`${(e as Error).stack ?? e}\n`); process.exit(1); });
}
