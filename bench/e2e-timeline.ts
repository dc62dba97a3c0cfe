// The end-to-end benchmark's arithmetic (pure, tested in bench/bench.test.ts): the transfers and the tunnel of a source
// transfer pod from its rsync container's `kubectl logs --timestamps` (the `dvm: ` lines of
// contract/PROTOCOL.md), and the figures of one wave sample bench/e2e.ts records (bench/report.ts summarizes).
import { parseEvent } from "../progress/parser";

/** One PVC's copy: `dvm: pvc-start` to `dvm: pvc-end` of each attempt, summed (retries and their waits excluded). */
export interface Transfer {
    namespace: string;
    pvc: string;
    seconds: number;
    attempts: number;
    /** epoch ms of the first pvc-start and the last pvc-end */
    start: number;
    end: number;
    result: string;
}

export interface PodTimeline {
    /** epoch ms of `dvm: tunnel-wait` (the rsync container's script started), `tunnel-up` */
    tunnelWait?: number;
    tunnelUp?: number;
    transfers: Transfer[];
}

// (rsync's progress runs hold \r, which `.` does not match)
const LINE_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ([\s\S]*)$/;

/** Parses the rsync container's log (`kubectl logs --timestamps`); throws when a pvc-start has no pvc-end. */
export function podTimeline(namespace: string, log: string): PodTimeline {
    const out: PodTimeline = { transfers: [] };
    const open = new Map<string, number>();
    const byPvc = new Map<string, Transfer>();
    for (const raw of log.split("\n")) {
        const m = LINE_RE.exec(raw);
        if (!m) continue;
        const ts = Date.parse(m[1]);
        // rsync's progress runs (\r-separated) may precede the script's next line on the same log line
        const i = m[2].lastIndexOf("dvm: ");
        if (i < 0) continue;
        const ev = parseEvent(m[2].slice(i));
        if (!ev) continue;
        const pvc = ev.fields.pvc;
        switch (ev.event) {
            case "tunnel-wait": out.tunnelWait ??= ts; break;
            case "tunnel-up": out.tunnelUp ??= ts; break;
            case "pvc-start":
                if (pvc) open.set(pvc, ts);
                break;
            case "pvc-end": {
                const start = pvc ? open.get(pvc) : undefined;
                if (!pvc || start === undefined) break;
                open.delete(pvc);
                const t = byPvc.get(pvc);
                if (t) {
                    t.seconds += (ts - start) / 1000;
                    t.attempts++;
                    t.end = ts;
                    t.result = ev.fields.result ?? "";
                } else {
                    const n: Transfer = { namespace, pvc, seconds: (ts - start) / 1000, attempts: 1, start, end: ts, result: ev.fields.result ?? "" };
                    byPvc.set(pvc, n);
                    out.transfers.push(n);
                }
                break;
            }
            default: break;
        }
    }
    if (open.size > 0) throw new Error(`namespace ${namespace}: the rsync log has a pvc-start without a pvc-end for ${[...open.keys()].join(", ")}`);
    return out;
}

/** What `pulumi up --json` says about the wave (its engine events, one JSON object a line, times in whole seconds):
 * epoch ms of the engine's prelude (CLI, policy pack and engine started), of the first destination side complete
 * (transfer pod ready and the Service's own await done: the endpoint is known) and of the last progress resource
 * done (its Job seen complete); on a cutover, of the first SourceQuiesce step starting (the provider's create or
 * update called: workloads patched next) and of the last one done (no pod mounts a PVC of the wave). */
export function enginePoints(stdout: string): EnginePoints {
    const out: EnginePoints = {};
    for (const line of stdout.split("\n")) {
        if (!line.startsWith("{")) continue;
        let ev: any;
        try { ev = JSON.parse(line); } catch { continue; }
        if (typeof ev.timestamp !== "number") continue;
        const ms = ev.timestamp * 1000;
        if (ev.preludeEvent) out.prelude ??= ms;
        const type: string = ev.resOutputsEvent?.metadata?.type ?? "";
        if (type.endsWith(":DestinationTransfer")) out.destinationDone = Math.min(out.destinationDone ?? ms, ms);
        if (type.endsWith(":TransferProgress")) out.progressDone = Math.max(out.progressDone ?? ms, ms);
        if (type.endsWith(":SourceQuiesce")) out.quiesceDone = Math.max(out.quiesceDone ?? ms, ms);
        const pre = ev.resourcePreEvent?.metadata;
        // a step that changes nothing ("same") touches no workload: not the start of a quiesce
        if ((pre?.type ?? "").endsWith(":SourceQuiesce") && pre.op !== "same") out.quiesceStart = Math.min(out.quiesceStart ?? ms, ms);
    }
    return out;
}

export interface EnginePoints { prelude?: number; destinationDone?: number; progressDone?: number; quiesceStart?: number; quiesceDone?: number }

/** Points of one `pulumi up`, in seconds after the `pulumi up` process started (Kubernetes object times and engine
 * events have 1 s resolution, log lines nanoseconds). Up to the first byte each is the earliest over the wave's
 * namespaces, after it the latest. */
export interface Milestones {
    /** the engine's prelude event: CLI start, policy pack loaded, engine started */
    engineStarted?: number;
    /** the first object the program created in either cluster: program construction, providers */
    firstObject?: number;
    /** a destination transfer pod Ready (rsyncd + stunnel server up) */
    destinationReady?: number;
    /** a destination side complete in the engine (the Deployment's and the Service's awaits done) */
    destinationDone?: number;
    /** a source transfer Job created (it waits for the destination side) */
    sourceJob?: number;
    /** a source pod's rsync container script started (`dvm: tunnel-wait`) */
    sourceStarted?: number;
    /** `dvm: tunnel-up`: the rsync daemon answered through the tunnel */
    tunnelUp?: number;
    /** the first `dvm: pvc-start` */
    firstByte: number;
    /** the last `dvm: pvc-end` */
    lastByte: number;
    /** the last source Job complete (status.completionTime) */
    jobComplete?: number;
    /** the last progress resource done (engine event) */
    progressDone?: number;
}

export interface E2ESample {
    /** namespaces in the wave, PVCs in all */
    namespaces: number;
    pvcs: number;
    rep: number;
    /** an experiment of bench/e2e.ts's E2E_EXPERIMENTS instead of the program as it is */
    experiment?: string;
    /** payload seeded into the source PVCs, all of the wave's */
    bytes: number;
    files: number;
    /** wall time of the `pulumi up` process (start to exit), of the `pulumi destroy` after it */
    upSeconds: number;
    destroySeconds: number;
    transfers: Transfer[];
    milestones: Milestones;
    /** what the destination volumes held afterwards (regular files, bytes), each PVC compared with its source */
    verified: { files: number; bytes: number };
    /** sum of the progress records' transferredBytes (stack output `migration`) */
    transferredBytes: number;
    loadavg: string;
}

export function sampleStats(s: E2ESample) {
    const sum = s.transfers.reduce((n, t) => n + t.seconds, 0);
    // a namespace's transfers: from its first pvc-start to its last pvc-end (its PVCs run dvm:rsync.parallel at a time)
    const span = new Map<string, { start: number; end: number }>();
    for (const t of s.transfers) {
        const x = span.get(t.namespace);
        span.set(t.namespace, { start: Math.min(x?.start ?? t.start, t.start), end: Math.max(x?.end ?? t.end, t.end) });
    }
    const longest = Math.max(...[...span.values()].map((x) => (x.end - x.start) / 1000));
    return {
        sum, longest,
        overhead: s.upSeconds - sum, ratio: s.upSeconds / sum,
        overheadVsLongest: s.upSeconds - longest,
        firstByte: s.milestones.firstByte,
        /** from the last pvc-end to the exit of `pulumi up` */
        tail: s.upSeconds - s.milestones.lastByte,
    };
}

/** Points of one pass of the cutover measurement, in seconds after its `pulumi up` process started. */
export interface PassPoints {
    /** the SourceQuiesce step started / done (engine events; a cutover only) */
    quiesceStart?: number;
    quiesceDone?: number;
    /** the pass's source Job created (Kubernetes), its pod's rsync script started (`dvm: tunnel-wait`), tunnel up */
    sourceJob?: number;
    sourceStarted?: number;
    tunnelUp?: number;
    /** the pass's first `dvm: pvc-start`, last `dvm: pvc-end` (the end of the pass) */
    firstByte: number;
    lastByte: number;
    jobComplete?: number;
    progressDone?: number;
}

/** One `pulumi up` of the cutover measurement: a plain incremental stage pass or a cutover's final pass. */
export interface PassRun {
    pass: number;
    upSeconds: number;
    transfers: Transfer[];
    points: PassPoints;
}

/** One repetition: 1% of the files changed, a stage pass; the same files changed back (1% again), a cutover; a
 * rollback to bring the source back for the next repetition. */
export interface CutoverSample {
    rep: number;
    pvcs: number;
    /** files changed before each of the two passes (all PVCs) */
    changedFiles: number;
    /** payload of the wave's PVCs */
    bytes: number;
    files: number;
    incremental: PassRun;
    cutover: PassRun;
    /** wall time of the rollback's `pulumi up` */
    rollbackSeconds: number;
    loadavg: string;
}

/** A pass's transfer time: first pvc-start to last pvc-end (the PVCs run dvm:rsync.parallel at a time). */
export const passSeconds = (r: PassRun): number => r.points.lastByte - r.points.firstByte;

/** Where a cutover's window goes: from the start of the quiesce, each step to the next known point. */
export const CUTOVER_STEPS: Array<[keyof PassPoints | "exit", string]> = [
    ["quiesceDone", "quiesce (workloads patched, their pods gone)"], ["sourceJob", "final pass's Job created"], ["sourceStarted", "its pod started"],
    ["tunnelUp", "tunnel up"], ["firstByte", "first pvc-start"], ["lastByte", "final pass (to the last pvc-end)"], ["exit", "`pulumi up` exit"],
];

/** The figures of one repetition; NaN where a point is missing (a cutover without its SourceQuiesce events). */
export function cutoverStats(s: CutoverSample) {
    const c = s.cutover;
    const start = c.points.quiesceStart ?? NaN;
    const incremental = passSeconds(s.incremental);
    const windowSeconds = c.points.lastByte - start;
    const steps: Record<string, number> = {};
    let prev = start;
    for (const [k, label] of CUTOVER_STEPS) {
        const v = k === "exit" ? c.upSeconds : c.points[k];
        if (v === undefined || !Number.isFinite(v) || !Number.isFinite(prev)) continue;
        steps[label] = v - prev;
        prev = v;
    }
    return {
        incrementalSeconds: incremental, incrementalUpSeconds: s.incremental.upSeconds,
        finalPassSeconds: passSeconds(c), quiesceSeconds: (c.points.quiesceDone ?? NaN) - start,
        windowSeconds, windowToExitSeconds: c.upSeconds - start,
        /** the window over the incremental pass: the target is <= 10 s */
        excessSeconds: windowSeconds - incremental,
        cutoverUpSeconds: c.upSeconds, rollbackSeconds: s.rollbackSeconds, steps,
    };
}
