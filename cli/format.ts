// How progress records look to a person: sizes, durations, the `dvm watch` line and the `dvm status` table.
import type { ImageRecord } from "../components/images/types";
import type { ProgressRecord } from "../progress/parser";

/** Human-readable bytes (powers of 1024, like kubectl). */
export function formatBytes(n: number | undefined): string {
    if (n === undefined || !isFinite(n)) return "-";
    const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let v = n;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function formatDuration(seconds: number | undefined): string {
    if (seconds === undefined || !isFinite(seconds)) return "-";
    const s = Math.round(seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(sec).padStart(2, "0")}s` : `${sec}s`;
}

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

export interface StatusRecord extends Partial<ProgressRecord> { phase: ProgressRecord["phase"] }

/** A source workload a cutover quiesced, as the outputs and the live read give it (components/quiesce/rules.ts). */
export interface StatusWorkload { kind: string; name: string; field: string; saved: unknown; current: unknown; state: string }

export interface StatusNamespace {
    phase?: string;
    target?: string;
    pvcs?: Record<string, StatusRecord>;
    mode?: string;
    quiesced?: boolean;
    workloads?: StatusWorkload[];
    sourceNode?: { name: string; why: string };
    images?: Partial<ImageRecord>[];
}

const value = (v: unknown) => (v === undefined ? "-" : typeof v === "object" ? JSON.stringify(v) : String(v));

/** Header and rows as aligned lines. */
function table(header: string[], rows: string[][]): string[] {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
    return [fmt(header), ...rows.map(fmt)];
}

/** The source workloads of each namespace: whether the source is quiesced, what was saved, what holds now. */
export function workloadLines(namespaces: Record<string, StatusNamespace>): string[] {
    const entries = Object.entries(namespaces).filter(([, n]) => n.mode !== undefined && (n.mode !== "stage" || n.quiesced || (n.workloads ?? []).length > 0));
    if (entries.length === 0) return [];
    const rows: string[][] = [];
    for (const [ns, n] of entries) {
        const q = n.quiesced ? "yes" : "no";
        if (!(n.workloads ?? []).length) rows.push([ns, n.mode ?? "?", q, "-", "-", "-", "-", "-", n.mode === "cutover" ? "nothing mounts a PVC of the wave" : "-"]);
        for (const w of n.workloads ?? []) rows.push([ns, n.mode ?? "?", q, w.kind, w.name, w.field, value(w.saved), value(w.current), w.state]);
    }
    return ["", "source workloads (as this stack's last pulumi up left them):",
        ...table(["NAMESPACE", "MODE", "QUIESCED", "KIND", "NAME", "FIELD", "SAVED", "NOW", "STATE"], rows)];
}

/** What a cutover left quiesced on the source cluster now, wave by wave (`dvm status --live`). */
export function liveLines(from: string, rows: { wave: string; namespace: string; workload: StatusWorkload }[]): string[] {
    if (rows.length === 0) return ["", `source cluster now (${from}): no workload carries dvm's saved values - nothing is quiesced by dvm`];
    const sorted = [...rows].sort((a, b) => a.wave.localeCompare(b.wave) || a.namespace.localeCompare(b.namespace) || a.workload.name.localeCompare(b.workload.name));
    const quiesced = sorted.filter((r) => r.workload.state === "quiesced").length;
    return ["", `source cluster now (${from}): ${quiesced} of ${rows.length} workload(s) dvm saved values for hold their quiesced value`,
        ...table(["WAVE", "NAMESPACE", "KIND", "NAME", "FIELD", "SAVED", "NOW", "STATE"],
            sorted.map((r) => [r.wave, r.namespace, r.workload.kind, r.workload.name, r.workload.field, value(r.workload.saved), value(r.workload.current), r.workload.state]))];
}

/** The `dvm status` table from the stack output `migration`. */
export function statusTable(migration: { wave?: string; pass?: number; mode?: string; namespaces?: Record<string, StatusNamespace> }): string {
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
    const detail = [migration.pass !== undefined ? `pass ${migration.pass}` : "", migration.mode ?? ""].filter((x) => x).join(", ");
    const lines = [`wave: ${migration.wave ?? "?"}${detail ? ` (${detail})` : ""}`, ...table(header, rows)];
    const images = Object.entries(migration.namespaces ?? {}).flatMap(([ns, n]) => (n.images ?? []).map((r) => [
        ns, r.destination ?? "?", r.result ?? "?", r.digest ? r.digest.slice(0, 19) : "-", formatBytes(r.bytes), formatDuration(r.seconds),
        r.attempts !== undefined ? String(r.attempts) : "-", r.source ?? "?",
    ]));
    if (images.length) lines.push("", ...table(["NAMESPACE", "IMAGE", "RESULT", "DIGEST", "SIZE", "COPY TIME", "ATTEMPTS", "SOURCE"], images));
    const failed = Object.entries(migration.namespaces ?? {}).flatMap(([ns, n]) =>
        Object.entries(n.pvcs ?? {}).filter(([, r]) => r.phase === "Failed" && r.message).map(([pvc, r]) => `  ${ns}/${pvc}: ${r.message}`));
    if (failed.length) lines.push("", "failures:", ...failed);
    // copied, but not quite as they were: symlinks a non-root destination daemon rewrote (dvm:rsync.unsafeSymlinks)
    const warned = Object.entries(migration.namespaces ?? {}).flatMap(([ns, n]) =>
        Object.entries(n.pvcs ?? {}).filter(([, r]) => r.phase !== "Failed" && (r.unsafeSymlinks ?? 0) > 0)
            .map(([pvc, r]) => `  ${ns}/${pvc}: ${r.reason === "UnsafeSymlinks" && r.message ? r.message : `${r.unsafeSymlinks} symlinks rewritten by the destination's rsync daemon (no chroot)`}`));
    if (warned.length) lines.push("", "warnings:", ...warned);
    lines.push(...workloadLines(migration.namespaces ?? {}));
    return lines.join("\n");
}
