// `dvm watch`: live per-PVC progress from the source cluster while `pulumi up` runs (one bar per PVC on a TTY via
// cli-progress, plain periodic lines otherwise).
import * as fs from "fs";
import { CONTAINERS, LABELS, PVC_PAIRS_SEPARATOR, ROLE_SOURCE } from "../contract";
import { kubeConfig } from "../kube";
import { namespacePhase, parseTransferLogs } from "../progress/parser";
import { kubeSource, TransferSource } from "../progress/source";
import { readSegments, SegmentMemory } from "../progress/wait";
import { Flags } from "./flags";
import { etaSeconds, formatBytes, formatDuration, plainLine, WatchRow } from "./format";
import { readStackPass, readStackSource, resolveSource } from "./stack";

export interface TransferJob {
    namespace: string;
    name: string;
    wave?: string;
    pass: number;
    /** Source PVC names in transfer order, from the rsync container's args (`-- pvc:module[:verify] ...`). */
    pvcs: string[];
}

/** Lists the wave's source transfer Jobs; keeps the newest pass per namespace. */
export interface JobLister {
    transferJobs(namespaces: string[] | undefined, wave: string | undefined): Promise<TransferJob[]>;
}

export function pvcsFromArgs(args: string[] | undefined): string[] {
    const a = args ?? [];
    const i = a.indexOf(PVC_PAIRS_SEPARATOR);
    return i === -1 ? [] : a.slice(i + 1).map((p) => p.split(":")[0]).filter((p) => p);
}

export function newestPass(jobs: TransferJob[]): TransferJob[] {
    const best = new Map<string, TransferJob>();
    for (const j of jobs) {
        const cur = best.get(j.namespace);
        if (!cur || j.pass > cur.pass) best.set(j.namespace, j);
    }
    return [...best.values()].sort((a, b) => a.namespace.localeCompare(b.namespace));
}

export function kubeJobLister(kubeconfig: string | undefined, context: string | undefined): JobLister {
    const k8s = require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
    const kc = kubeConfig({ kubeconfig, context }, { ambient: true, what: "the source cluster" });
    const batch = kc.makeApiClient(k8s.BatchV1Api);
    type Job = import("@kubernetes/client-node").V1Job;
    const toJob = (j: Job): TransferJob => ({
        namespace: j.metadata?.namespace ?? "",
        name: j.metadata?.name ?? "",
        wave: j.metadata?.labels?.[LABELS.wave],
        pass: Number(j.metadata?.labels?.[LABELS.pass] ?? 0),
        pvcs: pvcsFromArgs(j.spec?.template?.spec?.containers?.find((c) => c.name === CONTAINERS.rsync)?.args),
    });
    return {
        async transferJobs(namespaces, wave) {
            const selector = [`${LABELS.role}=${ROLE_SOURCE}`, ...(wave ? [`${LABELS.wave}=${wave}`] : [])].join(",");
            const items: Job[] = [];
            if (namespaces && namespaces.length) {
                for (const ns of namespaces) items.push(...(await batch.listNamespacedJob(ns, undefined, undefined, undefined, undefined, selector)).body.items);
            } else {
                items.push(...(await batch.listJobForAllNamespaces(undefined, undefined, undefined, selector)).body.items);
            }
            return items.map(toJob);
        },
    };
}

/** Reads every Job's pods and logs into rows. `memory` (one per watch, kept across calls) remembers the pods a Job
 * no longer has: a deleted pod's attempts and bytes still count. */
export async function collectRows(lister: JobLister, source: TransferSource, opts: { namespaces?: string[]; wave?: string; now?: number; pass?: number; memory?: Map<string, SegmentMemory> }): Promise<{ rows: WatchRow[]; jobs: TransferJob[]; finished: boolean; failed: boolean }> {
    // Jobs of an earlier pass (still there while `pulumi up` replaces them) are not this pass's progress.
    const jobs = newestPass(await lister.transferJobs(opts.namespaces, opts.wave)).filter((j) => opts.pass === undefined || j.pass >= opts.pass);
    const rows: WatchRow[] = [];
    let finished = jobs.length > 0;
    let failed = false;
    for (const job of jobs) {
        const status = await source.job(job.namespace, job.name);
        const pods = await source.pods(job.namespace, job.name);
        const key = `${job.namespace}/${job.name}`;
        if (opts.memory && !opts.memory.has(key)) opts.memory.set(key, new Map());
        const { segments, problems } = await readSegments(source, job.namespace, pods, opts.memory?.get(key));
        const parsed = parseTransferLogs(segments, { pvcs: job.pvcs, now: opts.now });
        for (const [pvc, record] of Object.entries(parsed.pvcs)) {
            if (record.phase === "Pending" && problems.length && !record.message) record.message = problems.join("; ");
            rows.push({ namespace: job.namespace, pvc, pass: job.pass, record });
        }
        const done = !!status && (status.complete || !!status.failed);
        if (!done) finished = false;
        if (status?.failed || (done && namespacePhase(parsed.pvcs) === "Failed")) failed = true;
    }
    return { rows, jobs, finished, failed };
}

export async function watch(f: Flags, out: NodeJS.WriteStream): Promise<number> {
    const src = resolveSource(f, readStackSource);
    if (src.from === "flags" && src.kubeconfig && !fs.existsSync(src.kubeconfig)) {
        throw new Error(`kubeconfig ${src.kubeconfig} (from ${src.from}) does not exist; pass --kubeconfig <file> or --context <ctx>`);
    }
    const lister = kubeJobLister(src.kubeconfig, src.context);
    const source = kubeSource(src.kubeconfig, src.context || (src.kubeconfig ? undefined : currentContext()));
    const tty = !!out.isTTY && !f.plain && !f.once;
    const interval = (f.interval ?? (tty ? 2 : 10)) * 1000;
    const pass = f.pass ?? (f.stack ? readStackPass(f.stack) : undefined);
    const opts = { namespaces: f.namespaces.length ? f.namespaces : undefined, wave: f.wave, pass, memory: new Map<string, SegmentMemory>() };
    out.write(`dvm watch: source cluster from ${src.from}${src.context ? `, context ${src.context}` : ""}; Jobs labelled ${LABELS.role}=${ROLE_SOURCE}${f.wave ? `,${LABELS.wave}=${f.wave}` : ""}\n`);

    const cliProgress = tty ? require("cli-progress") : undefined;
    const multibar = tty
        ? new cliProgress.MultiBar({
              format: "{name} {bar} {percentage}% {bytes} {rate} ETA {etaText} try {attempts} {phase}{reason}",
              hideCursor: true, clearOnComplete: false, stopOnComplete: false, barsize: 20, autopadding: true, stream: out,
          }, cliProgress.Presets.shades_classic)
        : undefined;
    const bars = new Map<string, { update: (v: number, p: object) => void }>();
    let waitingSaid = false;
    try {
        for (;;) {
            let collected: Awaited<ReturnType<typeof collectRows>>;
            try {
                collected = await collectRows(lister, source, opts);
            } catch (e) {
                const err = e as { message?: string; statusCode?: number; body?: { message?: string } };
                throw new Error(`cannot read the source cluster (${src.from}): ${err.body?.message ?? err.message ?? String(e)}`);
            }
            const { rows, jobs, finished, failed } = collected;
            if (jobs.length === 0) {
                if (!waitingSaid || !tty) out.write(`waiting for source transfer Jobs${f.namespaces.length ? ` in ${f.namespaces.join(", ")}` : ""}...\n`);
                waitingSaid = true;
                if (f.once) return 2;
            }
            const width = Math.max(10, ...rows.map((r) => `${r.namespace}/${r.pvc}`.length));
            for (const row of rows) {
                const r = row.record;
                if (multibar) {
                    const key = `${row.namespace}/${row.pvc}`;
                    const payload = {
                        name: key.padEnd(width), bytes: `${formatBytes(r.transferredBytes)}/${formatBytes(r.totalBytes)}`.padEnd(19),
                        rate: `${formatBytes(r.phase === "Running" ? r.lastObservedTransferRate : r.throughput)}/s`.padEnd(11),
                        etaText: formatDuration(etaSeconds(r)).padEnd(5), attempts: r.attempts, phase: r.phase,
                        reason: r.reason ? ` ${r.reason}` : "",
                    };
                    const bar = bars.get(key) ?? multibar.create(100, 0, payload);
                    bars.set(key, bar);
                    bar.update(r.totalProgressPercentage, payload);
                } else {
                    out.write(`${new Date().toISOString()}  ${plainLine(row)}\n`);
                }
            }
            if (finished || f.once) {
                multibar?.stop();
                if (finished) {
                    out.write(`\ntransfer ${failed ? "FAILED" : "finished"}:\n`);
                    for (const row of rows) out.write(`  ${plainLine(row)}\n`);
                    for (const row of rows.filter((x) => x.record.phase === "Failed" && x.record.lastLines?.length)) {
                        out.write(`\n  ${row.namespace}/${row.pvc} last rsync lines:\n${row.record.lastLines!.map((l) => `    ${l}`).join("\n")}\n`);
                    }
                }
                return failed ? 1 : 0;
            }
            await new Promise((r) => setTimeout(r, interval));
        }
    } finally {
        multibar?.stop();
    }
}

/** The ambient kubeconfig's current context (only when neither flags nor the stack name a source cluster). */
function currentContext(): string | undefined {
    const k8s = require("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    kc.loadFromDefault();
    return kc.getCurrentContext() || undefined;
}
