// Summaries of a benchmark run: medians, ratios, targets; bench/results.json, bench/results.md, bench/throughput.png,
// and the generated block of docs/benchmarks.md.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { E2EMeasured, E2EResult } from "./e2e";
import { CUTOVER_STEPS, CutoverSample, cutoverStats, E2ESample, Milestones, sampleStats } from "./e2e-timeline";
import type { Results } from "./run";
import { COMPILED_JS, SCALE_EXPERIMENTS } from "./scale";

export function median(xs: number[]): number {
    const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    if (v.length === 0) return NaN;
    const m = Math.floor(v.length / 2);
    return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const pct = (x: number, d = 2) => (Number.isFinite(x) ? `${(x * 100).toFixed(d)}%` : "n/a");

export const LABELS: Record<string, string> = {
    iperf: "iperf3, one stream (limit)",
    "iperf-stunnel": "iperf3 through dvm's stunnel pair (limit)",
    pipe: "`tar \\| socat`, 1 MiB buffers (limit)",
    read: "reading the source tree (limit)",
    generated: "**dvm generated**",
    mtc: "MTC default",
};

/** The limits of bench/limits.ts: the link's (iperf3, measured once per repetition, data set "link") and the data
 * set's own (the pipe, reading). */
export const LINK_LIMITS = ["iperf", "iperf-stunnel"] as const;
export const TREE_LIMITS = ["pipe", "read"] as const;
const LIMITS: readonly string[] = [...LINK_LIMITS, ...TREE_LIMITS];

/** A timed run shorter than this is marked in the report: start-up and scheduling noise weigh too much in it. */
export const SHORT_RUN_SECONDS = 10;

export interface Row {
    dataset: string;
    config: string;
    reps: number;
    seconds: number;
    min: number;
    max: number;
    mbps: number;
    filesPerSecond: number;
    /** this row's speed over each limit's (MB/s; for the data set's own limits the same as the time ratio) */
    vs: Record<string, number>;
    vsMtc: number;
    startupSeconds: number;
    /** CPU seconds of every process of the transfer (rsync client and daemon, both stunnels; tar and socat for the
     * pipe; iperf3 and the stunnels for the link) per GB (1e9 bytes) of payload: what the copy costs, much less
     * sensitive to a busy machine than the wall time */
    cpuPerGB: number;
    /** cpuPerGB over each limit's */
    cpuVs: Record<string, number>;
    /** CPU seconds of both stunnel processes per GB (1e9 bytes) of payload */
    stunnelCpuPerGB: number;
    /** share of a core the stunnel-client.sh loop used during the transfer */
    sidecarDuringTransfer: number;
    /** seconds from the rsync container's exit to the stunnel container's */
    sidecarStopSeconds: number;
}

type TargetDef = { target: string; goal: string; value: number | undefined; ok: (v: number) => boolean; fmt: (v: number) => string; why?: string };

export function summarize(r: Results) {
    const configs = [...new Set(r.runs.map((x) => x.config))];
    const datasets = [...new Set(r.runs.map((x) => x.dataset))].sort((a, b) => (a === "link" ? -1 : b === "link" ? 1 : 0));
    const full = (ds: string, c: string) => r.runs.filter((x) => x.dataset === ds && x.config === c && x.pass === "full");
    const cpuGB = (x: { cpu: Record<string, number>; bytes: number }) => (x.cpu.total ?? NaN) / (x.bytes / 1e9);
    const limit = (ds: string, c: string) => {
        const runs = full(LINK_LIMITS.includes(c as never) ? "link" : ds, c);
        return { mbps: median(runs.map((x) => x.bytes / 1e6 / x.seconds)), cpuPerGB: median(runs.map(cpuGB)) };
    };
    const rows: Row[] = [];
    for (const ds of datasets) {
        const mtc = median(full(ds, "mtc").map((x) => x.seconds));
        for (const c of configs) {
            const runs = full(ds, c);
            if (runs.length === 0) continue;
            const sec = median(runs.map((x) => x.seconds));
            const mbps = median(runs.map((x) => x.bytes / 1e6 / x.seconds));
            const cpu = median(runs.map(cpuGB));
            const vs: Record<string, number> = {};
            const cpuVs: Record<string, number> = {};
            for (const l of LIMITS) {
                if (l === c || (ds === "link" && !LINK_LIMITS.includes(l as never))) continue;
                const lim = limit(ds, l);
                if (!Number.isFinite(lim.mbps)) continue;
                vs[l] = mbps / lim.mbps;
                cpuVs[l] = cpu / lim.cpuPerGB;
            }
            rows.push({
                dataset: ds, config: c, reps: runs.length, seconds: sec,
                min: Math.min(...runs.map((x) => x.seconds)), max: Math.max(...runs.map((x) => x.seconds)),
                mbps, filesPerSecond: median(runs.map((x) => x.files / x.seconds)),
                vs, vsMtc: mtc / sec,
                startupSeconds: median(runs.map((x) => x.startupSeconds ?? NaN)),
                cpuPerGB: cpu, cpuVs,
                stunnelCpuPerGB: median(runs.map((x) => ((x.cpu.stunnelServer ?? NaN) + (x.cpu.stunnelClient ?? NaN)) / (x.bytes / 1e9))),
                sidecarDuringTransfer: median(runs.map((x) => (x.cpu.sidecarLoop ?? NaN) / x.seconds)),
                sidecarStopSeconds: median(runs.map((x) => x.sidecarStopSeconds ?? NaN)),
            });
        }
    }
    const incremental = datasets.flatMap((ds) => configs.map((c) => {
        const pass = (kind: "incremental" | "unchanged") => r.runs.filter((x) => x.dataset === ds && x.config === c && x.pass === kind);
        const fractions = (xs: typeof r.runs) => xs.map((i) => {
            const base = r.runs.find((x) => x.config === c && x.pass === "full" && x.dataset === i.dataset && x.rep === i.rep);
            return base ? i.seconds / base.seconds : NaN;
        });
        const incr = pass("incremental");
        const same = pass("unchanged");
        return {
            dataset: ds, config: c, reps: incr.length, seconds: median(incr.map((x) => x.seconds)), fraction: median(fractions(incr)), changedFiles: incr[0]?.files ?? 0,
            unchangedSeconds: median(same.map((x) => x.seconds)), unchangedFraction: median(fractions(same)),
        };
    })).filter((x) => x.reps > 0);
    const plain = r.scale.filter((s) => (s.experiments ?? []).length === 0);
    const sizes = [...new Set(plain.map((s) => s.pvcs))].sort((a, b) => a - b);
    const scale = sizes.map((n) => {
        const ss = plain.filter((s) => s.pvcs === n);
        return {
            pvcs: n, namespaces: ss[0].namespaces, resources: ss[0].resources, reps: ss.length,
            constructSeconds: median(ss.map((s) => s.constructSeconds)), peakRssMiB: median(ss.map((s) => s.peakRssMiB)),
            baseRssMiB: median(ss.map((s) => s.baseRssMiB)), loadSeconds: median(ss.map((s) => s.loadSeconds)),
        };
    });
    const keys = [...new Set(r.scale.filter((s) => (s.experiments ?? []).length > 0).map((s) => s.experiments.join("+")))];
    const scaleExperiments = keys.map((k) => {
        const ss = r.scale.filter((s) => s.experiments.join("+") === k);
        const base = scale.find((x) => x.pvcs === ss[0].pvcs);
        const t = median(ss.map((s) => s.constructSeconds));
        return {
            experiments: k, pvcs: ss[0].pvcs, reps: ss.length, constructSeconds: t, peakRssMiB: median(ss.map((s) => s.peakRssMiB)),
            timeVsProgram: base ? t / base.constructSeconds : NaN,
        };
    });
    const row = (ds: string, c: string) => rows.find((x) => x.dataset === ds && x.config === c);
    const mixIncr = incremental.find((x) => x.dataset === "mix" && x.config === "generated");
    const at5000 = scale.find((x) => x.pvcs === 5000);
    const split = row("small", "split-3");
    const parallel = row("small", "parallel-3");
    const e2e = r.e2e?.measured ? summarizeE2E(r.e2e.samples).filter((x) => !x.experiment) : [];
    const e2eOne = e2e.find((x) => x.namespaces === 1) ?? e2e[0];
    const e2eWhy = r.e2e && !r.e2e.measured ? `not measured: ${r.e2e.reason}`
        : r.e2e?.measured && r.e2e.samples.length === 0 ? `not measured: ${partsWhy(r.e2e, "waves")}` : undefined;
    const cut = r.e2e?.measured && r.e2e.cutover ? summarizeCutover(r.e2e.cutover.samples) : undefined;
    const cutWhy = !r.e2e ? "not measured in this run" : !r.e2e.measured ? `not measured: ${r.e2e.reason}`
        : !r.e2e.cutover ? `not measured: ${partsWhy(r.e2e, "cutover")}` : undefined;
    const defs: TargetDef[] = [
        { target: "large files: dvm / iperf3 through dvm's stunnel pair (MB/s)", goal: ">= 0.90", value: row("large", "generated")?.vs["iperf-stunnel"], ok: (v) => v >= 0.9, fmt: (v) => f(v) },
        { target: "small files: dvm / the `tar \\| socat` pipe (files/s)", goal: ">= 0.80", value: row("small", "generated")?.vs.pipe, ok: (v) => v >= 0.8, fmt: (v) => f(v) },
        { target: "small files: dvm vs MTC default", goal: ">= 2.00x", value: row("small", "generated")?.vsMtc, ok: (v) => v >= 2.0, fmt: (v) => `${f(v)}x` },
        { target: "large files: dvm vs MTC default", goal: "never slower (>= 1.00x)", value: row("large", "generated")?.vsMtc, ok: (v) => v >= 1.0, fmt: (v) => `${f(v)}x` },
        { target: "large files: dvm's CPU per GB / the pipe's", goal: "<= 1.20x", value: row("large", "generated")?.cpuVs.pipe, ok: (v) => v <= 1.2, fmt: (v) => `${f(v)}x` },
        { target: "small files: dvm's CPU per GB / the pipe's", goal: "<= 1.20x", value: row("small", "generated")?.cpuVs.pipe, ok: (v) => v <= 1.2, fmt: (v) => `${f(v)}x` },
        { target: "incremental pass on the mix (1% of the files changed)", goal: "<= 0.10 of the full pass", value: mixIncr?.fraction, ok: (v) => v <= 0.1, fmt: (v) => f(v, 3) },
        { target: "3 PVCs in parallel vs one after the other (small files)", goal: ">= 1.50x", value: split && parallel ? split.seconds / parallel.seconds : undefined, ok: (v) => v >= 1.5, fmt: (v) => `${f(v)}x` },
        { target: "waiting loops (rsync-client.sh + stunnel-client.sh, idle)", goal: "< 1% of a core", value: r.idle ? r.idle.rsyncWaitLoop + r.idle.sidecarLoop : undefined, ok: (v) => v < 0.01, fmt: (v) => pct(v, 3) },
        { target: `first byte after \`pulumi up\` starts (${e2eOne?.namespaces ?? 1} namespace)`, goal: "<= 5 s", value: e2eOne?.firstByteSeconds, ok: (v) => v <= 5, fmt: (v) => `${f(v, 1)} s`, why: e2eWhy },
        { target: `\`pulumi up\` exit after the last byte (${e2eOne?.namespaces ?? 1} namespace)`, goal: "<= 2 s", value: e2eOne?.tailSeconds, ok: (v) => v <= 2, fmt: (v) => `${f(v, 1)} s`, why: e2eWhy },
        { target: "program construction, 5000 PVCs in 500 namespaces (mocks)", goal: "< 30 s", value: at5000?.constructSeconds, ok: (v) => v < 30, fmt: (v) => `${f(v, 1)} s` },
        { target: "program peak memory, 5000 PVCs in 500 namespaces (mocks)", goal: "< 1.5 GiB", value: at5000?.peakRssMiB, ok: (v) => v < 1536, fmt: (v) => `${f(v, 0)} MiB` },
        { target: "cutover window (quiesce to the end of the final pass, 1% changed)", goal: "<= the incremental pass + 10 s", value: cut?.excessSeconds, ok: (v) => v <= 10,
            fmt: (v) => `${f(cut!.windowSeconds, 1)} s = incremental ${f(cut!.incrementalSeconds, 1)} s ${v < 0 ? "-" : "+"} ${f(Math.abs(v), 1)} s`, why: cutWhy },
    ];
    const streams = streamProjection(r);
    const targets = defs.map((t) => ({
        target: t.target, goal: t.goal, value: t.value ?? null,
        shown: t.value === undefined || !Number.isFinite(t.value) ? (t.why ?? "not measured") : t.fmt(t.value),
        met: t.value === undefined || !Number.isFinite(t.value) ? null : t.ok(t.value),
    }));
    return { rows, incremental, scale, scaleExperiments, targets, streams };
}

/**
 * What splitting one PVC into streams would do with more cores, from this run's CPU seconds (an estimate, not a
 * measurement): one stream cannot go faster than its busiest process (the rsync sender, either stunnel, the receiving
 * daemon's processes), so on any number of cores it takes at least that process's CPU seconds; k streams over c cores
 * (k >= c) take about the final pass (timed as dvm's pass with nothing changed) plus the streams' CPU seconds spread
 * over the c cores.
 */
export function streamProjection(r: Results, cores = [2, 8, 32]) {
    const pick = (c: string, pass: string) => r.runs.filter((x) => x.dataset === "small" && x.config === c && x.pass === pass);
    const gen = pick("generated", "full");
    const same = pick("generated", "unchanged");
    if (gen.length === 0) return [];
    const busiest = median(gen.map((x) => Math.max(x.cpu.rsyncClient ?? 0, x.cpu.stunnelClient ?? 0, x.cpu.stunnelServer ?? 0, (x.cpu.rsyncd ?? 0) / 2)));
    const finalWall = median(same.map((x) => x.seconds));
    const finalCpu = median(same.map((x) => x.cpu.total ?? NaN));
    const names = [...new Set(r.runs.filter((x) => /^streams-[0-9]+$/.test(x.config) && x.dataset === "small").map((x) => x.config))];
    return names.map((name) => {
        const runs = pick(name, "full");
        const cpu = median(runs.map((x) => x.cpu.total ?? NaN));
        const k = Number(name.split("-")[1]);
        return {
            config: name, streams: k, measuredSeconds: median(runs.map((x) => x.seconds)), cpuSeconds: cpu, cpuPerStream: (cpu - finalCpu) / k, finalSeconds: finalWall,
            singleStream: { measuredSeconds: median(gen.map((x) => x.seconds)), floorSeconds: busiest },
            projected: cores.map((c) => ({ cores: c, seconds: finalWall + Math.max(0, cpu - finalCpu) / c })),
        };
    });
}

/** Steps up to the first byte: each step's duration is its point minus the previous known point of the same sample. */
export const E2E_STEPS: Array<[keyof Milestones, string]> = [
    ["engineStarted", "engine started (CLI, policy pack)"], ["firstObject", "program + providers: first object"],
    ["destinationReady", "destination pod ready"], ["destinationDone", "destination side done (Service await)"],
    ["sourceJob", "source Job created"], ["sourceStarted", "source pod started"], ["tunnelUp", "tunnel up"], ["firstByte", "first pvc-start"],
];
/** Steps after the last byte, up to the exit of `pulumi up` ("exit"). */
export const E2E_TAIL_STEPS: Array<[keyof Milestones | "exit", string]> = [
    ["jobComplete", "source Job complete"], ["progressDone", "progress resource done"], ["exit", "`pulumi up` exit"],
];

function steps(s: E2ESample, list: Array<[keyof Milestones | "exit", string]>, from: number): Record<string, number> {
    const out: Record<string, number> = {};
    let prev = from;
    for (const [k, label] of list) {
        const v = k === "exit" ? s.upSeconds : s.milestones[k];
        if (v === undefined || !Number.isFinite(v)) continue;
        out[label] = v - prev;
        prev = v;
    }
    return out;
}

/** Medians per wave size (number of namespaces): the rows of the report's end-to-end tables. */
export function summarizeE2E(samples: E2ESample[]) {
    // the program first, then each experiment; wave sizes ascending
    const experiments = [...new Set(samples.map((s) => s.experiment ?? ""))].sort();
    const sizes = [...new Set(samples.map((s) => s.namespaces))].sort((a, b) => a - b);
    const groups = experiments.flatMap((x) => sizes.map((n) => ({ x, n, ss: samples.filter((s) => (s.experiment ?? "") === x && s.namespaces === n) })))
        .filter((g) => g.ss.length > 0);
    return groups.map(({ x, n, ss }) => {
        const st = ss.map(sampleStats);
        const med = (f: (x: ReturnType<typeof sampleStats>) => number) => median(st.map(f));
        const stepMedians = (list: Array<[keyof Milestones | "exit", string]>, from: (s: E2ESample) => number) => {
            const per = ss.map((s) => steps(s, list, from(s)));
            return list.map(([, label]) => ({ step: label, seconds: median(per.map((x) => x[label] ?? NaN)) }));
        };
        return {
            namespaces: n, experiment: x || undefined, pvcs: ss[0].pvcs, bytes: ss[0].bytes, files: ss[0].files, reps: ss.length,
            upSeconds: median(ss.map((s) => s.upSeconds)),
            upMin: Math.min(...ss.map((s) => s.upSeconds)), upMax: Math.max(...ss.map((s) => s.upSeconds)),
            destroySeconds: median(ss.map((s) => s.destroySeconds)),
            sumSeconds: med((x) => x.sum), longestSeconds: med((x) => x.longest),
            overheadSeconds: med((x) => x.overhead), ratio: med((x) => x.ratio), overheadVsLongestSeconds: med((x) => x.overheadVsLongest),
            firstByteSeconds: med((x) => x.firstByte), lastByteSeconds: median(ss.map((s) => s.milestones.lastByte)), tailSeconds: med((x) => x.tail),
            breakdown: stepMedians(E2E_STEPS, () => 0),
            tail: stepMedians(E2E_TAIL_STEPS, (s) => s.milestones.lastByte),
        };
    });
}

/** Why a part of the end-to-end step is missing from a measured step (DVM_BENCH_E2E_PARTS, or a run saved before the
 * step had the part). */
function partsWhy(e: E2EMeasured, part: "waves" | "cutover"): string {
    const parts = e.params.parts;
    return parts && !parts.includes(part) ? `not selected (DVM_BENCH_E2E_PARTS=${parts.join(",")})` : "the run was made before the step had this part";
}

/** Medians over the cutover measurement's repetitions; undefined without a sample. The target's figure, the window's
 * excess over the incremental pass, is the difference of the two medians (the report shows all three). */
export function summarizeCutover(samples: CutoverSample[]) {
    if (samples.length === 0) return undefined;
    const st = samples.map(cutoverStats);
    const med = (g: (x: ReturnType<typeof cutoverStats>) => number) => median(st.map(g));
    return {
        reps: samples.length, pvcs: samples[0].pvcs, bytes: samples[0].bytes, files: samples[0].files, changedFiles: samples[0].changedFiles,
        incrementalSeconds: med((x) => x.incrementalSeconds), incrementalUpSeconds: med((x) => x.incrementalUpSeconds),
        quiesceSeconds: med((x) => x.quiesceSeconds), finalPassSeconds: med((x) => x.finalPassSeconds),
        windowSeconds: med((x) => x.windowSeconds), windowToExitSeconds: med((x) => x.windowToExitSeconds),
        excessSeconds: med((x) => x.windowSeconds) - med((x) => x.incrementalSeconds),
        cutoverUpSeconds: med((x) => x.cutoverUpSeconds), rollbackSeconds: med((x) => x.rollbackSeconds),
        steps: CUTOVER_STEPS.map(([, label]) => ({ step: label, seconds: med((x) => x.steps[label] ?? NaN) })),
        perRep: st.map((x, i) => ({ rep: samples[i].rep, ...x })),
    };
}

/** The cutover window's section of the report. */
export function cutoverMarkdown(e: E2EMeasured): string[] {
    if (!e.cutover) return [`Cutover window: ${partsWhy(e, "cutover")}.`];
    const c = summarizeCutover(e.cutover.samples);
    if (!c) return ["Cutover window: no repetition finished."];
    const out: string[] = [];
    out.push(`Cutover window (\`dvm:migration cutover\`): one namespace of ${c.pvcs} PVC(s) (${f(c.bytes / 2 ** 20, 0)} MiB, ${c.files} files in all), `
        + `mounted and written to by a Deployment of one replica; a stage pass copies it all once (${f(e.cutover.fullPassUpSeconds, 1)} s of \`pulumi up\`). `
        + `Each of ${c.reps} repetition(s): 1% of the files change (${c.changedFiles}: 64 bytes appended, a new mtime) and a plain incremental stage pass `
        + "(`dvm:pass` + 1) copies them while the application runs; the same files are changed back (1% differs again) and the cutover "
        + "(`dvm:pass` + 1) quiesces the Deployment and runs the final pass; a rollback brings the application back for the next repetition. "
        + "The window runs from the start of the SourceQuiesce step (the engine's event for it: whole seconds, so the window is up to 1 s too long) "
        + "to the last `dvm: pvc-end` of the final pass (the source pod's log), and on to the exit of `pulumi up`; after each pass the destination is "
        + `compared file by file with the source (the running application's own files left out of the stage pass's comparison). Medians; part started ${e.cutover.startedAt}, ${f(e.cutover.seconds / 60, 1)} min.`);
    out.push("");
    out.push("| rep | incremental stage pass: transfer s (`pulumi up` s) | cutover: quiesce s | final pass s | **window** to the end of the final pass s | window to `pulumi up` exit s | window - incremental s | cutover `pulumi up` s | rollback `pulumi up` s |");
    out.push("|---|---|---|---|---|---|---|---|---|");
    const line = (rep: string, x: Omit<ReturnType<typeof cutoverStats>, "steps">) => `| ${rep} | ${f(x.incrementalSeconds)} (${f(x.incrementalUpSeconds, 1)}) | ${f(x.quiesceSeconds, 1)} | ${f(x.finalPassSeconds)} | `
        + `**${f(x.windowSeconds, 1)}** | ${f(x.windowToExitSeconds, 1)} | ${f(x.excessSeconds, 1)} | ${f(x.cutoverUpSeconds, 1)} | ${f(x.rollbackSeconds, 1)} |`;
    for (const x of c.perRep) out.push(line(String(x.rep), x));
    if (c.reps > 1) out.push(line("median", c));
    out.push("");
    out.push(`Where the window goes (median seconds of each step, from the start of the quiesce): ${c.steps.map((x) => `${x.step} ${f(x.seconds, 1)}`).join("; ")}.`);
    return out;
}

/** The end-to-end section of the report: the tables of a measured step, else why it was not measured. */
export function e2eMarkdown(e: E2EResult | undefined): string[] {
    const out: string[] = [];
    if (!e) return ["End-to-end wave time: not measured in this run (it was made before `make bench` had the step)."];
    if (!e.measured) {
        out.push(`End-to-end wave time: not measured in this run - ${e.reason}.${e.how ? ` To measure it: ${e.how}.` : ""}`);
        return out;
    }
    const waves = e.samples.length > 0 ? waveMarkdown(e) : [`End-to-end wave time: ${partsWhy(e, "waves")}.`];
    return [...waves, "", ...cutoverMarkdown(e)];
}

function waveMarkdown(e: E2EMeasured): string[] {
    const out: string[] = [];
    const p = e.params;
    const rows = summarizeE2E(e.samples);
    const mib = (b: number) => f(b / 2 ** 20, 0);
    const waveLabel = (x: { namespaces: number; experiment?: string }) => `${x.namespaces}${x.experiment ? ` (experiment \`${x.experiment}\`)` : ""}`;
    out.push(`End-to-end waves through \`${e.command}\` between the local pair of real clusters (\`make clusters-up\`, NodePort endpoint, `
        + `transfers as root): each namespace ${p.pvcsPerNamespace} PVC(s) of ${p.largeMiB} MiB of large files + ${p.smallFiles} files of ${p.smallKiB} KiB; `
        + `medians of ${p.reps} repetition(s), wave sizes interleaved, \`pulumi destroy\` between; every destination volume compared file by file `
        + `(sha256, size, mode, owner, mtime) with its source. Transfers: \`dvm: pvc-start\` to \`pvc-end\` of the source pod's rsync log; `
        + `a namespace's PVCs are copied \`dvm:rsync.parallel\` at a time (its longest: first pvc-start to last pvc-end), namespaces at the same time. Step started ${e.startedAt}, ${f(e.seconds / 60, 1)} min`
        + `${e.broughtUp ? ` plus ${e.clustersUpSeconds} s to bring the clusters up` : " (clusters were up)"}; seeding ${f(e.seedSeconds, 1)} s.`);
    out.push("");
    out.push("| namespaces | PVCs | MiB | `pulumi up` s (min-max) | sum of transfers s | longest namespace s | overhead s (up / sum) | overhead vs longest namespace s | first byte after s | last byte to exit s | destroy s |");
    out.push("|---|---|---|---|---|---|---|---|---|---|---|");
    for (const x of rows) {
        out.push(`| ${waveLabel(x)} | ${x.pvcs} | ${mib(x.bytes)} | ${f(x.upSeconds, 1)} (${f(x.upMin, 1)}-${f(x.upMax, 1)}) | ${f(x.sumSeconds)} | ${f(x.longestSeconds)} | `
            + `${f(x.overheadSeconds, 1)} (${f(x.ratio, 1)}x) | ${f(x.overheadVsLongestSeconds, 1)} | ${f(x.firstByteSeconds, 1)} | ${f(x.tailSeconds, 1)} | ${f(x.destroySeconds, 1)} |`);
    }
    out.push("");
    out.push("Where the time to the first byte goes (median seconds of each step, from the start of `pulumi up`; engine events and Kubernetes object times have 1 s resolution, log lines are exact; a negative step is a point reached before the one listed before it: that resolution, or a wait an experiment removed), and after the last byte:");
    out.push("");
    const cols = [...E2E_STEPS.map(([, l]) => l), "= first byte", ...E2E_TAIL_STEPS.map(([, l]) => `after last byte: ${l}`)];
    out.push(`| namespaces | ${cols.join(" | ")} |`);
    out.push(`|---|${cols.map(() => "---").join("|")}|`);
    for (const x of rows) {
        out.push(`| ${waveLabel(x)} | ${[...x.breakdown.map((b) => f(b.seconds, 1)), `**${f(x.firstByteSeconds, 1)}**`, ...x.tail.map((b) => f(b.seconds, 1))].join(" | ")} |`);
    }
    if ((p.experiments ?? []).length > 0) {
        out.push("");
        out.push("Experiments (each a change to a throw-away copy of the program, run side by side with it; never the repository's code):");
        out.push("");
        for (const x of p.experiments) out.push(`- \`${x}\`: ${e.experiments?.[x] ?? "(not described in this run)"}`);
    }
    return out;
}

export function markdown(r: Results, s: ReturnType<typeof summarize>): string {
    const m = r.machine;
    const out: string[] = [];
    const label = (c: string) => LABELS[c] ?? `variant \`${c}\``;
    out.push(`Machine: ${m.cpu}, ${m.cores} cores${m.aes ? " (AES-NI)" : ""}, ${m.memoryGiB} GiB, Linux ${m.kernel}; ${m.rsync.replace(/\s+/g, " ").replace(/ protocol.*$/, "")}, ${m.stunnel.split(" on ")[0]}, ${m.openssl.split(" (")[0]}, Node ${m.node}.`);
    out.push(`Commit ${m.commit}, ${m.startedAt}; load average at start ${m.loadavgStart.split(" ").slice(0, 3).join(" ")}, at end ${m.loadavgEnd.split(" ").slice(0, 3).join(" ")}; whole run ${f(m.seconds / 60, 1)} min.`);
    if (r.datasets) {
        const d = r.datasets;
        const mib = (b: number) => f(b / 2 ** 20, 0);
        const sets = [
            d.large && `large = ${d.large.files} files, ${mib(d.large.bytes)} MiB`,
            d.small && `small = ${d.small.files} files of ${r.params.smallKiB} KiB`,
            d.mix && `mix (database-like) = ${r.params.mix?.tables ?? "?"} tables of ${r.params.mix?.tableMiB ?? "?"} MiB, a sparse image of ${r.params.mix?.sparseMiB ?? "?"} MiB with 4 MiB of data, ${d.mix.files} names in all (small files of 0.5-32 KiB, 1 in 100 hard-linked), ${mib(d.mix.bytes)} MiB of data`,
        ].filter(Boolean);
        out.push(`Data sets on tmpfs, over a veth pair between two network namespaces: ${sets.join("; ")}. Medians of ${r.params.reps} repetitions, configurations interleaved; MB = 10^6 bytes of payload (a hard-linked file's data once, a sparse file's without its holes).`);
        if (r.generatedArgs) out.push(`dvm's rsync container args as generated: \`${r.generatedArgs.join(" ")}\`.`);
        out.push("");
        const short = s.rows.filter((x) => x.seconds < SHORT_RUN_SECONDS);
        out.push("| data set | configuration | median s (min-max) | MB/s | files/s | vs the pipe | vs MTC default |");
        out.push("|---|---|---|---|---|---|---|");
        for (const x of s.rows) {
            const mark = x.seconds < SHORT_RUN_SECONDS ? " †" : "";
            out.push(`| ${x.dataset} | ${label(x.config)} | ${f(x.seconds)}${mark} (${f(x.min)}-${f(x.max)}) | ${f(x.mbps, 1)} | ${x.dataset === "link" ? "" : f(x.filesPerSecond, 0)} | ${x.vs.pipe === undefined ? "" : f(x.vs.pipe)} | ${x.dataset === "link" || LIMITS.includes(x.config) ? "" : `${f(x.vsMtc)}x`} |`);
        }
        if (short.length > 0) out.push("", `† median under ${SHORT_RUN_SECONDS} s (${short.length} of ${s.rows.length} rows): start-up and the busy machine's noise weigh more in it; its CPU seconds per GB are the steadier number.`);
        out.push("");
        const gen = s.rows.filter((x) => x.config === "generated");
        if (gen.length > 0) {
            out.push("dvm against each limit (speed: dvm's MB/s over the limit's, the same as files/s for the data set's own limits; CPU: dvm's CPU seconds per GB over the limit's):");
            out.push("");
            const present = LIMITS.filter((l) => gen.some((x) => x.vs[l] !== undefined));
            out.push(`| data set | ${present.map((l) => `vs ${LABELS[l].replace(" (limit)", "")}: speed / CPU`).join(" | ")} |`);
            out.push(`|---|${present.map(() => "---").join("|")}|`);
            for (const x of gen) out.push(`| ${x.dataset} | ${present.map((l) => (x.vs[l] === undefined ? "" : `${f(x.vs[l])} / ${f(x.cpuVs[l])}x`)).join(" | ")} |`);
            out.push("");
        }
        for (const ds of [...new Set(s.incremental.map((x) => x.dataset))]) {
            const xs = s.incremental.filter((x) => x.dataset === ds);
            out.push(`Incremental pass of the ${ds} data set after changing 1% of its files (${xs[0].changedFiles} files: 64 bytes appended, a new mtime), against the same configuration's full pass of the same repetition:`);
            out.push("");
            out.push("| configuration | median s | fraction of the full pass | nothing changed: s (fraction) |");
            out.push("|---|---|---|---|");
            for (const x of xs) out.push(`| ${label(x.config)} | ${f(x.seconds)} | ${f(x.fraction, 3)} | ${f(x.unchangedSeconds)} (${f(x.unchangedFraction, 3)}) |`);
            out.push("");
        }
        out.push("CPU from /proc (utime+stime):");
        out.push("");
        out.push("| data set | configuration | CPU s per GB, all processes (vs the pipe) | of which stunnel (client + server) | sidecar loop during transfer | pod start to first byte | rsync exit to stunnel container exit |");
        out.push("|---|---|---|---|---|---|---|");
        for (const x of s.rows) {
            out.push(`| ${x.dataset} | ${label(x.config)} | ${f(x.cpuPerGB)}${x.cpuVs.pipe === undefined ? "" : ` (${f(x.cpuVs.pipe)}x)`} | ${Number.isFinite(x.stunnelCpuPerGB) ? f(x.stunnelCpuPerGB) : ""} | ${Number.isFinite(x.sidecarDuringTransfer) ? pct(x.sidecarDuringTransfer, 3) : ""} | ${Number.isFinite(x.startupSeconds) ? `${f(x.startupSeconds)} s` : ""} | ${Number.isFinite(x.sidecarStopSeconds) ? `${f(x.sidecarStopSeconds, 3)} s` : ""} |`);
        }
        out.push("");
    }
    if (s.streams.length > 0) {
        const x0 = s.streams[0];
        const two = x0.projected.find((p) => p.cores === 2);
        out.push(`One PVC as several rsync streams (the small files; an estimate from this run's CPU seconds, not a measurement on more cores): one stream takes ${f(x0.singleStream.measuredSeconds)} s here and cannot go below its busiest process's ${f(x0.singleStream.floorSeconds)} CPU seconds on any number of cores; k streams on c cores (k >= c) take about the final pass (${f(x0.finalSeconds)} s: dvm's pass with nothing changed) plus the streams' CPU seconds spread over the c cores. That assumes perfect scaling: for 2 cores it gives ${two ? f(two.seconds) : "n/a"} s where ${f(x0.measuredSeconds)} s were measured, so read the 8- and 32-core columns as lower bounds.`);
        out.push("");
        out.push(`| configuration | measured s (2 cores) | CPU s in all | CPU s per stream | ${s.streams[0].projected.map((p) => `estimate, ${p.cores} cores`).join(" | ")} |`);
        out.push(`|---|---|---|---|${s.streams[0].projected.map(() => "---").join("|")}|`);
        for (const x of s.streams) out.push(`| variant \`${x.config}\` | ${f(x.measuredSeconds)} | ${f(x.cpuSeconds)} | ${f(x.cpuPerStream)} | ${x.projected.map((p) => `${f(p.seconds)} s`).join(" | ")} |`);
        out.push("");
    }
    if (r.idle) {
        out.push(`Waiting loops, source pod whose tunnel never comes up, ${f(r.idle.seconds, 0)} s: rsync-client.sh (probe + sleep 2) ${pct(r.idle.rsyncWaitLoop, 3)} of a core, stunnel-client.sh (sleep 1) ${pct(r.idle.sidecarLoop, 3)}, the stunnel client answering the probes ${pct(r.idle.stunnelClient, 3)}.`);
        out.push("");
    }
    if (s.scale.length > 0) {
        out.push(`Program scale under Pulumi mocks (waves of 10 PVCs per namespace; fresh Node process per run, medians of ${r.params.scaleReps}; module loading ${f(s.scale[0].loadSeconds, 1)} s not included):`);
        out.push("");
        out.push("| PVCs | namespaces | resources | construction s | peak RSS MiB |");
        out.push("|---|---|---|---|---|");
        for (const x of s.scale) out.push(`| ${x.pvcs} | ${x.namespaces} | ${x.resources} | ${f(x.constructSeconds)} | ${f(x.peakRssMiB, 0)} |`);
        out.push("");
        const last = s.scale.slice(-2);
        const local = (a: number, b: number) => Math.log(b / a) / Math.log(last[1].pvcs / last[0].pvcs);
        if (last.length === 2) {
            out.push(`Growth exponent between the two largest waves (${last[0].pvcs} -> ${last[1].pvcs} PVCs): construction time ~ PVCs^${f(local(last[0].constructSeconds, last[1].constructSeconds))}, memory above the idle process ~ PVCs^${f(local(last[0].peakRssMiB - last[0].baseRssMiB, last[1].peakRssMiB - last[1].baseRssMiB))}; least squares over all sizes: time ^${f(r.scaleExponent.time)}, memory ^${f(r.scaleExponent.memory)} (fixed costs flatten the small end).`);
        }
        out.push("");
        if (s.scaleExperiments.length > 0) {
            out.push(`Where the construction time goes - the largest wave with one change in the child process (never in the repository's code; ${r.params.scaleExperimentReps} run(s) each):`);
            out.push("");
            out.push("| experiment | construction s | vs the program | peak RSS MiB |");
            out.push("|---|---|---|---|");
            for (const x of s.scaleExperiments) out.push(`| \`${x.experiments}\` | ${f(x.constructSeconds)} | ${f(x.timeVsProgram)} | ${f(x.peakRssMiB, 0)} |`);
            out.push("");
            for (const [k, v] of Object.entries(SCALE_EXPERIMENTS)) out.push(`- \`${k}\`: ${v.description}`);
            out.push(`- \`${COMPILED_JS}\`: the program compiled by tsc without source maps and run by plain node with source-map-support registered, as Pulumi's runner does for every program (instead of ts-node with inline source maps)`);
            out.push("");
        }
    }
    out.push("Targets (reported, not enforced):");
    out.push("");
    out.push("| target | goal | measured | met |");
    out.push("|---|---|---|---|");
    for (const t of s.targets) out.push(`| ${t.target} | ${t.goal} | ${t.shown} | ${t.met === null ? "-" : t.met ? "yes" : "**no**"} |`);
    out.push("");
    out.push(...e2eMarkdown(r.e2e));
    if (r.variants.length > 0 && r.runs.length > 0) {
        out.push("");
        out.push("Variants (the generated configuration with one change each):");
        out.push("");
        for (const v of r.variants) out.push(`- \`${v.name}\`: ${v.description}`);
    }
    return out.join("\n");
}

/** A bar chart of throughput per configuration (gnuplot); returns false when gnuplot is not there. */
export function chart(r: Results, s: ReturnType<typeof summarize>, png: string): boolean {
    if (s.rows.length === 0) return false;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-bench-chart-"));
    try {
        const name = (c: string) => ({ generated: "dvm", mtc: "MTC default", pipe: "tar|socat", read: "read only", iperf: "iperf3", "iperf-stunnel": "iperf3+stunnel" } as Record<string, string>)[c] ?? c;
        const write = (ds: string, col: (x: Row) => number, extra: Row[] = []) => {
            const file = path.join(dir, `${ds}.dat`);
            fs.writeFileSync(file, [...extra, ...s.rows.filter((x) => x.dataset === ds)].map((x) => `"${name(x.config)}" ${col(x).toFixed(2)}`).join("\n") + "\n");
            return file;
        };
        const link = s.rows.filter((x) => x.dataset === "link");
        const d = r.datasets ?? {};
        const panels = [
            d.large && { ds: "large", title: `large files (${f(d.large.bytes / 2 ** 30, 1)} GiB) and the link: MB/s`, file: write("large", (x) => x.mbps, link), color: "#3b75af" },
            d.small && { ds: "small", title: `small files (${d.small.files} x ${r.params.smallKiB} KiB): files/s`, file: write("small", (x) => x.filesPerSecond), color: "#e1812c" },
            d.mix && { ds: "mix", title: `database-like mix (${f(d.mix.bytes / 2 ** 30, 1)} GiB, ${d.mix.files} names): MB/s`, file: write("mix", (x) => x.mbps), color: "#519e3e" },
        ].filter((x): x is { ds: string; title: string; file: string; color: string } => !!x && s.rows.some((y) => y.dataset === x.ds));
        if (panels.length === 0) return false;
        const script = [
            `set terminal pngcairo size ${panels.length * 560},480 font "sans,11"`,
            `set output "${png}"`,
            `set multiplot layout 1,${panels.length} title "dvm data plane: throughput per configuration (medians of ${r.params.reps}; ${r.machine.cores} cores, ${r.machine.cpu.replace(/"/g, "")})"`,
            `set style data histograms`, `set style histogram clustered gap 1`, `set boxwidth 0.8`, `set style fill solid 0.8 border -1`, `set grid ytics`, `unset key`,
            `set yrange [0:*]`, `set xtics nomirror rotate by -30`,
            ...panels.flatMap((x) => [`set title "${x.title}"`, `plot "${x.file}" using 2:xtic(1) lc rgb "${x.color}", "" using 0:2:(sprintf("%.0f",$2)) with labels offset 0,0.7`]),
            `unset multiplot`,
        ].join("\n");
        const res = spawnSync("gnuplot", [], { input: script, encoding: "utf8" });
        if (res.error || res.status !== 0) {
            process.stderr.write(`bench: chart not drawn: ${res.error?.message ?? res.stderr}\n`);
            return false;
        }
        return true;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Writes results.json, results.md and throughput.png into `out`; returns the markdown. */
export function writeReports(r: Results, out: string): string {
    fs.mkdirSync(out, { recursive: true });
    const s = summarize(r);
    const e2e = r.e2e?.measured ? summarizeE2E(r.e2e.samples) : undefined;
    fs.writeFileSync(path.join(out, "results.json"), `${JSON.stringify({ ...r, summary: { ...s, e2e } }, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`);
    const md = markdown(r, s);
    const drawn = r.runs.length > 0 && chart(r, s, path.join(out, "throughput.png"));
    fs.writeFileSync(path.join(out, "results.md"), `# dvm benchmark results\n\nWritten by \`make bench\` (bench/run.ts).\n\n${md}\n${drawn ? "\n![throughput per configuration](throughput.png)\n" : ""}`);
    return md;
}

/** The generated block of docs/benchmarks.md: `make bench` rewrites what lies between these two lines, nothing else. */
export const BENCH_DOC_BEGIN = "<!-- BEGIN GENERATED: bench-results (written by `make bench`) -->";
export const BENCH_DOC_END = "<!-- END GENERATED: bench-results -->";

/** The page `make bench` writes (never the README). */
export const BENCH_DOC = path.join(__dirname, "..", "docs", "benchmarks.md");

/**
 * Replaces the generated block of the benchmark page `doc` with this run's tables and the chart `chart` (a file
 * path, linked relative to the page's own directory).
 */
export function updateBenchDoc(doc: string, md: string, chart: string): void {
    const text = fs.readFileSync(doc, "utf8");
    const i = text.indexOf(BENCH_DOC_BEGIN);
    const j = text.indexOf(BENCH_DOC_END);
    if (i < 0 || j < i) {
        throw new Error(`${doc}: no "${BENCH_DOC_BEGIN}" ... "${BENCH_DOC_END}" block; add the two marker lines where the tables belong`);
    }
    const link = path.relative(path.dirname(doc), chart).split(path.sep).join("/");
    fs.writeFileSync(doc, `${text.slice(0, i + BENCH_DOC_BEGIN.length)}\n${md}\n\n![throughput per configuration](${link})\n${text.slice(j)}`);
}
