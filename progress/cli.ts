// `dvm watch`: live per-PVC progress from the source cluster while `pulumi up` runs (one bar per PVC on a TTY via
// cli-progress, plain periodic lines otherwise). `dvm status`: the recorded table from the stack output `migration`.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { ProgressRecord } from "./parser";
import { formatBytes, formatDuration, namespacePhase, parseTransferLogs } from "./parser";
import { kubeSource, readSegments, TransferSource } from "./provider";
import { resolveKubeconfig } from "../config/load";

const ROLE_LABEL = "dvm.io/role";
const ROLE_SOURCE = "source-transfer";
const WAVE_LABEL = "dvm.io/wave";
const PASS_LABEL = "dvm.io/pass";

// ------------------------------------------------------------------------------------------------- formatting

/** Seconds left at the last observed rate, when rsync's numbers allow an estimate. */
export function etaSeconds(r: ProgressRecord): number | undefined {
    if (r.phase !== "Running" || !r.lastObservedTransferRate || r.totalBytes === undefined) return undefined;
    const left = r.totalBytes - r.transferredBytes;
    return left > 0 ? left / r.lastObservedTransferRate : 0;
}

export interface WatchRow {
    namespace: string;
    pvc: string;
    pass?: number;
    record: ProgressRecord;
}

/** One plain line per PVC (non-TTY mode and the final summary). */
export function plainLine(row: WatchRow): string {
    const r = row.record;
    const parts = [
        `${row.namespace}/${row.pvc}`.padEnd(32),
        r.phase.padEnd(9),
        `${String(r.totalProgressPercentage).padStart(3)}%`,
        `${formatBytes(r.transferredBytes)}/${formatBytes(r.totalBytes)}`.padEnd(21),
        `${r.phase === "Running" ? formatBytes(r.lastObservedTransferRate) : formatBytes(r.throughput)}/s`.padEnd(12),
        `ETA ${formatDuration(etaSeconds(r))}`.padEnd(10),
        `attempt ${r.attempts}`,
    ];
    if (r.reason) parts.push(`${r.reason}${r.message ? `: ${r.message}` : ""}`);
    else if (r.phase === "Pending" && r.message) parts.push(r.message);
    return parts.join("  ");
}

interface StatusRecord extends Partial<ProgressRecord> { phase: ProgressRecord["phase"] }

/** The `dvm status` table from the stack output `migration`. */
export function statusTable(migration: { wave?: string; pass?: number; namespaces?: Record<string, { phase?: string; target?: string; pvcs?: Record<string, StatusRecord> }> }): string {
    const header = ["NAMESPACE", "PVC", "PHASE", "ATTEMPTS", "PROGRESS", "TRANSFERRED", "THROUGHPUT", "ELAPSED", "EXIT", "REASON"];
    const rows: string[][] = [];
    for (const [ns, n] of Object.entries(migration.namespaces ?? {})) {
        for (const [pvc, r] of Object.entries(n.pvcs ?? {})) {
            rows.push([
                ns, pvc, r.phase, String(r.attempts ?? 0), `${r.totalProgressPercentage ?? 0}%`, formatBytes(r.transferredBytes),
                r.throughput !== undefined ? `${formatBytes(r.throughput)}/s` : "-", formatDuration(r.elapsedSeconds),
                r.exitCode !== undefined ? String(r.exitCode) : "-", r.reason ?? "",
            ]);
        }
    }
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
    const lines = [`wave: ${migration.wave ?? "?"}${migration.pass !== undefined ? ` (pass ${migration.pass})` : ""}`, fmt(header), ...rows.map(fmt)];
    const failed = Object.entries(migration.namespaces ?? {}).flatMap(([ns, n]) =>
        Object.entries(n.pvcs ?? {}).filter(([, r]) => r.phase === "Failed" && r.message).map(([pvc, r]) => `  ${ns}/${pvc}: ${r.message}`));
    if (failed.length) lines.push("", "failures:", ...failed);
    return lines.join("\n");
}

// ------------------------------------------------------------------------------------------------- discovery

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
    const i = a.indexOf("--");
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
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const k8s = require("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    if (kubeconfig && !kubeconfig.includes("\n") && fs.existsSync(kubeconfig)) kc.loadFromFile(kubeconfig);
    else if (kubeconfig) kc.loadFromString(kubeconfig);
    else kc.loadFromDefault();
    if (context) kc.setCurrentContext(context);
    const batch = kc.makeApiClient(k8s.BatchV1Api);
    type Job = { metadata: { name: string; namespace: string; labels?: Record<string, string> }; spec?: { template?: { spec?: { containers?: { name: string; args?: string[] }[] } } } };
    const toJob = (j: Job): TransferJob => ({
        namespace: j.metadata.namespace,
        name: j.metadata.name,
        wave: j.metadata.labels?.[WAVE_LABEL],
        pass: Number(j.metadata.labels?.[PASS_LABEL] ?? 0),
        pvcs: pvcsFromArgs(j.spec?.template?.spec?.containers?.find((c) => c.name === "rsync")?.args),
    });
    return {
        async transferJobs(namespaces, wave) {
            const selector = [`${ROLE_LABEL}=${ROLE_SOURCE}`, ...(wave ? [`${WAVE_LABEL}=${wave}`] : [])].join(",");
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

/** Reads every Job's pods and logs into rows. */
export async function collectRows(lister: JobLister, source: TransferSource, opts: { namespaces?: string[]; wave?: string; now?: number; pass?: number }): Promise<{ rows: WatchRow[]; jobs: TransferJob[]; finished: boolean; failed: boolean }> {
    // Jobs of an earlier pass (still there while `pulumi up` replaces them) are not this pass's progress.
    const jobs = newestPass(await lister.transferJobs(opts.namespaces, opts.wave)).filter((j) => opts.pass === undefined || j.pass >= opts.pass);
    const rows: WatchRow[] = [];
    let finished = jobs.length > 0;
    let failed = false;
    for (const job of jobs) {
        const status = await source.job(job.namespace, job.name);
        const pods = await source.pods(job.namespace, job.name);
        const { segments, problems } = await readSegments(source, job.namespace, pods);
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

// ------------------------------------------------------------------------------------------------- commands

interface Flags {
    stack?: string;
    kubeconfig?: string;
    context?: string;
    namespaces: string[];
    wave?: string;
    /** Follow this pass (default: the stack's dvm:pass when --stack is given). */
    pass?: number;
    interval?: number;
    once: boolean;
    plain: boolean;
    json: boolean;
}

const USAGE = `usage:
  dvm watch  [--stack <stack>] [--kubeconfig <file>] [--context <ctx>] [--namespace <ns>]... [--wave <name>]
             [--pass <n>] [--interval <seconds>] [--once] [--plain]
      live progress of the source transfer Jobs (label ${ROLE_LABEL}=${ROLE_SOURCE}); the source cluster comes from
      the flags, else from the stack config dvm:source (pulumi config get), else from KUBECONFIG/~/.kube/config
  dvm status [--stack <stack>] [--json]
      the progress table recorded in the stack output 'migration' (pulumi stack output --json migration)`;

export function parseFlags(argv: string[]): Flags {
    const f: Flags = { namespaces: [], once: false, plain: false, json: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const [key, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
        const value = () => {
            const v = inline ?? argv[++i];
            if (v === undefined || v === "") throw new Error(`${key} needs a value\n${USAGE}`);
            return v;
        };
        switch (key) {
            case "--stack": case "-s": f.stack = value(); break;
            case "--kubeconfig": f.kubeconfig = value(); break;
            case "--context": f.context = value(); break;
            case "--namespace": case "-n": f.namespaces.push(value()); break;
            case "--wave": f.wave = value(); break;
            case "--pass": {
                const v = Number(value());
                if (!Number.isInteger(v) || v < 1) throw new Error(`--pass must be a whole number >= 1 (the stack's dvm:pass), e.g. --pass 2`);
                f.pass = v;
                break;
            }
            case "--interval": {
                const v = Number(value());
                if (!(v > 0)) throw new Error(`--interval must be a number of seconds > 0, e.g. --interval 5`);
                f.interval = v;
                break;
            }
            case "--once": f.once = true; break;
            case "--plain": f.plain = true; break;
            case "--json": f.json = true; break;
            default: throw new Error(`unknown argument '${a}'\n${USAGE}`);
        }
    }
    return f;
}

function pulumi(args: string[], stack: string | undefined): string {
    const full = [...args, ...(stack ? ["--stack", stack] : [])];
    try {
        return execFileSync("pulumi", full, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
    } catch (e) {
        const err = e as { code?: string; stderr?: string; message: string };
        if (err.code === "ENOENT") throw new Error("the pulumi CLI is not on PATH (make toolchain builds one; or install Pulumi)");
        throw new Error(`pulumi ${full.join(" ")} failed: ${(err.stderr || err.message).trim()}`);
    }
}

/** The source cluster from flags, else the stack's dvm:source, else the ambient kubeconfig. */
export function resolveSource(f: Flags, readConfig: (stack: string | undefined) => { kubeconfig?: string; context?: string } | undefined): { kubeconfig?: string; context?: string; from: string } {
    if (f.kubeconfig || f.context) return { kubeconfig: f.kubeconfig && path.resolve(f.kubeconfig), context: f.context, from: "flags" };
    const cfg = readConfig(f.stack);
    if (cfg && (cfg.kubeconfig || cfg.context)) {
        const from = `stack config dvm:source${f.stack ? ` (${f.stack})` : ""}`;
        // the same resolution as the program: inline content, a path (relative to the project, ~ expanded), or the
        // ambient kubeconfig when only a context is named
        let kubeconfig: string;
        try {
            kubeconfig = resolveKubeconfig(cfg, process.cwd());
        } catch (e) {
            throw new Error(`cannot read the source kubeconfig from ${from}: ${(e as Error).message}`);
        }
        return { kubeconfig, context: cfg.context, from };
    }
    const home = process.env.HOME ?? "";
    if (!process.env.KUBECONFIG && !fs.existsSync(path.join(home, ".kube", "config"))) {
        throw new Error(`no source cluster: pass --kubeconfig <file> or --context <ctx>, or --stack <stack> with dvm:source set (e.g. pulumi config set --path dvm:source.kubeconfig ~/.kube/source.yaml)`);
    }
    return { from: "KUBECONFIG / ~/.kube/config" };
}

function readStackSource(stack: string | undefined): { kubeconfig?: string; context?: string } | undefined {
    try {
        const out = JSON.parse(pulumi(["config", "get", "dvm:source", "--json"], stack));
        const v = out.objectValue ?? (typeof out.value === "string" ? JSON.parse(out.value) : out.value);
        return v && typeof v === "object" ? v : undefined;
    } catch (e) {
        // a stack named on the command line must be readable; without one, fall back to the ambient kubeconfig
        if (stack) throw new Error(`cannot read dvm:source of stack ${stack}: ${(e as Error).message}`);
        return undefined;
    }
}

/** The stack's dvm:pass (1 when unset), so `watch` follows the pass `pulumi up` is running. */
function readStackPass(stack: string): number {
    try {
        const v = Number(pulumi(["config", "get", "dvm:pass"], stack).trim());
        return Number.isInteger(v) && v >= 1 ? v : 1;
    } catch {
        return 1;
    }
}

async function watch(f: Flags, out: NodeJS.WriteStream): Promise<number> {
    const src = resolveSource(f, readStackSource);
    if (src.from === "flags" && src.kubeconfig && !fs.existsSync(src.kubeconfig)) {
        throw new Error(`kubeconfig ${src.kubeconfig} (from ${src.from}) does not exist; pass --kubeconfig <file> or --context <ctx>`);
    }
    const lister = kubeJobLister(src.kubeconfig, src.context);
    const source = kubeSource(src.kubeconfig, src.context || (src.kubeconfig ? undefined : currentContext()));
    const tty = !!out.isTTY && !f.plain && !f.once;
    const interval = (f.interval ?? (tty ? 2 : 10)) * 1000;
    const pass = f.pass ?? (f.stack ? readStackPass(f.stack) : undefined);
    const opts = { namespaces: f.namespaces.length ? f.namespaces : undefined, wave: f.wave, pass };
    out.write(`dvm watch: source cluster from ${src.from}${src.context ? `, context ${src.context}` : ""}; Jobs labelled ${ROLE_LABEL}=${ROLE_SOURCE}${f.wave ? `,${WAVE_LABEL}=${f.wave}` : ""}\n`);

    // eslint-disable-next-line @typescript-eslint/no-var-requires
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
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const k8s = require("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    kc.loadFromDefault();
    return kc.getCurrentContext() || undefined;
}

function status(f: Flags, out: NodeJS.WriteStream): number {
    // --show-secrets: the records hold no secrets (lines are scrubbed), but the engine may mark the output secret
    // because the progress resource had a secret input (the source kubeconfig)
    const text = pulumi(["stack", "output", "--json", "--show-secrets", "migration"], f.stack);
    const migration = JSON.parse(text);
    if (f.json) out.write(`${JSON.stringify(migration, null, 2)}\n`);
    else out.write(`${statusTable(migration)}\n`);
    const phases = Object.values(migration.namespaces ?? {}).flatMap((n) => Object.values((n as { pvcs?: Record<string, StatusRecord> }).pvcs ?? {}).map((r) => r.phase));
    return phases.includes("Failed") ? 1 : 0;
}

export async function main(argv: string[], out: NodeJS.WriteStream = process.stdout): Promise<number> {
    const [cmd, ...rest] = argv;
    switch (cmd) {
        case "watch":
            return watch(parseFlags(rest), out);
        case "status":
            return status(parseFlags(rest), out);
        case undefined:
        case "help":
        case "--help":
        case "-h":
            out.write(`${USAGE}\n`);
            return cmd === undefined ? 2 : 0;
        default:
            throw new Error(`unknown command '${cmd}'\n${USAGE}`);
    }
}
