// Summaries of a benchmark run: medians, ratios, targets; bench/results.json, bench/results.md, bench/throughput.png,
// and the generated block of docs/benchmarks.md.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { E2EResult } from "./e2e";
import { E2ESample, Milestones, sampleStats } from "./e2e-timeline";
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
    raw: "raw `tar \\| nc` (limit)",
    generated: "**dvm generated**",
    mtc: "MTC default",
};

export interface Row {
    dataset: string;
    config: string;
    reps: number;
    seconds: number;
    min: number;
    max: number;
    mbps: number;
    filesPerSecond: number;
    vsRaw: number;
    vsMtc: number;
    startupSeconds: number;
    /** CPU seconds of every process of the transfer (rsync client and daemon, both stunnels; tar and nc for raw) per
     * GB (1e9 bytes) of payload: what the copy costs, much less sensitive to a busy machine than the wall time */
    cpuPerGB: number;
    /** cpuPerGB over raw's */
    cpuVsRaw: number;
    /** CPU seconds of both stunnel processes per GB (1e9 bytes) of payload */
    stunnelCpuPerGB: number;
    /** share of a core the stunnel-client.sh loop used during the transfer */
    sidecarDuringTransfer: number;
}

export function summarize(r: Results) {
    const configs = [...new Set(r.runs.map((x) => x.config))];
    const datasets = [...new Set(r.runs.map((x) => x.dataset))];
    const full = (ds: string, c: string) => r.runs.filter((x) => x.dataset === ds && x.config === c && x.pass === "full");
    const rows: Row[] = [];
    for (const ds of datasets) {
        const raw = median(full(ds, "raw").map((x) => x.seconds));
        const mtc = median(full(ds, "mtc").map((x) => x.seconds));
        const rawCpu = median(full(ds, "raw").map((x) => (x.cpu.total ?? NaN) / (x.bytes / 1e9)));
        for (const c of configs) {
            const runs = full(ds, c);
            if (runs.length === 0) continue;
            const s = median(runs.map((x) => x.seconds));
            const bytes = runs[0].bytes;
            rows.push({
                dataset: ds, config: c, reps: runs.length, seconds: s,
                min: Math.min(...runs.map((x) => x.seconds)), max: Math.max(...runs.map((x) => x.seconds)),
                mbps: bytes / 1e6 / s, filesPerSecond: runs[0].files / s,
                vsRaw: raw / s, vsMtc: mtc / s,
                startupSeconds: median(runs.map((x) => x.startupSeconds ?? NaN)),
                cpuPerGB: median(runs.map((x) => (x.cpu.total ?? NaN) / (x.bytes / 1e9))),
                cpuVsRaw: median(runs.map((x) => (x.cpu.total ?? NaN) / (x.bytes / 1e9))) / rawCpu,
                stunnelCpuPerGB: median(runs.map((x) => ((x.cpu.stunnelServer ?? NaN) + (x.cpu.stunnelClient ?? NaN)) / (x.bytes / 1e9))),
                sidecarDuringTransfer: median(runs.map((x) => (x.cpu.sidecarLoop ?? NaN) / x.seconds)),
            });
        }
    }
    const incremental = configs.map((c) => {
        const incr = r.runs.filter((x) => x.config === c && x.pass === "incremental");
        const fractions = incr.map((i) => {
            const base = r.runs.find((x) => x.config === c && x.pass === "full" && x.dataset === i.dataset && x.rep === i.rep);
            return base ? i.seconds / base.seconds : NaN;
        });
        const same = r.runs.filter((x) => x.config === c && x.pass === "unchanged");
        const sameFractions = same.map((i) => {
            const base = r.runs.find((x) => x.config === c && x.pass === "full" && x.dataset === i.dataset && x.rep === i.rep);
            return base ? i.seconds / base.seconds : NaN;
        });
        return {
            config: c, reps: incr.length, seconds: median(incr.map((x) => x.seconds)), fraction: median(fractions), changedFiles: incr[0]?.files ?? 0,
            unchangedSeconds: median(same.map((x) => x.seconds)), unchangedFraction: median(sameFractions),
        };
    }).filter((x) => x.reps > 0);
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
    const genIncr = incremental.find((x) => x.config === "generated");
    const biggest = scale[scale.length - 1];
    const targets = [
        { target: "generated/raw, large files", goal: ">= 0.90", value: row("large", "generated")?.vsRaw, ok: (v: number) => v >= 0.9, fmt: (v: number) => f(v) },
        { target: "generated/raw, small files", goal: ">= 0.80", value: row("small", "generated")?.vsRaw, ok: (v: number) => v >= 0.8, fmt: (v: number) => f(v) },
        { target: "generated vs MTC default, small files", goal: ">= 1.30x", value: row("small", "generated")?.vsMtc, ok: (v: number) => v >= 1.3, fmt: (v: number) => `${f(v)}x` },
        { target: "generated vs MTC default, large files", goal: "never slower (>= 1.00x)", value: row("large", "generated")?.vsMtc, ok: (v: number) => v >= 1.0, fmt: (v: number) => `${f(v)}x` },
        { target: "waiting loops (rsync-client.sh + stunnel-client.sh, idle)", goal: "< 1% of a core", value: r.idle ? r.idle.rsyncWaitLoop + r.idle.sidecarLoop : undefined, ok: (v: number) => v < 0.01, fmt: (v: number) => pct(v, 3) },
        { target: "incremental pass (1% of small files changed)", goal: "<= 0.10 of the full pass", value: genIncr?.fraction, ok: (v: number) => v <= 0.1, fmt: (v: number) => f(v, 3) },
        { target: `program construction, ${biggest?.pvcs ?? 1000} PVCs (mocks)`, goal: "< 10 s", value: biggest?.pvcs === 1000 ? biggest.constructSeconds : undefined, ok: (v: number) => v < 10, fmt: (v: number) => `${f(v, 1)} s` },
        { target: `program peak memory, ${biggest?.pvcs ?? 1000} PVCs (mocks)`, goal: "< 1 GiB", value: biggest?.pvcs === 1000 ? biggest.peakRssMiB : undefined, ok: (v: number) => v < 1024, fmt: (v: number) => `${f(v, 0)} MiB` },
    ].map((t) => ({
        target: t.target, goal: t.goal, value: t.value ?? null,
        shown: t.value === undefined || !Number.isFinite(t.value) ? "not measured" : t.fmt(t.value),
        met: t.value === undefined || !Number.isFinite(t.value) ? null : t.ok(t.value),
    }));
    return { rows, incremental, scale, scaleExperiments, targets };
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

/** The end-to-end section of the report: the tables of a measured step, else why it was not measured. */
export function e2eMarkdown(e: E2EResult | undefined): string[] {
    const out: string[] = [];
    if (!e) return ["End-to-end wave time: not measured in this run (it was made before `make bench` had the step)."];
    if (!e.measured) {
        out.push(`End-to-end wave time: not measured in this run - ${e.reason}.${e.how ? ` To measure it: ${e.how}.` : ""}`);
        return out;
    }
    const p = e.params;
    const rows = summarizeE2E(e.samples);
    const mib = (b: number) => f(b / 2 ** 20, 0);
    const waveLabel = (x: { namespaces: number; experiment?: string }) => `${x.namespaces}${x.experiment ? ` (experiment \`${x.experiment}\`)` : ""}`;
    out.push(`End-to-end waves through \`${e.command}\` between the local pair of real clusters (\`make clusters-up\`, NodePort endpoint, `
        + `transfers as root): each namespace ${p.pvcsPerNamespace} PVC(s) of ${p.largeMiB} MiB of large files + ${p.smallFiles} files of ${p.smallKiB} KiB; `
        + `medians of ${p.reps} repetition(s), wave sizes interleaved, \`pulumi destroy\` between; every destination volume compared file by file `
        + `(sha256, size, mode, owner, mtime) with its source. Transfers: \`dvm: pvc-start\` to \`pvc-end\` of the source pod's rsync log; `
        + `the PVCs of a namespace are copied one after the other, namespaces at the same time. Step started ${e.startedAt}, ${f(e.seconds / 60, 1)} min`
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
        out.push(`Data sets on tmpfs, over a veth pair between two network namespaces: large = ${r.datasets.large.files} files, ${f(r.datasets.large.bytes / 2 ** 20, 0)} MiB; small = ${r.datasets.small.files} files of ${r.params.smallKiB} KiB. Medians of ${r.params.reps} repetitions, configurations interleaved; MB = 10^6 bytes of payload.`);
        if (r.generatedArgs) out.push(`dvm's rsync container args as generated: \`${r.generatedArgs.join(" ")}\`.`);
        out.push("");
        out.push("| data set | configuration | median s (min-max) | MB/s | files/s | vs raw | vs MTC default |");
        out.push("|---|---|---|---|---|---|---|");
        for (const x of s.rows) {
            out.push(`| ${x.dataset} | ${label(x.config)} | ${f(x.seconds)} (${f(x.min)}-${f(x.max)}) | ${f(x.mbps, 1)} | ${f(x.filesPerSecond, 0)} | ${f(x.vsRaw)} | ${x.config === "raw" ? "" : `${f(x.vsMtc)}x`} |`);
        }
        out.push("");
        if (s.incremental.length > 0) {
            out.push(`Incremental pass after changing 1% of the small files (${s.incremental[0].changedFiles} files):`);
            out.push("");
            out.push("| configuration | median s | fraction of the full pass | nothing changed: s (fraction) |");
            out.push("|---|---|---|---|");
            for (const x of s.incremental) out.push(`| ${label(x.config)} | ${f(x.seconds)} | ${f(x.fraction, 3)} | ${f(x.unchangedSeconds)} (${f(x.unchangedFraction, 3)}) |`);
            out.push("");
        }
        out.push("CPU from /proc (utime+stime):");
        out.push("");
        out.push("| data set | configuration | CPU s per GB, all processes (vs raw) | of which stunnel (client + server) | sidecar loop during transfer | pod start to first byte |");
        out.push("|---|---|---|---|---|---|");
        for (const x of s.rows) {
            const raw = x.config === "raw";
            out.push(`| ${x.dataset} | ${label(x.config)} | ${f(x.cpuPerGB)}${raw ? "" : ` (${f(x.cpuVsRaw)}x)`} | ${raw ? "" : f(x.stunnelCpuPerGB)} | ${Number.isFinite(x.sidecarDuringTransfer) ? pct(x.sidecarDuringTransfer, 3) : ""} | ${Number.isFinite(x.startupSeconds) ? `${f(x.startupSeconds)} s` : ""} |`);
        }
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
        const name = (c: string) => (c === "generated" ? "dvm" : c === "mtc" ? "MTC default" : c === "raw" ? "raw tar|nc" : c);
        const write = (ds: string, col: (x: Row) => number) => {
            const file = path.join(dir, `${ds}.dat`);
            fs.writeFileSync(file, s.rows.filter((x) => x.dataset === ds).map((x) => `"${name(x.config)}" ${col(x).toFixed(2)}`).join("\n") + "\n");
            return file;
        };
        const has = (ds: string) => s.rows.some((x) => x.dataset === ds);
        const large = write("large", (x) => x.mbps);
        const small = write("small", (x) => x.filesPerSecond);
        const panels = [has("large"), has("small")].filter(Boolean).length;
        const script = [
            `set terminal pngcairo size ${panels * 550},460 font "sans,11"`,
            `set output "${png}"`,
            `set multiplot layout 1,${panels} title "dvm data plane: throughput per configuration (medians of ${r.params.reps}; ${r.machine.cores} cores, ${r.machine.cpu.replace(/"/g, "")})"`,
            `set style data histograms`, `set style histogram clustered gap 1`, `set boxwidth 0.8`, `set style fill solid 0.8 border -1`, `set grid ytics`, `unset key`,
            `set yrange [0:*]`, `set xtics nomirror rotate by -20`,
            ...(has("large") ? [
                `set title "large files (${r.datasets ? f(r.datasets.large.bytes / 2 ** 30, 1) : "?"} GiB): MB/s"`,
                `plot "${large}" using 2:xtic(1) lc rgb "#3b75af", "" using 0:2:(sprintf("%.0f",$2)) with labels offset 0,0.7`,
            ] : []),
            ...(has("small") ? [
                `set title "small files (${r.datasets?.small.files ?? "?"} x ${r.params.smallKiB} KiB): files/s"`,
                `plot "${small}" using 2:xtic(1) lc rgb "#e1812c", "" using 0:2:(sprintf("%.0f",$2)) with labels offset 0,0.7`,
            ] : []),
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
