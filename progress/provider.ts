// The dynamic provider behind `TransferProgress`: it is the completion gate of a namespace's transfer. The source
// transfer Job is created with `pulumi.com/skipAwait`, so `create` waits here (sleeping between polls, bounded by
// timeoutSeconds) for the Job to complete or fail, reads the `rsync` container log of every pod the Job ran, turns
// it into per-PVC progress records (parser.ts), and fails `pulumi up` naming namespace, PVC, reason and the last rsync
// lines when a PVC failed.
//
// Serialization: Pulumi serializes this provider object by value (functions + what they capture) into the state and
// runs it in the engine's dynamic-provider host. So: no module-level state, no captured clients, packages are
// require()d inside the functions that use them, and the kubeconfig is only ever an input argument (never captured,
// never an output).
import type { LogSegment, ParsedTransfer, ProgressRecord } from "./parser";
import { namespacePhase, parseTransferLogs, scrubSecrets } from "./parser";

// ------------------------------------------------------------------------------------------------- cluster access

export interface JobStatus {
    /** The Job finished successfully (condition Complete / SuccessCriteriaMet). */
    complete: boolean;
    /** The Job failed (condition Failed): reason (DeadlineExceeded, BackoffLimitExceeded, PodFailurePolicy) + message. */
    failed?: { reason: string; message: string };
    active: number;
}

export interface RsyncContainerStatus {
    restartCount: number;
    running: boolean;
    waiting?: { reason: string; message?: string };
    terminated?: { exitCode: number; reason?: string; message?: string };
}

export interface PodStatus {
    name: string;
    /** ms since epoch */
    created: number;
    phase: string;
    /** Why the pod cannot start (Unschedulable ...), when known. */
    condition?: string;
    rsync?: RsyncContainerStatus;
}

/** What the provider and the watch command read from the source cluster. Tests inject a fake. */
export interface TransferSource {
    job(namespace: string, name: string): Promise<JobStatus | undefined>;
    pods(namespace: string, jobName: string): Promise<PodStatus[]>;
    /** The container log, with `--timestamps` prefixes. */
    log(namespace: string, pod: string, container: string, previous: boolean): Promise<string>;
}

/** The real source: @kubernetes/client-node with the source cluster's kubeconfig (content or path) and context. */
export function kubeSource(kubeconfig: string | undefined, context: string | undefined): TransferSource {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const k8s = require("@kubernetes/client-node");
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const fs = require("fs");
    const kc = new k8s.KubeConfig();
    const text = (kubeconfig ?? "").trim();
    if (text && !text.includes("\n") && fs.existsSync(text)) kc.loadFromFile(text);
    else if (text) kc.loadFromString(text);
    else if (context) kc.loadFromDefault(); // only a context was given: the ambient kubeconfig (dvm:source.context)
    else throw new Error("dvm:source: the progress reader got neither a kubeconfig nor a context for the source cluster (e.g. pulumi config set --path dvm:source.context kind-source)");
    if (context) {
        if (!kc.getContextObject(context)) {
            throw new Error(`dvm:source.context: context "${context}" is not in the source kubeconfig (contexts: ${kc.getContexts().map((c: { name: string }) => c.name).join(", ") || "none"})`);
        }
        kc.setCurrentContext(context);
    }
    const batch = kc.makeApiClient(k8s.BatchV1Api);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const notFound = (e: { statusCode?: number; response?: { statusCode?: number }; body?: { code?: number } }) =>
        e && (e.statusCode === 404 || (e.response && e.response.statusCode === 404) || (e.body && e.body.code === 404));
    const explain = (what: string, e: unknown) => {
        const err = e as { statusCode?: number; body?: { message?: string }; message?: string };
        return new Error(`source cluster: cannot ${what}: ${err.statusCode ? `HTTP ${err.statusCode}: ` : ""}${err.body?.message ?? err.message ?? String(e)}`);
    };
    return {
        async job(namespace, name) {
            try {
                const res = await batch.readNamespacedJob(name, namespace);
                const st = res.body.status ?? {};
                const conds: { type: string; status: string; reason?: string; message?: string }[] = st.conditions ?? [];
                const on = (t: string) => conds.find((c) => c.type === t && c.status === "True");
                const failed = on("Failed");
                return {
                    complete: !!on("Complete"),
                    failed: failed ? { reason: failed.reason ?? "Failed", message: failed.message ?? "" } : undefined,
                    active: st.active ?? 0,
                };
            } catch (e) {
                if (notFound(e as never)) return undefined;
                throw explain(`read Job ${namespace}/${name}`, e);
            }
        },
        async pods(namespace, jobName) {
            const res = await core.listNamespacedPod(namespace, undefined, undefined, undefined, undefined, `job-name=${jobName}`)
                .catch((e: unknown) => { throw explain(`list the pods of Job ${namespace}/${jobName}`, e); });
            return res.body.items.map((p: { metadata: { name: string; creationTimestamp?: Date | string }; status?: { phase?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[]; containerStatuses?: { name: string; restartCount: number; state?: { running?: object; waiting?: { reason?: string; message?: string }; terminated?: { exitCode: number; reason?: string; message?: string } } }[] } }) => {
                const cs = (p.status?.containerStatuses ?? []).find((c) => c.name === "rsync");
                const sched = (p.status?.conditions ?? []).find((c) => c.type === "PodScheduled" && c.status === "False");
                return {
                    name: p.metadata.name,
                    created: p.metadata.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : 0,
                    phase: p.status?.phase ?? "Unknown",
                    condition: sched ? `${sched.reason ?? "Unschedulable"}: ${sched.message ?? ""}` : undefined,
                    rsync: cs
                        ? {
                              restartCount: cs.restartCount,
                              running: !!cs.state?.running,
                              waiting: cs.state?.waiting ? { reason: cs.state.waiting.reason ?? "Waiting", message: cs.state.waiting.message } : undefined,
                              terminated: cs.state?.terminated,
                          }
                        : undefined,
                };
            });
        },
        async log(namespace, pod, container, previous) {
            const res = await core.readNamespacedPodLog(pod, namespace, container, false, undefined, undefined, undefined, previous, undefined, undefined, true)
                .catch((e: unknown) => { throw explain(`read the ${container} log of pod ${namespace}/${pod}`, e); });
            return typeof res.body === "string" ? res.body : String(res.body ?? "");
        },
    };
}

// ------------------------------------------------------------------------------------------------- the wait

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
}

export interface WaitHooks {
    sleep?: (ms: number) => Promise<void>;
    now?: () => number;
    /** Called with the records after every poll (the watch command, debugging). */
    onPoll?: (records: Record<string, ProgressRecord>) => void;
}

/** Reads every pod of the Job (oldest first, previous container runs included) as log segments. */
export async function readSegments(source: TransferSource, namespace: string, pods: PodStatus[]): Promise<{ segments: LogSegment[]; problems: string[] }> {
    const segments: LogSegment[] = [];
    const problems: string[] = [];
    for (const pod of [...pods].sort((a, b) => a.created - b.created)) {
        const c = pod.rsync;
        if (pod.condition) problems.push(`pod ${pod.name}: ${pod.condition}`);
        if (c?.waiting && c.waiting.reason !== "ContainerCreating" && c.waiting.reason !== "PodInitializing")
            problems.push(`pod ${pod.name}: rsync container ${c.waiting.reason}${c.waiting.message ? `: ${c.waiting.message}` : ""}`);
        if (!c || (!c.running && !c.terminated && c.restartCount === 0)) continue;
        if (c.restartCount > 0) {
            try {
                segments.push({ text: await source.log(namespace, pod.name, "rsync", true), terminated: true });
            } catch {
                // the previous run's log is gone (only the last one is kept)
            }
        }
        try {
            const text = await source.log(namespace, pod.name, "rsync", false);
            segments.push({
                text,
                terminated: !!c.terminated,
                exitCode: c.terminated?.exitCode,
                terminationReason: c.terminated?.reason,
            });
        } catch (e) {
            problems.push(`pod ${pod.name}: cannot read the rsync log: ${(e as Error).message ?? e}`);
        }
    }
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

/**
 * Thrown by create/update: the dynamic-provider host turns an error with `id` + `properties` + `reasons` into
 * ErrorResourceInitFailed, so the engine keeps the records in the state; `pulumi up` prints `reasons` as the error
 * text, hence the whole message (with the last rsync lines) is the one reason.
 */
/** Consecutive failed API polls before the wait gives up. */
export const MAX_API_ERRORS = 6;

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
export function failureMessage(out: TransferOutputs, headline: string): string {
    const lines = [`dvm: ${headline} in namespace ${out.namespace} (Job ${out.jobName}, wave ${out.wave}, pass ${out.pass})`];
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
    lines.push("  Fix the cause, then run another pass of the wave: pulumi config set dvm:pass <n+1> && pulumi up");
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
 * and a failure should surface at once (every 2 s for the first 30 s; it was every 5 s, and the bench's end-to-end
 * step saw up to 5 s between the Job's completion and `pulumi up` noticing); then every 5 s to 1.5 min, 15 s to
 * 8.5 min and 30 s after that, so a wave of many namespaces and long transfers stays light on the API server.
 */
export function pollInterval(poll: number): number {
    return poll < 15 ? 2 : poll < 27 ? 5 : poll < 55 ? 15 : 30;
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
    let settled = 0;
    let apiErrors = 0;
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
        const { segments, problems } = await readSegments(source, inputs.namespace, pods);
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
            throw new TransferFailedError(failureMessage(out, "transfer failed"), id, out);
        }
        if (job?.failed || (job && !job.complete && job.active === 0 && Object.values(records).some((r) => r.phase === "Failed") && ++settled >= 3)) {
            const failure = job?.failed ?? { reason: "Failed", message: "the Job has no active pod and did not complete" };
            const reason = failure.reason === "DeadlineExceeded" ? "Timeout" : "Other";
            const out = outputsOf(inputs, failAll(records, names, reason, `the Job failed: ${failure.reason}: ${failure.message}${problems.length ? `; ${problems.join("; ")}` : ""}`));
            throw new TransferFailedError(failureMessage(out, "transfer Job failed"), id, out);
        }
        if (job?.complete) {
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


// ------------------------------------------------------------------------------------------------- the provider

/** Inputs whose change means another transfer to wait for (a new pass, a new Job, other PVCs, out of render mode). */
export const REPLACE_KEYS = ["namespace", "jobName", "pass", "pvcs", "render"] as const;

export function diffTransfer(olds: Partial<TransferOutputs> & { pvcs?: unknown }, news: TransferInputs): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
    const oldPairs = olds.pvcPairs ?? (Array.isArray(olds.pvcs) ? (olds.pvcs as { source: string; target: string }[]) : []);
    const key = (pairs: { source: string; target: string }[]) => JSON.stringify(pairs.map((p) => `${p.source}:${p.target}`).sort());
    const replaces: string[] = [];
    if (olds.namespace !== news.namespace) replaces.push("namespace");
    if (olds.jobName !== news.jobName) replaces.push("jobName");
    if (Number(olds.pass) !== Number(news.pass)) replaces.push("pass");
    if (key(oldPairs) !== key(news.pvcs ?? [])) replaces.push("pvcs");
    if (!!olds.render !== !!news.render) replaces.push("render");
    // a record that never reached Succeeded (an earlier `up` failed or was interrupted): wait/read again
    const unfinished = olds.phase !== undefined && olds.phase !== "Succeeded" && olds.phase !== "Rendered";
    return { changes: replaces.length > 0 || unfinished, replaces, deleteBeforeReplace: true };
}

/** The source used by the provider; tests replace it through `makeProvider(sourceFactory)`.
 * (Names of functions the provider calls must not shadow globals — e.g. mocha's `run` — or the closure serializer
 * takes the global instead of capturing the function.) */
export type SourceFactory = (kubeconfig: string | undefined, context: string | undefined) => TransferSource;

async function runTransfer(inputs: TransferInputs, factory: SourceFactory | undefined): Promise<TransferOutputs> {
    if (inputs.render) return renderedOutputs(inputs);
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const source = (factory ?? kubeSource)(inputs.kubeconfig, inputs.context);
    return waitForTransfer(source, inputs);
}

/**
 * A failed transfer is reported as a resource that failed to initialize (the error's id/properties/reasons): the
 * engine stores `properties` as the resource's state. The dynamic-provider host adds the serialized provider
 * (`__provider`) to normal results but not to these, and a state without it could not be diffed or deleted later.
 */
async function keepProvider<T>(p: Promise<T>, inputs: TransferInputs): Promise<T> {
    try {
        return await p;
    } catch (e) {
        const err = e as { id?: string; properties?: Record<string, unknown> };
        const key = "__provider";
        const serialized = (inputs as unknown as Record<string, unknown>)[key];
        if (err && err.id && err.properties && serialized !== undefined) err.properties[key] = serialized;
        throw e;
    }
}

/**
 * The dynamic provider object. `factory` is for tests (a fake cluster); the real one builds the client from the
 * kubeconfig input each call.
 */
export function makeProvider(factory?: SourceFactory) {
    return {
        async check(_olds: unknown, news: TransferInputs) {
            const failures: { property: string; reason: string }[] = [];
            if (!news.namespace) failures.push({ property: "namespace", reason: "the source namespace is required" });
            if (!news.render && !news.jobName) failures.push({ property: "jobName", reason: "the transfer Job name is required" });
            if (!Array.isArray(news.pvcs)) failures.push({ property: "pvcs", reason: "a list of {source, target} PVC pairs is required" });
            if (!news.render && !(Number(news.timeoutSeconds) > 0)) failures.push({ property: "timeoutSeconds", reason: "must be > 0 (dvm:transferTimeoutMinutes)" });
            return { inputs: news, failures };
        },
        async diff(_id: string, olds: TransferOutputs, news: TransferInputs) {
            return diffTransfer(olds, news);
        },
        async create(inputs: TransferInputs) {
            const outs = await keepProvider(runTransfer(inputs, factory), inputs);
            return { id: `${inputs.namespace}/${inputs.jobName || "rendered"}`, outs };
        },
        async update(_id: string, _olds: TransferOutputs, news: TransferInputs) {
            return { outs: await keepProvider(runTransfer(news, factory), news) };
        },
        async delete() {
            // nothing to delete: the Job belongs to the Kubernetes provider; the record goes with the state
        },
    };
}
