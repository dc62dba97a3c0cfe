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

/** The `dvm status` table from the stack output `migration`. */
export function statusTable(migration: { wave?: string; pass?: number; namespaces?: Record<string, { phase?: string; target?: string; pvcs?: Record<string, StatusRecord>; images?: Partial<ImageRecord>[] }> }): string {
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
    const lines = [`wave: ${migration.wave ?? "?"}${migration.pass !== undefined ? ` (pass ${migration.pass})` : ""}`, ...table(header, rows)];
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
    return lines.join("\n");
}

/** Header and rows as aligned lines. */
function table(header: string[], rows: string[][]): string[] {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
    return [fmt(header), ...rows.map(fmt)];
}
