// The end-to-end step of `make bench`: waves of 1 and 4 namespaces through `pulumi up` (the real
// engine of `make toolchain`) between the local pair of real clusters (`make clusters-up`), with the NodePort endpoint,
// as the e2e tier runs them (test/support/clusters.ts). Per wave: the wall time of `pulumi up` and of the `pulumi destroy`
// after it, each PVC's pure transfer time (`dvm: pvc-start` to `dvm: pvc-end` of the source pod's rsync container,
// `kubectl logs --timestamps`), and the points between the start of `pulumi up` and the first byte (Kubernetes object
// times, the log lines, Pulumi's event log). The destination volumes are compared file by file (sha256, size, mode,
// mtime) with the source before a sample counts, so a broken wave is never reported as a fast one.
//
//   hack/bench-e2e.sh <out.json>   (brings the clusters up, puts the toolchain on PATH, runs this file)
//
// Sizes (environment): DVM_BENCH_E2E_NAMESPACES ("1,4": one wave per count)  DVM_BENCH_E2E_PVCS (2 per namespace)
//   DVM_BENCH_E2E_LARGE_MIB (64 per PVC)  DVM_BENCH_E2E_SMALL_FILES (2000 per PVC)  DVM_BENCH_E2E_SMALL_KIB (4)
//   DVM_BENCH_E2E_REPS (2: each wave size this often, sizes interleaved, `pulumi destroy` between)
//   DVM_BENCH_E2E_EXPERIMENTS ("destination-ready,budget-2": comma-separated E2E_EXPERIMENTS below, each run side by
//   side with the program; "" for none)
import * as fs from "node:fs";
import * as path from "node:path";
import { LABELS, ROLE_DESTINATION, ROLE_SOURCE } from "../contract";
import { diff, Entry, snapshot } from "../test/support/dataset";
import {
    createPvc, deleteNamespaces, DST, DST_NODE_ADDRESS, json, kubectlOk, PROJECT_ENTRIES, PvcSpec, requireClusters,
    resetVolumes, SRC, stackYaml, volumeDir, waveYaml,
} from "../test/support/clusters";
import { copyProject, pulumi, pulumiOk, removeWorkDir, workDir } from "../test/support/engine";
import { loadavg, makeLarge, makeSmall } from "./dataplane";
import { E2ESample, enginePoints, Milestones, podTimeline, Transfer } from "./e2e-timeline";

/** The namespaces of the benchmark's waves (source and destination alike): `dvmb-n<wave size>-<i>`. */
const NS_PREFIX = "dvmb-";
const policyPack = path.join(__dirname, "..", "policies");

/** Changes to the program measured side by side with it (opt-in): applied to the throw-away copy of the project, never
 * to the repository's code. Each throws when its anchor is gone (the code changed: the experiment must follow). */
export const E2E_EXPERIMENTS: Record<string, { description: string; apply?: (project: string) => void; policyPack?: false; stack?: Record<string, string> }> = {
    "destination-ready": {
        description: "the source Job created only once the destination side is done (its pod ready, the Deployment awaited): what creating it at once, the source pod's tunnel probe waiting for the rsync daemon, saves",
        apply: (project) => {
            const file = path.join(project, "components", "namespace.ts");
            const anchor = "after: args.waitFor ? [args.waitFor] : [],";
            const text = fs.readFileSync(file, "utf8");
            if (!text.includes(anchor)) throw new Error(`experiment destination-ready: ${file} no longer has the line it changes; update bench/e2e.ts`);
            fs.writeFileSync(file, text.replace(anchor, "after: [destination, ...(args.waitFor ? [args.waitFor] : [])],"));
        },
    },
    "budget-1": {
        description: "dvm:maxConcurrentNamespaces 1: one namespace's source pod at a time",
        stack: { "dvm:maxConcurrentNamespaces": "1" },
    },
    "budget-2": {
        description: "dvm:maxConcurrentNamespaces 2: two namespaces' source pods at a time",
        stack: { "dvm:maxConcurrentNamespaces": "2" },
    },
    "service-await": {
        description: "the destination Service awaited by pulumi-kubernetes, as before 8008b39 (dvm now annotates it `pulumi.com/skipAwait: \"true\"` unless the endpoint is a load balancer): the provider's Service await waits 10 s after an Endpoints update for them to \"settle\" (provider pkg/await/service.go), while the source pod's tunnel probe already waits for the rsync daemon's greeting",
        apply: (project) => {
            const file = path.join(project, "components", "destination.ts");
            const anchor = `...(kind.readsServiceStatus ? {} : { annotations: { "pulumi.com/skipAwait": "true" } }),`;
            const text = fs.readFileSync(file, "utf8");
            if (!text.includes(anchor)) throw new Error(`experiment service-await: ${file} no longer has the Service annotation it removes; update bench/e2e.ts`);
            fs.writeFileSync(file, text.replace(anchor, ""));
        },
    },
    "no-policy-pack": {
        description: "`pulumi up` without `--policy-pack` (the README's commands and the demo run the pack): what the CrossGuard pack costs a wave",
        policyPack: false,
    },
};

function num(name: string, def: number, min: number, max = Infinity): number {
    const v = process.env[name];
    if (v === undefined || v === "") return def;
    if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
        throw new Error(`${name} must be a whole number from ${min}${Number.isFinite(max) ? ` to ${max}` : ""}, got ${JSON.stringify(v)}; example: ${name}=${def}`);
    }
    return Number(v);
}

export function e2eParams() {
    const raw = (process.env.DVM_BENCH_E2E_NAMESPACES ?? "1,4").trim();
    const namespaces = raw.split(",").map((s) => s.trim()).filter((s) => s !== "").map((s) => {
        if (!/^[0-9]+$/.test(s) || Number(s) < 1) throw new Error(`DVM_BENCH_E2E_NAMESPACES: ${JSON.stringify(s)} is not a namespace count; example: DVM_BENCH_E2E_NAMESPACES=1,4`);
        return Number(s);
    });
    if (namespaces.length === 0) throw new Error("DVM_BENCH_E2E_NAMESPACES is empty; example: DVM_BENCH_E2E_NAMESPACES=1,4 (or DVM_BENCH_E2E=0 to skip the step)");
    return {
        namespaces: [...new Set(namespaces)],
        pvcsPerNamespace: num("DVM_BENCH_E2E_PVCS", 2, 1, 20),
        largeMiB: num("DVM_BENCH_E2E_LARGE_MIB", 64, 0),
        smallFiles: num("DVM_BENCH_E2E_SMALL_FILES", 2000, 0),
        smallKiB: num("DVM_BENCH_E2E_SMALL_KIB", 4, 1),
        reps: num("DVM_BENCH_E2E_REPS", 2, 1),
        experiments: (process.env.DVM_BENCH_E2E_EXPERIMENTS ?? "destination-ready,budget-2").split(",").map((x) => x.trim()).filter((x) => x !== "").map((x) => {
            if (!(x in E2E_EXPERIMENTS)) throw new Error(`DVM_BENCH_E2E_EXPERIMENTS: ${JSON.stringify(x)} is not one of ${Object.keys(E2E_EXPERIMENTS).join(", ")}; example: DVM_BENCH_E2E_EXPERIMENTS=destination-ready,budget-2`);
            return x;
        }),
    };
}
export type E2EParams = ReturnType<typeof e2eParams>;

export interface E2EMeasured {
    measured: true;
    params: E2EParams;
    samples: E2ESample[];
    /** seconds to bring the clusters up (0 when they were up already), to seed the source volumes */
    clustersUpSeconds: number;
    broughtUp: boolean;
    seedSeconds: number;
    startedAt: string;
    seconds: number;
    /** how `pulumi up` was run */
    command: string;
    /** what each experiment of params.experiments changed */
    experiments?: Record<string, string>;
}
export interface E2ENotMeasured { measured: false; reason: string; how?: string }
export type E2EResult = E2EMeasured | E2ENotMeasured;

function log(s: string): void {
    process.stderr.write(`bench e2e: ${s}\n`);
}

const time = (t: string | undefined): number => (t ? Date.parse(t) : NaN);
const minOf = (xs: number[]): number | undefined => {
    const v = xs.filter((x) => Number.isFinite(x));
    return v.length ? Math.min(...v) : undefined;
};
const maxOf = (xs: number[]): number | undefined => {
    const v = xs.filter((x) => Number.isFinite(x));
    return v.length ? Math.max(...v) : undefined;
};

interface WaveDef { size: number; name: string; stack: string; pvcs: PvcSpec[]; namespaces: string[] }

function waveDef(size: number, pvcsPerNamespace: number): WaveDef {
    const namespaces = Array.from({ length: size }, (_, i) => `${NS_PREFIX}n${size}-${i + 1}`);
    const pvcs = namespaces.flatMap((ns) => Array.from({ length: pvcsPerNamespace }, (_, j) => ({ ns, pvc: `vol-${j + 1}`, targetNs: ns, targetPvc: `vol-${j + 1}` })));
    return { size, name: `bench-e2e-${size}ns`, stack: `bench-${size}ns`, pvcs, namespaces };
}

/** The Kubernetes and log points of one finished wave, in epoch ms. */
function timeline(w: WaveDef): { transfers: Transfer[]; points: Record<"firstObject" | "destinationReady" | "sourceJob" | "sourceStarted" | "tunnelUp" | "jobComplete", number | undefined> } {
    const transfers: Transfer[] = [];
    const firstObject: number[] = [];
    const destinationReady: number[] = [];
    const sourceJob: number[] = [];
    const sourceStarted: number[] = [];
    const tunnelUp: number[] = [];
    const jobComplete: number[] = [];
    const sel = (role: string) => `${LABELS.wave}=${w.name},${LABELS.role}=${role}`;
    for (const ns of w.namespaces) {
        firstObject.push(time(json(DST, ["get", "namespace", ns]).metadata?.creationTimestamp));
        for (const ctx of [SRC, DST]) {
            for (const o of json(ctx, ["-n", ns, "get", "secrets,configmaps", "-l", `${LABELS.wave}=${w.name}`]).items ?? []) {
                firstObject.push(time(o.metadata?.creationTimestamp));
            }
        }
        for (const pod of json(DST, ["-n", ns, "get", "pods", "-l", sel(ROLE_DESTINATION)]).items ?? []) {
            const ready = (pod.status?.conditions ?? []).find((c: any) => c.type === "Ready" && c.status === "True");
            destinationReady.push(time(ready?.lastTransitionTime));
        }
        for (const job of json(SRC, ["-n", ns, "get", "jobs", "-l", sel(ROLE_SOURCE)]).items ?? []) {
            sourceJob.push(time(job.metadata?.creationTimestamp));
            jobComplete.push(time(job.status?.completionTime));
        }
        const pods = (json(SRC, ["-n", ns, "get", "pods", "-l", sel(ROLE_SOURCE)]).items ?? [])
            .sort((a: any, b: any) => time(a.metadata.creationTimestamp) - time(b.metadata.creationTimestamp));
        if (pods.length !== 1) throw new Error(`namespace ${ns}: expected one source transfer pod of wave ${w.name}, found ${pods.length} (a retried pod would mix attempts)`);
        const logText = kubectlOk(SRC, ["-n", ns, "logs", pods[0].metadata.name, "-c", "rsync", "--timestamps"]);
        const t = podTimeline(ns, logText);
        if (t.tunnelWait !== undefined) sourceStarted.push(t.tunnelWait);
        if (t.tunnelUp !== undefined) tunnelUp.push(t.tunnelUp);
        const names = new Set(t.transfers.map((x) => x.pvc));
        for (const p of w.pvcs.filter((x) => x.ns === ns)) {
            if (!names.has(p.pvc)) throw new Error(`namespace ${ns}: no pvc-start/pvc-end of ${p.pvc} in the rsync log:\n${logText.slice(-2000)}`);
        }
        transfers.push(...t.transfers);
    }
    return {
        transfers,
        points: {
            firstObject: minOf(firstObject), destinationReady: minOf(destinationReady), sourceJob: minOf(sourceJob),
            sourceStarted: minOf(sourceStarted), tunnelUp: minOf(tunnelUp), jobComplete: maxOf(jobComplete),
        },
    };
}

async function main(): Promise<void> {
    const out = process.argv[2];
    if (!out) throw new Error("usage: bench/e2e.ts <out.json> (hack/bench-e2e.sh runs it)");
    requireClusters("`make bench-e2e` or `DVM_BENCH_E2E=1 make bench`");
    const p = e2eParams();
    const started = Date.now();
    const waves = p.namespaces.map((n) => waveDef(n, p.pvcsPerNamespace));
    const allNs = waves.flatMap((w) => w.namespaces);

    // a clean slate: namespaces of an earlier (interrupted) run, their volumes
    log(`clean slate: ${allNs.length} namespaces on both clusters`);
    deleteNamespaces(SRC, allNs);
    deleteNamespaces(DST, allNs);
    resetVolumes();
    const available = (ctx: string) => (json(ctx, ["get", "pv", "-l", "dvm.io/local-pv=true"]).items ?? []).filter((v: any) => v.status?.phase === "Available").length;
    const needSrc = waves.reduce((n, w) => n + w.pvcs.length, 0);
    const needDst = Math.max(...waves.map((w) => w.pvcs.length));
    if (available(SRC) < needSrc || available(DST) < needDst) {
        throw new Error(`DVM_BENCH_E2E_NAMESPACES=${p.namespaces.join(",")} x DVM_BENCH_E2E_PVCS=${p.pvcsPerNamespace} needs ${needSrc} free local volumes on the source cluster and ${needDst} on the destination; `
            + `there are ${available(SRC)} and ${available(DST)} (hack/clusters/lib.sh: DVM_PV_COUNT, default 24, and the e2e tier's own volumes); example: DVM_BENCH_E2E_NAMESPACES=1,4 DVM_BENCH_E2E_PVCS=2`);
    }

    // seed: every PVC the same payload, large files and small files (bench/dataplane.ts's generators)
    let t = Date.now();
    const sources = new Map<string, Map<string, Entry>>();
    const payload = { bytes: p.largeMiB * 2 ** 20 + p.smallFiles * p.smallKiB * 1024, files: (p.largeMiB > 0 ? Math.ceil(p.largeMiB / 256) : 0) + p.smallFiles };
    for (const ns of allNs) kubectlOk(SRC, ["create", "namespace", ns]);
    for (const w of waves) {
        for (const pvc of w.pvcs) {
            const dir = createPvc(SRC, pvc.ns, pvc.pvc);
            if (p.largeMiB > 0) makeLarge(path.join(dir, "large"), p.largeMiB);
            if (p.smallFiles > 0) makeSmall(path.join(dir, "small"), p.smallFiles, p.smallKiB);
            sources.set(`${pvc.ns}/${pvc.pvc}`, snapshot(dir));
        }
    }
    const seedSeconds = (Date.now() - t) / 1000;
    log(`seeded ${needSrc} source PVCs with ${(payload.bytes / 2 ** 20).toFixed(0)} MiB, ${payload.files} files each in ${seedSeconds.toFixed(1)} s`);

    const work = workDir("bench-e2e");
    const samples: E2ESample[] = [];
    const upArgs = ["--policy-pack", policyPack, "--policy-pack-config", path.join(policyPack, "config", "root.json")];
    try {
        const capacity = `${Math.max(1, Math.ceil((payload.bytes * 1.2) / 2 ** 30))}Gi`;
        // the program, and each experiment in a copy of its own (same state backend, stacks named after it)
        const runs: Array<{ w: WaveDef; experiment?: string; project: string; stack: string }> = [];
        for (const experiment of [undefined, ...p.experiments]) {
            const dir = experiment ? path.join(work, `experiment-${experiment}`) : work;
            fs.mkdirSync(dir, { recursive: true });
            const project = copyProject(dir, PROJECT_ENTRIES);
            if (experiment) E2E_EXPERIMENTS[experiment].apply?.(project);
            fs.mkdirSync(path.join(project, "stacks"), { recursive: true });
            for (const w of waves) {
                const stack = experiment ? `${w.stack}-${experiment}` : w.stack;
                fs.writeFileSync(path.join(project, "waves", `${w.name}.yaml`), waveYaml(w.name, w.pvcs, [], capacity));
                // the default stunnel wait (600 s): a tunnel that never comes up fails the step, it is not timed
                fs.writeFileSync(path.join(project, "stacks", `Pulumi.${stack}.yaml`), stackYaml(`waves/${w.name}.yaml`, DST_NODE_ADDRESS, 600, experiment ? E2E_EXPERIMENTS[experiment].stack : {}));
                pulumiOk(work, project, ["stack", "init", stack]);
                runs.push({ w, experiment, project, stack });
            }
        }
        for (let rep = 1; rep <= p.reps; rep++) {
            // rotate the order each repetition, so that drift in the machine's load does not favour one wave size
            const order = runs.map((_, i) => runs[(i + rep - 1) % runs.length]);
            for (const { w, experiment, project, stack } of order) {
                const t0 = Date.now();
                const withPack = !experiment || E2E_EXPERIMENTS[experiment].policyPack !== false;
                const up = pulumi(work, project, ["up", "--yes", "--skip-preview", "--stack", stack, "--json", ...(withPack ? upArgs : [])]);
                if (up.code !== 0) throw new Error(`pulumi up of wave ${w.name} (rep ${rep}) exited ${up.code}:\n${up.output.slice(-6000)}`);
                const load = loadavg();

                // the outputs say Succeeded, and the destination holds what the source holds
                const migration = JSON.parse(pulumiOk(work, project, ["stack", "output", "migration", "--json", "--stack", stack]).stdout);
                let transferredBytes = 0;
                const verified = { files: 0, bytes: 0 };
                for (const pvc of w.pvcs) {
                    const rec = migration.namespaces?.[pvc.ns]?.pvcs?.[pvc.pvc];
                    if (rec?.phase !== "Succeeded") throw new Error(`wave ${w.name} rep ${rep}: ${pvc.ns}/${pvc.pvc} is not Succeeded in the stack output: ${JSON.stringify(rec)}`);
                    transferredBytes += Number(rec.transferredBytes) || 0;
                    const dst = snapshot(volumeDir(DST, pvc.targetNs, pvc.targetPvc));
                    const d = diff(sources.get(`${pvc.ns}/${pvc.pvc}`)!, dst, { owners: true });
                    if (d.length > 0) throw new Error(`wave ${w.name} rep ${rep}: ${pvc.ns}/${pvc.pvc} differs on the destination (${d.length} differences): ${d.slice(0, 10).join("; ")}`);
                    for (const e of dst.values()) if (e.type === "file") { verified.files++; verified.bytes += e.size; }
                }
                if (verified.bytes < payload.bytes * w.pvcs.length) throw new Error(`wave ${w.name} rep ${rep}: the destination holds ${verified.bytes} bytes, ${payload.bytes * w.pvcs.length} were seeded`);

                const tl = timeline(w);
                const rel = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? undefined : (ms - t0) / 1000);
                const ev = enginePoints(up.stdout);
                const milestones: Milestones = {
                    engineStarted: rel(ev.prelude), firstObject: rel(tl.points.firstObject), destinationReady: rel(tl.points.destinationReady),
                    destinationDone: rel(ev.destinationDone), sourceJob: rel(tl.points.sourceJob), sourceStarted: rel(tl.points.sourceStarted),
                    tunnelUp: rel(tl.points.tunnelUp),
                    firstByte: rel(Math.min(...tl.transfers.map((x) => x.start)))!, lastByte: rel(Math.max(...tl.transfers.map((x) => x.end)))!,
                    jobComplete: rel(tl.points.jobComplete), progressDone: rel(ev.progressDone),
                };

                t = Date.now();
                pulumiOk(work, project, ["destroy", "--yes", "--skip-preview", "--stack", stack]);
                const destroySeconds = (Date.now() - t) / 1000;
                // the program keeps destination namespaces and PVCs on destroy (retainOnDelete: migrated data is never
                // removed by Pulumi); the next repetition starts from an empty destination
                deleteNamespaces(DST, w.namespaces);
                resetVolumes(["dst"]);
                if (process.env.DVM_BENCH_KEEP === "1") fs.writeFileSync(path.join(work, `up-${stack}-${rep}.json`), up.stdout);

                const s: E2ESample = {
                    namespaces: w.size, pvcs: w.pvcs.length, rep, ...(experiment ? { experiment } : {}), bytes: payload.bytes * w.pvcs.length, files: payload.files * w.pvcs.length,
                    upSeconds: up.seconds, destroySeconds, transfers: tl.transfers, milestones, verified, transferredBytes, loadavg: load,
                };
                samples.push(s);
                const sum = s.transfers.reduce((n, x) => n + x.seconds, 0);
                log(`rep ${rep}, ${w.size} namespace(s), ${w.pvcs.length} PVCs${experiment ? `, experiment ${experiment}` : ""}: pulumi up ${s.upSeconds.toFixed(1)} s, transfers ${sum.toFixed(1)} s in all, `
                    + `first byte after ${milestones.firstByte.toFixed(1)} s, last after ${milestones.lastByte.toFixed(1)} s; destroy ${destroySeconds.toFixed(1)} s; load ${load.split(" ").slice(0, 3).join(" ")}`);
            }
        }
    } finally {
        if (process.env.DVM_BENCH_KEEP === "1") {
            log(`kept the namespaces ${allNs.join(", ")} and ${work}`);
        } else {
            // a failed run leaves its stacks up: the namespaces go with everything in them
            deleteNamespaces(SRC, allNs);
            deleteNamespaces(DST, allNs);
            resetVolumes();
            removeWorkDir(work);
        }
    }
    const result: E2EMeasured = {
        measured: true, params: p, samples,
        clustersUpSeconds: Number(process.env.DVM_BENCH_E2E_CLUSTERS_UP_SECONDS ?? 0), broughtUp: process.env.DVM_BENCH_E2E_BROUGHT_UP === "1",
        seedSeconds, startedAt: new Date(started).toISOString(), seconds: (Date.now() - started) / 1000,
        experiments: Object.fromEntries(p.experiments.map((x) => [x, E2E_EXPERIMENTS[x].description])),
        command: `pulumi up --yes --skip-preview --json ${upArgs.join(" ").replaceAll(path.join(__dirname, ".."), ".")}`,
    };
    fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
}

if (require.main === module) {
    main().catch((e) => {
        process.stderr.write(`bench e2e: FAILED: ${(e as Error).stack ?? e}\n`);
        process.exit(1);
    });
}
