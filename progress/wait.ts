// The wait: how `pulumi up` follows one namespace's transfer. Polls the source transfer Job (sleeping between polls,
// bounded by the timeout), reads the rsync container log of every pod it ran, turns it into per-PVC records and fails
// naming namespace, PVC, reason and the last rsync lines when a PVC failed.
import { CONTAINERS, MIGRATION_MODES } from "../contract";
import type { LogSegment, ParsedTransfer, ProgressRecord } from "./parser";
import { namespacePhase, parseTransferLogs, scrubSecrets } from "./parser";
import type { JobStatus, PodStatus, TransferSource } from "./source";

export interface TransferInputs {
    kubeconfig?: string;
    context?: string;
    namespace: string;
    jobName: string;
    pvcs: { source: string; target: string }[];
    wave: string;
    pass: number;
    render: boolean;
    timeoutSeconds: number;
    /** Seconds between polls (tests: 0). */
    pollSeconds?: number;
    /** `cutover`: the final pass of a quiesced source (a failure says how to roll back). Default stage. */
    mode?: string;
}

export interface TransferOutputs {
    namespace: string;
    jobName: string;
    wave: string;
    pass: number;
    render: boolean;
    /** The input PVC pairs (the output `pvcs` holds the records). */
    pvcPairs: { source: string; target: string }[];
    phase: string;
    pvcs: Record<string, ProgressRecord>;
    /** Set for a cutover's final pass. */
    mode?: string;
}

export interface WaitHooks {
    sleep?: (ms: number) => Promise<void>;
    now?: () => number;
    /** Called with the records after every poll (the watch command, debugging). */
    onPoll?: (records: Record<string, ProgressRecord>) => void;
}

/**
 * What a reader saw of each pod of a Job, by pod name: a pod that is gone (deleted, evicted - its log goes with it)
 * still counts with what was read of it last, so the record keeps that pod's attempts, bytes and time. The caller
 * keeps one per Job across polls (a plain value: the provider is serialized without module state).
 */
export type SegmentMemory = Map<string, { created: number; segments: LogSegment[]; restarts?: number }>;

/** Reads every pod of the Job (oldest first, previous container runs included) as log segments; with `memory`, also
 * the pods that are no longer there. */
export async function readSegments(source: TransferSource, namespace: string, pods: PodStatus[], memory?: SegmentMemory): Promise<{ segments: LogSegment[]; problems: string[] }> {
    const seen: SegmentMemory = new Map();
    const problems: string[] = [];
    for (const pod of [...pods].sort((a, b) => a.created - b.created)) {
        const segments: LogSegment[] = [];
        const c = pod.rsync;
        if (pod.condition) problems.push(`pod ${pod.name}: ${pod.condition}`);
        if (c?.waiting && c.waiting.reason !== "ContainerCreating" && c.waiting.reason !== "PodInitializing")
            problems.push(`pod ${pod.name}: rsync container ${c.waiting.reason}${c.waiting.message ? `: ${c.waiting.message}` : ""}`);
        if (!c || (!c.running && !c.terminated && c.restartCount === 0)) continue;
        if (c.restartCount > 0) {
            try {
                segments.push({ text: await source.log(namespace, pod.name, CONTAINERS.rsync, true), terminated: true, pod: pod.name });
            } catch {
                // the previous run's log is gone (only the last one is kept)
            }
        }
        try {
            let text = await source.log(namespace, pod.name, CONTAINERS.rsync, false);
            // an ended container's log no longer changes: a read that does not continue the last one (a deleted pod
            // answers "unable to retrieve container logs ..." once the runtime removed its container) keeps what was
            // read. (A running container's log may be rotated, so there the new text counts.)
            const before = memory?.get(pod.name);
            const last = before?.restarts === c.restartCount ? before.segments[before.segments.length - 1]?.text : undefined;
            if (c.terminated && last && !text.startsWith(last)) text = last;
            segments.push({
                text,
                pod: pod.name,
                terminated: !!c.terminated,
                exitCode: c.terminated?.exitCode,
                terminationReason: c.terminated?.reason,
            });
        } catch (e) {
            problems.push(`pod ${pod.name}: cannot read the rsync log: ${(e as Error).message ?? e}`);
            // keep what an earlier poll read of it
            const before = memory?.get(pod.name);
            if (before) segments.splice(0, segments.length, ...before.segments);
        }
        seen.set(pod.name, { created: pod.created, segments, restarts: c.restartCount });
    }
    if (memory) {
        for (const [name, before] of memory) {
            if (seen.has(name)) continue;
            // the pod is gone: whatever it was doing when last read, it ended there
            seen.set(name, {
                created: before.created,
                segments: before.segments.map((g) => (g.terminated ? g : { ...g, terminated: true, terminationReason: g.terminationReason ?? "the pod was deleted" })),
            });
        }
        memory.clear();
        for (const [name, v] of seen) memory.set(name, v);
    }
    const segments = [...seen.values()].sort((a, b) => a.created - b.created).flatMap((v) => v.segments);
    return { segments, problems };
}

/** Keeps what an earlier poll knew when the log no longer shows it (kubelet log rotation drops the oldest lines). */
export function mergeRecords(prev: Record<string, ProgressRecord>, next: Record<string, ProgressRecord>): Record<string, ProgressRecord> {
    const out: Record<string, ProgressRecord> = { ...next };
    for (const [pvc, old] of Object.entries(prev)) {
        const cur = next[pvc];
        if (!cur || (cur.phase === "Pending" && old.phase !== "Pending") || cur.attempts < old.attempts) out[pvc] = old;
    }
    return out;
}

/** Consecutive failed API polls before the wait gives up. */
export const MAX_API_ERRORS = 6;

/** How long a Job that is neither complete nor failed may have no active pod after a pod failed before the wait
 * gives up: the Job controller starts the next pod after its back-off (10 s, then 20 s, ... for a counted failure)
 * or fails the Job itself, which ends the wait at once. */
export const NO_POD_SETTLE_SECONDS = 180;

/**
 * Thrown by create/update: the dynamic-provider host turns an error with `id` + `properties` + `reasons` into
 * ErrorResourceInitFailed, so the engine keeps the records in the state; `pulumi up` prints `reasons` as the error
 * text, hence the whole message (with the last rsync lines) is the one reason.
 */
export class TransferFailedError extends Error {
    public readonly reasons: string[];
    constructor(
        message: string,
        public readonly id: string,
        public readonly properties: TransferOutputs,
    ) {
        super(message);
        this.name = "TransferFailedError";
        this.reasons = [message];
    }
}

/** The error text `pulumi up` shows: namespace, every failed PVC with reason, message and its last rsync lines. */
export function failureMessage(out: TransferOutputs, headline: string, hold?: ParsedTransfer["hold"], why?: string): string {
    const cutover = out.mode === MIGRATION_MODES.cutover;
    const lines = [`dvm: ${headline} in namespace ${out.namespace} (Job ${out.jobName}, wave ${out.wave}, pass ${out.pass}${cutover ? ", the cutover's final pass" : ""})`];
    if (why) lines.push(`  ${why}`);
    for (const [pvc, r] of Object.entries(out.pvcs)) {
        if (r.phase !== "Failed") continue;
        const target = out.pvcPairs.find((p) => p.source === pvc)?.target;
        lines.push(`  PVC ${pvc}${target && target !== pvc ? ` -> ${target}` : ""}: ${r.reason ?? "Other"} after ${r.attempts} attempt(s)` +
            `${r.exitCode !== undefined ? `, exit ${r.exitCode}` : ""}${r.message ? `: ${r.message}` : ""}`);
        if (r.lastLines && r.lastLines.length) {
            lines.push("    last rsync lines:");
            for (const l of r.lastLines) lines.push(`      ${l}`);
        }
    }
    if (hold) {
        lines.push(`  The failed source pod${hold.pod ? ` ${hold.pod}` : ""} stays up for ${hold.seconds}s (dvm:debugHold), its tunnel with it: ` +
            `kubectl -n ${out.namespace} exec -it ${hold.pod ?? "<pod>"} -c rsync -- bash`);
    }
    if (cutover) {
        lines.push("  The source applications stay quiesced (no split brain: nothing brings them back but a rollback).");
        lines.push("  Fix the cause, then run the final pass again: pulumi config set dvm:pass <n+1> && pulumi up");
        lines.push(`  Or give up the cutover and bring the source back: pulumi config set dvm:migration ${MIGRATION_MODES.rollback} && pulumi up`);
    } else {
        lines.push("  Fix the cause, then run another pass of the wave: pulumi config set dvm:pass <n+1> && pulumi up");
    }
    return scrubSecrets(lines.join("\n"));
}

function outputsOf(inputs: TransferInputs, pvcs: Record<string, ProgressRecord>): TransferOutputs {
    return {
        namespace: inputs.namespace,
        jobName: inputs.jobName,
        wave: inputs.wave,
        pass: inputs.pass,
        render: !!inputs.render,
        pvcPairs: inputs.pvcs.map((p) => ({ source: p.source, target: p.target })),
        phase: namespacePhase(pvcs),
        pvcs,
        ...(inputs.mode === MIGRATION_MODES.cutover ? { mode: inputs.mode } : {}),
    };
}

/** Render mode: every PVC `Rendered`, no cluster touched. */
export function renderedOutputs(inputs: TransferInputs): TransferOutputs {
    const pvcs: Record<string, ProgressRecord> = {};
    for (const p of inputs.pvcs) pvcs[p.source] = { phase: "Rendered", attempts: 0, totalProgressPercentage: 0, transferredBytes: 0 };
    return outputsOf(inputs, pvcs);
}

/**
 * Seconds to sleep after poll number `poll` (0-based). Often at first: a small wave's transfers end within seconds
 * and a failure should surface at once (every second for the first 10 s, then every 2 s to 40 s); then every 5 s to
 * 1.7 min, 15 s to 8.7 min and 30 s after that, so a wave of many namespaces and long transfers stays light on the API
 * server.
 */
export function pollInterval(poll: number): number {
    return poll < 10 ? 1 : poll < 25 ? 2 : poll < 37 ? 5 : poll < 65 ? 15 : 30;
}

/**
 * Waits for the transfer Job and returns the per-PVC records, or throws TransferFailedError (which carries the
 * records, so the engine keeps them in the state) when a PVC failed, the Job failed, or the wait timed out.
 */
export async function waitForTransfer(source: TransferSource, inputs: TransferInputs, hooks: WaitHooks = {}): Promise<TransferOutputs> {
    const now = hooks.now ?? (() => Date.now());
    const sleep = hooks.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const id = `${inputs.namespace}/${inputs.jobName}`;
    const names = inputs.pvcs.map((p) => p.source);
    const started = now();
    const deadline = started + Math.max(0, inputs.timeoutSeconds) * 1000;
    let records: Record<string, ProgressRecord> = {};
    let missing = 0;
    let noPodSince: number | undefined;
    let apiErrors = 0;
    const memory: SegmentMemory = new Map();
    for (let poll = 0; ; poll++) {
        const pause = () => sleep(Math.max(0, Math.min((inputs.pollSeconds ?? pollInterval(poll)) * 1000, deadline - now())));
        let job: JobStatus | undefined;
        let pods: PodStatus[];
        try {
            job = await source.job(inputs.namespace, inputs.jobName);
            pods = job ? await source.pods(inputs.namespace, inputs.jobName) : [];
            apiErrors = 0;
        } catch (e) {
            // a transfer can take hours: an API server restart or a network blip must not fail it; a lasting error
            // (credentials, RBAC, an unreachable cluster) does, after a few polls
            if (++apiErrors >= MAX_API_ERRORS || now() >= deadline) {
                throw new Error(`dvm: cannot follow the transfer in namespace ${inputs.namespace} (Job ${inputs.jobName}): ${(e as Error).message ?? e} (${apiErrors} polls in a row failed)`);
            }
            await pause();
            continue;
        }
        if (!job) {
            // created just before us (dependsOn), so absence means it was deleted: say so rather than wait forever
            if (++missing >= 3) {
                const out = outputsOf(inputs, failAll(records, names, "Other", `the transfer Job ${id} does not exist on the source cluster (deleted?)`));
                throw new TransferFailedError(failureMessage(out, "transfer Job missing"), id, out);
            }
        } else missing = 0;
        const { segments, problems } = await readSegments(source, inputs.namespace, pods, memory);
        const parsed: ParsedTransfer = parseTransferLogs(segments, { pvcs: names, now: now() });
        records = mergeRecords(records, parsed.pvcs);
        if (problems.length) {
            for (const r of Object.values(records)) if (r.phase === "Pending" && !r.message) r.message = problems.join("; ");
        }
        hooks.onPoll?.(records);

        // fail at once on the script's own verdict (a fatal rsync error, the tunnel, a usage error); a container that
        // was cut off (eviction, node loss, kill) may be followed by the Job's next pod: the Job's status decides
        if (Object.values(records).some((r) => r.phase === "Failed" && r.reason !== "ContainerTerminated" && r.reason !== "NotStarted")) {
            const out = outputsOf(inputs, records);
            throw new TransferFailedError(failureMessage(out, "transfer failed", parsed.hold), id, out);
        }
        const noPod = !!job && !job.complete && !job.failed && job.active === 0 && Object.values(records).some((r) => r.phase === "Failed");
        noPodSince = noPod ? (noPodSince ?? now()) : undefined;
        if (job?.failed || (noPodSince !== undefined && now() - noPodSince >= NO_POD_SETTLE_SECONDS * 1000)) {
            const failure = job?.failed ?? { reason: "Failed", message: "the Job has no active pod and did not complete" };
            const reason = failure.reason === "DeadlineExceeded" ? "Timeout" : "Other";
            const out = outputsOf(inputs, failAll(records, names, reason, `the Job failed: ${failure.reason}: ${failure.message}${problems.length ? `; ${problems.join("; ")}` : ""}`));
            throw new TransferFailedError(failureMessage(out, "transfer Job failed", undefined, `the Job: ${failure.reason}: ${failure.message}`), id, out);
        }
        // the Job's pod has Succeeded (every container exited 0, restartPolicy Never): the Job completes with it; the
        // Job controller's own completion comes a second or two later
        if (job?.complete || (job && !job.failed && pods.some((p) => p.phase === "Succeeded"))) {
            for (const n of names) {
                const r = records[n];
                if (r && r.phase !== "Succeeded") {
                    // exit 0 means every PVC was copied; the log no longer says so (rotated or unreadable)
                    records[n] = { ...r, phase: "Succeeded", totalProgressPercentage: 100, message: r.message ?? "the Job completed; its log did not show this PVC's result" };
                }
            }
            return outputsOf(inputs, records);
        }
        if (now() >= deadline) {
            const out = outputsOf(inputs, failAll(records, names, "Timeout", `no result after ${inputs.timeoutSeconds}s (dvm:transferTimeoutMinutes)${problems.length ? `; ${problems.join("; ")}` : ""}`));
            throw new TransferFailedError(failureMessage(out, "transfer timed out"), id, out);
        }
        await pause();
    }
}

function failAll(records: Record<string, ProgressRecord>, names: string[], reason: string, message: string): Record<string, ProgressRecord> {
    const out: Record<string, ProgressRecord> = { ...records };
    for (const n of names) {
        const r = out[n] ?? { phase: "Pending", attempts: 0, totalProgressPercentage: 0, transferredBytes: 0 };
        if (r.phase === "Succeeded" || r.phase === "Failed") continue;
        // a running PVC keeps the reason of its last failed attempt, if any (more telling than "timeout")
        out[n] = { ...r, phase: "Failed", reason: r.reason && r.phase === "Running" ? r.reason : reason, message: r.message && r.phase === "Running" ? `${message}; last: ${r.message}` : message };
    }
    return out;
}
