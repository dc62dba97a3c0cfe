// The record: what a PVC's attempts add up to, as the DVMP-like progress record `pulumi up`, the stack output and
// `dvm status` show; and the namespace phase from its PVCs.
// Pure and serialized by value with the progress provider.
import { RSYNC_EXIT } from "../../contract";
import { classify } from "./rsync";
import type { PvcState } from "./state";
import { scrubSecrets } from "./tokens";
import type { ProgressPhase, ProgressRecord } from "./types";

export function toRecord(s: PvcState, now: number, keep: number): ProgressRecord {
    const rec: ProgressRecord = {
        phase: s.phase,
        attempts: s.attempts.length,
        totalProgressPercentage: 0,
        transferredBytes: 0,
    };
    const a = s.attempts[s.attempts.length - 1];
    const failedAttempt = a && a.result !== undefined && a.result !== "ok" ? a : undefined;
    if (s.override) {
        rec.reason = s.override.reason;
        if (s.override.message) rec.message = s.override.message;
        if (s.override.exitCode !== undefined) rec.exitCode = s.override.exitCode;
    } else if (failedAttempt) {
        // Failed, or Running and waiting for the next retry: say why the last attempt failed
        const c = classify(failedAttempt.exit, failedAttempt.errors);
        rec.reason = c.reason;
        const msg = c.reason === "UnsafeSymlinks" ? unsafeLinksMessage(s, "would be rewritten")
            : [failedAttempt.scriptReason, c.message].filter((x) => x).join(": ");
        if (msg) rec.message = msg;
        if (s.phase === "Running" && failedAttempt.retryIn !== undefined)
            rec.message = `attempt ${failedAttempt.n} failed, retrying in ${failedAttempt.retryIn}s${msg ? `: ${msg}` : ""}`;
    } else if (a && s.phase === "Succeeded") {
        if (s.unsafeLinks) {
            // the copy is complete, but some links now point elsewhere: say so first
            rec.reason = "UnsafeSymlinks";
            rec.message = [unsafeLinksMessage(s, "were rewritten"), a.warning].filter((x) => x).join("; ");
        } else if (a.exit === RSYNC_EXIT.vanished || a.warning) {
            // the copy finished, but files vanished from the live source meanwhile: say so
            rec.reason = "VanishedFiles";
            const example = a.errors.find((l) => /vanished/i.test(l) && /^file has vanished/.test(l));
            rec.message = [a.warning ?? "some source files vanished during the copy", example].filter((x) => x).join("; e.g. ");
        } else if (s.attempts.length > 1) {
            const failed = s.attempts.slice(0, -1).map((x) => (x.cutOff
                ? `attempt ${x.n}: ContainerTerminated (container exit ${x.cutOff.exit ?? "unknown"}${x.cutOff.pod ? `, pod ${x.cutOff.pod}` : ""})`
                : `attempt ${x.n}: ${classify(x.exit, x.errors).reason} (exit ${x.exit ?? "?"})`));
            rec.message = `succeeded on attempt ${a.n} after ${failed.join("; ")}`;
        }
    }
    if (!rec.message && s.note) rec.message = s.note;
    if (rec.message) rec.message = scrubSecrets(rec.message);
    if (s.unsafeLinks !== undefined) rec.unsafeSymlinks = s.unsafeLinks;
    if (!a) return rec;

    // Over every attempt (and pod), never backwards: what the earlier attempts finished, plus the current one's own
    // count (rsync starts each attempt from 0 and leaves out what is already there); the highest such sum seen.
    let before = 0;
    let beforePercent = 0;
    let beforeFiles = 0;
    let bytes = 0;
    let percent = 0;
    for (const at of s.attempts) {
        bytes = Math.max(bytes, before + at.peakBytes);
        percent = Math.max(percent, beforePercent + at.peakPercent);
        if (at === a) break;
        before += at.completedBytes;
        beforePercent += at.completedPercent;
        beforeFiles += at.completedFiles;
    }
    if (s.phase === "Succeeded") bytes = Math.max(bytes, before + a.bytes);
    rec.transferredBytes = bytes;
    rec.totalProgressPercentage = s.phase === "Succeeded" ? 100 : Math.min(percent, 99);
    if (a.totalBytes !== undefined) rec.totalBytes = a.totalBytes;
    if (a.files !== undefined || beforeFiles > 0) rec.filesTransferred = beforeFiles + (a.files ?? 0);
    if (a.totalFiles !== undefined) rec.totalFiles = a.totalFiles;
    if (a.rate !== undefined) rec.lastObservedTransferRate = a.rate;
    if (rec.exitCode === undefined && a.exit !== undefined) rec.exitCode = a.exit;

    // elapsed: from the first attempt's start to the last end (or now) when the log has timestamps, else the sum
    // of rsync's own elapsed times (plus retry delays)
    const first = s.attempts[0];
    let elapsed: number | undefined;
    if (first.startTs !== undefined) {
        const end = s.phase === "Running" && !a.cutOff ? now : (a.endTs ?? a.startTs ?? now);
        elapsed = Math.max(0, (end - first.startTs) / 1000);
    } else {
        let sum = 0;
        let known = false;
        for (const at of s.attempts) {
            // rsync's stats give sub-second precision ((sent+received) / rate); its progress time only whole seconds
            if (at.statsRate && at.statsSent) {
                sum += at.statsSent / at.statsRate;
                known = true;
            } else if (at.rsyncElapsed !== undefined) {
                sum += at.rsyncElapsed;
                known = true;
            }
            if (at.retryIn !== undefined && at !== a) sum += at.retryIn;
        }
        if (known) elapsed = sum;
    }
    if (elapsed !== undefined) {
        rec.elapsedSeconds = Math.round(elapsed * 10) / 10;
        if (elapsed > 0) rec.throughput = Math.round(bytes / elapsed);
        else if (a.statsRate) rec.throughput = a.statsRate;
    } else if (a.statsRate) rec.throughput = a.statsRate;

    const lines = [...a.lines];
    if (a.lastProgress) {
        // the newest progress line, placed before the summary/errors that follow it
        const idx = lines.findIndex((l) => /^(sent |total size|rsync|@ERROR|dvm: pvc-end)/.test(l));
        lines.splice(idx === -1 ? lines.length : idx, 0, a.lastProgress);
    }
    rec.lastLines = lines.slice(-keep).map(scrubSecrets);
    return rec;
}

function unsafeLinksMessage(s: PvcState, verb: string): string {
    return `${s.unsafeLinks} symlinks ${verb} by the destination's rsync daemon, which runs without chroot (not as root): ` +
        `absolute targets lose their leading "/", ".." above the volume is cut${s.unsafeLinkExample ? ` (e.g. ${s.unsafeLinkExample})` : ""}; ` +
        "set dvm:security.runAsRoot to keep them as they are, or dvm:rsync.unsafeSymlinks fail to refuse such a PVC";
}

/** The namespace phase from its PVCs: Failed if any failed, Succeeded when all did, else Running/Pending. */
export function namespacePhase(records: Record<string, ProgressRecord>): ProgressPhase {
    const phases = Object.values(records).map((r) => r.phase);
    if (phases.length === 0) return "Pending";
    if (phases.includes("Failed")) return "Failed";
    if (phases.every((p) => p === "Rendered")) return "Rendered";
    if (phases.every((p) => p === "Succeeded")) return "Succeeded";
    if (phases.every((p) => p === "Pending")) return "Pending";
    return "Running";
}
