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
 * done (its Job seen complete). */
export function enginePoints(stdout: string): { prelude?: number; destinationDone?: number; progressDone?: number } {
    const out: { prelude?: number; destinationDone?: number; progressDone?: number } = {};
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
    }
    return out;
}

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
    const perNs = new Map<string, number>();
    for (const t of s.transfers) perNs.set(t.namespace, (perNs.get(t.namespace) ?? 0) + t.seconds);
    const longest = Math.max(...perNs.values());
    return {
        sum, longest,
        overhead: s.upSeconds - sum, ratio: s.upSeconds / sum,
        overheadVsLongest: s.upSeconds - longest,
        firstByte: s.milestones.firstByte,
        /** from the last pvc-end to the exit of `pulumi up` */
        tail: s.upSeconds - s.milestones.lastByte,
    };
}
