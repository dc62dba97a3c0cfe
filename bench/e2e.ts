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
//   DVM_BENCH_E2E_PARTS ("waves,cutover": the waves above, and the cutover window - cutoverPart below: a namespace of
//   DVM_BENCH_E2E_PVCS PVCs of the same payload, a Deployment writing to them, DVM_BENCH_E2E_CUTOVER_REPS (3) times an
//   incremental stage pass and a cutover with 1% of the files changed, a rollback after each)
import * as fs from "node:fs";
import * as path from "node:path";
import { ANNOTATIONS, LABELS, MIGRATION_MODES, ROLE_DESTINATION, ROLE_SOURCE } from "../contract";
import { diff, Entry, snapshot } from "../test/support/dataset";
import {
    createPvc, deleteNamespaces, DST, DST_NODE_ADDRESS, IMAGE, json, kubectlOk, PROJECT_ENTRIES, PvcSpec, requireClusters,
    resetVolumes, SRC, stackYaml, volumeDir, waitFor, waveYaml,
} from "../test/support/clusters";
import { copyProject, pulumi, pulumiOk, removeWorkDir, workDir } from "../test/support/engine";
import { changeFiles, loadavg, makeLarge, makeSmall } from "./dataplane";
import { CutoverSample, E2ESample, enginePoints, Milestones, PassRun, podTimeline, Transfer } from "./e2e-timeline";

/** The namespaces of the benchmark's waves (source and destination alike): `dvmb-n<wave size>-<i>`. */
const NS_PREFIX = "dvmb-";
const policyPack = path.join(__dirname, "..", "policies");
const upArgs = ["--policy-pack", policyPack, "--policy-pack-config", path.join(policyPack, "config", "root.json")];

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

/** The parts of the step: the waves (wave time, first byte) and the cutover window. */
export const E2E_PARTS = ["waves", "cutover"] as const;

export function e2eParams() {
    const raw = (process.env.DVM_BENCH_E2E_NAMESPACES ?? "1,4").trim();
    const namespaces = raw.split(",").map((s) => s.trim()).filter((s) => s !== "").map((s) => {
        if (!/^[0-9]+$/.test(s) || Number(s) < 1) throw new Error(`DVM_BENCH_E2E_NAMESPACES: ${JSON.stringify(s)} is not a namespace count; example: DVM_BENCH_E2E_NAMESPACES=1,4`);
        return Number(s);
    });
    if (namespaces.length === 0) throw new Error("DVM_BENCH_E2E_NAMESPACES is empty; example: DVM_BENCH_E2E_NAMESPACES=1,4 (or DVM_BENCH_E2E=0 to skip the step)");
    const parts = (process.env.DVM_BENCH_E2E_PARTS ?? "waves,cutover").split(",").map((x) => x.trim()).filter((x) => x !== "");
    for (const x of parts) {
        if (!E2E_PARTS.includes(x as never)) throw new Error(`DVM_BENCH_E2E_PARTS: ${JSON.stringify(x)} is not one of ${E2E_PARTS.join(", ")}; example: DVM_BENCH_E2E_PARTS=cutover (only the cutover window)`);
    }
    if (parts.length === 0) throw new Error("DVM_BENCH_E2E_PARTS is empty; example: DVM_BENCH_E2E_PARTS=waves,cutover (or DVM_BENCH_E2E=0 to skip the step)");
    return {
        parts: [...new Set(parts)] as Array<(typeof E2E_PARTS)[number]>,
        // each repetition after the first stages the wave again after the previous one's rollback
        cutoverReps: num("DVM_BENCH_E2E_CUTOVER_REPS", 3, 1),
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
    /** the cutover window (part "cutover"); absent when the part was not selected */
    cutover?: CutoverMeasured;
}
export interface CutoverMeasured {
    samples: CutoverSample[];
    /** the first stage pass (everything copied), `pulumi up` wall time */
    fullPassUpSeconds: number;
    startedAt: string;
    seconds: number;
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

/** The Kubernetes and log points of one finished wave, in epoch ms (`pass`: of that pass's source Job only). */
function timeline(w: WaveDef, pass?: number): { transfers: Transfer[]; points: Record<"firstObject" | "destinationReady" | "sourceJob" | "sourceStarted" | "tunnelUp" | "jobComplete", number | undefined> } {
    const transfers: Transfer[] = [];
    const firstObject: number[] = [];
    const destinationReady: number[] = [];
    const sourceJob: number[] = [];
    const sourceStarted: number[] = [];
    const tunnelUp: number[] = [];
    const jobComplete: number[] = [];
    const sel = (role: string) => `${LABELS.wave}=${w.name},${LABELS.role}=${role}${pass !== undefined && role === ROLE_SOURCE ? `,${LABELS.pass}=${pass}` : ""}`;
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

/** The error and warning messages of `pulumi up --json` (its engine events also carry the debug log, secrets included). */
function diagnostics(stdout: string): string {
    const out: string[] = [];
    for (const line of stdout.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
            const d = JSON.parse(line).diagnosticEvent;
            if (d && (d.severity === "error" || d.severity === "warning")) out.push(`${d.severity}: ${d.urn ?? ""} ${d.message}`);
        } catch { /* not an event */ }
    }
    return out.join("\n").slice(-6000);
}

/** The cutover part's wave: one namespace, its PVCs mounted by the Deployment CUTOVER_APP. */
function cutoverDef(pvcsPerNamespace: number): WaveDef {
    const ns = `${NS_PREFIX}cutover`;
    const pvcs = Array.from({ length: pvcsPerNamespace }, (_, j) => ({ ns, pvc: `vol-${j + 1}`, targetNs: ns, targetPvc: `vol-${j + 1}` }));
    return { size: 1, name: "bench-e2e-cutover", stack: "bench-cutover", pvcs, namespaces: [ns] };
}

/** The application of the cutover part: a Deployment of one replica that mounts every PVC of the wave and appends a
 * line to `<pvc>/CUTOVER_APP_DIR/log` each second (in the transfer image the clusters have); it stops at once on
 * SIGTERM, so the quiesce waits for Kubernetes, not for a grace period. */
const CUTOVER_APP = "bench-app";
/** Sorted after the data's `large/` and `small/`: 1% of the files (changeFiles) never picks the application's log. */
const CUTOVER_APP_DIR = "zz-app";

function cutoverApp(w: WaveDef): string {
    const ns = w.namespaces[0];
    const mounts = w.pvcs.map((p, i) => ({ name: `v${i}`, mountPath: `/data/${p.pvc}` }));
    const script = `trap 'exit 0' TERM; while :; do for d in /data/*; do mkdir -p "$d/${CUTOVER_APP_DIR}"; date +%s%N >> "$d/${CUTOVER_APP_DIR}/log"; done; sleep 1 & wait $!; done`;
    return JSON.stringify({
        apiVersion: "apps/v1", kind: "Deployment", metadata: { name: CUTOVER_APP, namespace: ns },
        spec: {
            replicas: 1, selector: { matchLabels: { app: CUTOVER_APP } },
            template: {
                metadata: { labels: { app: CUTOVER_APP } },
                spec: {
                    containers: [{ name: "writer", image: IMAGE, command: ["/bin/bash", "-c", script], volumeMounts: mounts }],
                    volumes: w.pvcs.map((p, i) => ({ name: `v${i}`, persistentVolumeClaim: { claimName: p.pvc } })),
                },
            },
        },
    });
}

/**
 * The cutover window (issue 18 item 8): a stage pass copies the namespace while its application writes; then per
 * repetition 1% of the files change and a plain incremental stage pass runs, the same files are changed back (1%
 * differs again) and a cutover runs its final pass, and a rollback brings the application back. Every pass is
 * checked: its records Succeeded, the destination equal to the source file by file.
 */
function cutoverPart(p: E2EParams, w: WaveDef, work: string, capacity: string): CutoverMeasured {
    const started = Date.now();
    const ns = w.namespaces[0];
    const dirs = new Map(w.pvcs.map((x) => [x.pvc, volumeDir(SRC, ns, x.pvc)]));
    kubectlOk(SRC, ["apply", "-f", "-"], cutoverApp(w));
    const appRunning = () => waitFor(`the Deployment ${ns}/${CUTOVER_APP} to run its pod`, 180, () => {
        const pods = (json(SRC, ["-n", ns, "get", "pods", "-l", `app=${CUTOVER_APP}`]).items ?? []) as any[];
        const ready = pods.filter((x) => !x.metadata.deletionTimestamp && (x.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"));
        // and it wrote: the stage passes copy a volume in use
        return ready.length === 1 && [...dirs.values()].every((d) => fs.existsSync(path.join(d, CUTOVER_APP_DIR, "log"))) ? true : undefined;
    });
    appRunning();

    const dir = path.join(work, "cutover");
    fs.mkdirSync(dir, { recursive: true });
    const project = copyProject(dir, PROJECT_ENTRIES);
    fs.mkdirSync(path.join(project, "stacks"), { recursive: true });
    fs.writeFileSync(path.join(project, "waves", `${w.name}.yaml`), waveYaml(w.name, w.pvcs, [], capacity));
    fs.writeFileSync(path.join(project, "stacks", `Pulumi.${w.stack}.yaml`), stackYaml(`waves/${w.name}.yaml`, DST_NODE_ADDRESS, 600));
    pulumiOk(work, project, ["stack", "init", w.stack]);
    const config = (settings: Record<string, string>) => {
        for (const [k, v] of Object.entries(settings)) pulumiOk(work, project, ["config", "set", "--stack", w.stack, k, v]);
    };
    const up = (what: string) => {
        const r = pulumi(work, project, ["up", "--yes", "--skip-preview", "--stack", w.stack, "--json", ...upArgs]);
        if (r.code !== 0) throw new Error(`cutover part: pulumi up of ${what} exited ${r.code}:\n${diagnostics(r.stdout) || r.output.slice(-6000)}`);
        return { ...r, migration: JSON.parse(pulumiOk(work, project, ["stack", "output", "migration", "--json", "--stack", w.stack]).stdout) };
    };
    /** A pass: `pulumi up`, its records Succeeded, the destination equal to the source (`skip`: top-level names
     * left out, the running application's), its points. */
    const runPass = (pass: number, mode: typeof MIGRATION_MODES.stage | typeof MIGRATION_MODES.cutover, skip: string[]): PassRun => {
        config({ "dvm:migration": mode, "dvm:pass": String(pass) });
        const t0 = Date.now();
        const r = up(`pass ${pass} (${mode})`);
        const rec = r.migration.namespaces?.[ns];
        for (const x of w.pvcs) {
            const pvc = rec?.pvcs?.[x.pvc];
            if (pvc?.phase !== "Succeeded" || pvc.reason) throw new Error(`cutover part, pass ${pass} (${mode}): ${ns}/${x.pvc} is not Succeeded (or has a reason) in the stack output: ${JSON.stringify(pvc)}`);
            const d = diff(snapshot(dirs.get(x.pvc)!, skip), snapshot(volumeDir(DST, x.targetNs, x.targetPvc), skip), { owners: true });
            if (d.length > 0) throw new Error(`cutover part, pass ${pass} (${mode}): ${ns}/${x.pvc} differs on the destination (${d.length} differences): ${d.slice(0, 10).join("; ")}`);
        }
        if (mode === MIGRATION_MODES.cutover && rec?.quiesced !== true) throw new Error(`cutover part, pass ${pass}: the stack output does not say quiesced: ${JSON.stringify(rec)}`);
        const tl = timeline(w, pass);
        const ev = enginePoints(r.stdout);
        const rel = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? undefined : (ms - t0) / 1000);
        if (mode === MIGRATION_MODES.cutover && ev.quiesceStart === undefined) throw new Error(`cutover part, pass ${pass}: no SourceQuiesce step in the engine's events of pulumi up --json`);
        return {
            pass, upSeconds: r.seconds, transfers: tl.transfers,
            points: {
                quiesceStart: rel(ev.quiesceStart), quiesceDone: rel(ev.quiesceDone), sourceJob: rel(tl.points.sourceJob), sourceStarted: rel(tl.points.sourceStarted),
                tunnelUp: rel(tl.points.tunnelUp), firstByte: rel(Math.min(...tl.transfers.map((x) => x.start)))!, lastByte: rel(Math.max(...tl.transfers.map((x) => x.end)))!,
                jobComplete: rel(tl.points.jobComplete), progressDone: rel(ev.progressDone),
            },
        };
    };
    const skipApp = [CUTOVER_APP_DIR, "lost+found"];

    let pass = 1;
    const full = runPass(pass, MIGRATION_MODES.stage, skipApp);
    log(`cutover part: the stage pass (everything) took ${full.upSeconds.toFixed(1)} s of pulumi up`);
    const samples: CutoverSample[] = [];
    const payload = { bytes: 0, files: 0 };
    for (const d of dirs.values()) {
        for (const e of snapshot(d, skipApp).values()) if (e.type === "file") { payload.files++; payload.bytes += e.size; }
    }
    for (let rep = 1; rep <= p.cutoverReps; rep++) {
        const changes = [...dirs.values()].map((d) => changeFiles(d, 0.01));
        const changed = changes.flatMap((c) => c.files);
        const app = changed.find((f) => f.split(path.sep).includes(CUTOVER_APP_DIR));
        if (app) throw new Error(`cutover part: changeFiles picked the application's own file ${app}; rename CUTOVER_APP_DIR so it sorts after the data`);
        const incremental = runPass(++pass, MIGRATION_MODES.stage, skipApp);
        for (const c of changes) c.revert();
        // the application stops now: the destination must equal the quiesced source, its log included
        const cut = runPass(++pass, MIGRATION_MODES.cutover, ["lost+found"]);
        const replicas = json(SRC, ["-n", ns, "get", "deployment", CUTOVER_APP]);
        if (replicas.spec?.replicas !== 0 || replicas.metadata?.annotations?.[ANNOTATIONS.preQuiesceReplicas] !== "1") {
            throw new Error(`cutover part, pass ${pass}: the Deployment is not quiesced as the cutover says: replicas ${replicas.spec?.replicas}, annotations ${JSON.stringify(replicas.metadata?.annotations)}`);
        }
        config({ "dvm:migration": MIGRATION_MODES.rollback });
        const rb = up(`the rollback after pass ${pass}`);
        if (json(SRC, ["-n", ns, "get", "deployment", CUTOVER_APP]).spec?.replicas !== 1) throw new Error(`cutover part: the rollback after pass ${pass} did not bring the Deployment back to 1 replica`);
        appRunning();
        const s: CutoverSample = {
            rep, pvcs: w.pvcs.length, changedFiles: changed.length, bytes: payload.bytes, files: payload.files,
            incremental, cutover: cut, rollbackSeconds: rb.seconds, loadavg: loadavg(),
        };
        samples.push(s);
        const q = cut.points.quiesceStart!;
        log(`cutover part, rep ${rep} (${changed.length} files changed): incremental stage pass ${(incremental.points.lastByte - incremental.points.firstByte).toFixed(2)} s (pulumi up ${incremental.upSeconds.toFixed(1)} s); `
            + `cutover window ${(cut.points.lastByte - q).toFixed(1)} s to the end of the final pass, ${(cut.upSeconds - q).toFixed(1)} s to pulumi up's exit; rollback ${rb.seconds.toFixed(1)} s; load ${s.loadavg.split(" ").slice(0, 3).join(" ")}`);
    }
    pulumiOk(work, project, ["destroy", "--yes", "--skip-preview", "--stack", w.stack]);
    return { samples, fullPassUpSeconds: full.upSeconds, startedAt: new Date(started).toISOString(), seconds: (Date.now() - started) / 1000 };
}

async function main(): Promise<void> {
    const out = process.argv[2];
    if (!out) throw new Error("usage: bench/e2e.ts <out.json> (hack/bench-e2e.sh runs it)");
    requireClusters("`make bench-e2e` or `DVM_BENCH_E2E=1 make bench`");
    const p = e2eParams();
    const started = Date.now();
    const waves = p.parts.includes("waves") ? p.namespaces.map((n) => waveDef(n, p.pvcsPerNamespace)) : [];
    const cutoverWave = p.parts.includes("cutover") ? cutoverDef(p.pvcsPerNamespace) : undefined;
    const allNs = [...waves.flatMap((w) => w.namespaces), ...(cutoverWave?.namespaces ?? [])];

    // a clean slate: namespaces of an earlier (interrupted) run, their volumes
    log(`clean slate: ${allNs.length} namespaces on both clusters`);
    deleteNamespaces(SRC, allNs);
    deleteNamespaces(DST, allNs);
    resetVolumes();
    const available = (ctx: string) => (json(ctx, ["get", "pv", "-l", "dvm.io/local-pv=true"]).items ?? []).filter((v: any) => v.status?.phase === "Available").length;
    const needSrc = [...waves, ...(cutoverWave ? [cutoverWave] : [])].reduce((n, w) => n + w.pvcs.length, 0);
    // the waves' destination volumes are made free again after each repetition, before the cutover part
    const needDst = Math.max(...[...waves, ...(cutoverWave ? [cutoverWave] : [])].map((w) => w.pvcs.length));
    if (available(SRC) < needSrc || available(DST) < needDst) {
        throw new Error(`DVM_BENCH_E2E_NAMESPACES=${p.namespaces.join(",")} x DVM_BENCH_E2E_PVCS=${p.pvcsPerNamespace} needs ${needSrc} free local volumes on the source cluster and ${needDst} on the destination; `
            + `there are ${available(SRC)} and ${available(DST)} (hack/clusters/lib.sh: DVM_PV_COUNT, default 24, and the e2e tier's own volumes); example: DVM_BENCH_E2E_NAMESPACES=1,4 DVM_BENCH_E2E_PVCS=2`);
    }

    // seed: every PVC the same payload, large files and small files (bench/dataplane.ts's generators)
    let t = Date.now();
    const sources = new Map<string, Map<string, Entry>>();
    const payload = { bytes: p.largeMiB * 2 ** 20 + p.smallFiles * p.smallKiB * 1024, files: (p.largeMiB > 0 ? Math.ceil(p.largeMiB / 256) : 0) + p.smallFiles };
    for (const ns of allNs) kubectlOk(SRC, ["create", "namespace", ns]);
    for (const w of [...waves, ...(cutoverWave ? [cutoverWave] : [])]) {
        for (const pvc of w.pvcs) {
            const dir = createPvc(SRC, pvc.ns, pvc.pvc);
            if (p.largeMiB > 0) makeLarge(path.join(dir, "large"), p.largeMiB);
            if (p.smallFiles > 0) makeSmall(path.join(dir, "small"), p.smallFiles, p.smallKiB);
            // (the cutover part compares after each pass: its application writes meanwhile)
            if (w !== cutoverWave) sources.set(`${pvc.ns}/${pvc.pvc}`, snapshot(dir));
        }
    }
    const seedSeconds = (Date.now() - t) / 1000;
    log(`seeded ${needSrc} source PVCs with ${(payload.bytes / 2 ** 20).toFixed(0)} MiB, ${payload.files} files each in ${seedSeconds.toFixed(1)} s`);

    const work = workDir("bench-e2e");
    const samples: E2ESample[] = [];
    let cutover: CutoverMeasured | undefined;
    const capacity = `${Math.max(1, Math.ceil((payload.bytes * 1.2) / 2 ** 30))}Gi`;
    try {
        // the program, and each experiment in a copy of its own (same state backend, stacks named after it)
        const runs: Array<{ w: WaveDef; experiment?: string; project: string; stack: string }> = [];
        for (const experiment of waves.length > 0 ? [undefined, ...p.experiments] : []) {
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
        if (cutoverWave) cutover = cutoverPart(p, cutoverWave, work, capacity);
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
        ...(cutover ? { cutover } : {}),
    };
    fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
}

if (require.main === module) {
    main().catch((e) => {
        process.stderr.write(`bench e2e: FAILED: ${(e as Error).stack ?? e}\n`);
        process.exit(1);
    });
}
