// Pure parser: the source transfer container's log (components/transfer/PROTOCOL.md `dvm: ...` events interleaved
// with rsync's --info=...PROGRESS2,STATS2 output, `\r`-separated progress lines and rsync errors) -> one DVMP-like
// progress record per PVC. No I/O, no Pulumi, no Kubernetes: the provider and the watch command feed it text.
//
// Everything here must stay self-contained (no imports besides types): the dynamic provider is serialized by value
// by Pulumi's closure serializer, and these functions travel with it.

export type ProgressPhase = "Pending" | "Running" | "Succeeded" | "Failed" | "Rendered";

/** MTC-like failure classes. */
export type ProgressReason =
    | "TunnelDown" // stunnel never accepted on localhost (exit 97)
    | "NetworkError" // no route, refused, reset, connection closed
    | "AuthenticationFailed" // rsyncd refused the user/password
    | "NoSpaceLeft" // destination volume full
    | "VanishedFiles" // files disappeared on the source while copying (rsync 24)
    | "Timeout" // rsync I/O timeout, or the wait for the Job ran out
    | "NotStarted" // the script ended before this PVC's turn
    | "ContainerTerminated" // the container died without the script's own exit line (OOM, eviction, kill)
    | "Other";

export interface ProgressRecord {
    phase: ProgressPhase;
    attempts: number;
    exitCode?: number;
    totalProgressPercentage: number;
    transferredBytes: number;
    totalBytes?: number;
    filesTransferred?: number;
    totalFiles?: number;
    /** Average bytes/s over the whole PVC transfer. */
    throughput?: number;
    /** Rate (bytes/s) rsync printed last. */
    lastObservedTransferRate?: number;
    elapsedSeconds?: number;
    reason?: string;
    message?: string;
    /** Last log lines of this PVC (progress lines collapsed to the newest one), secrets scrubbed. */
    lastLines?: string[];
}

/** One container log: one pod (or one container restart) of the transfer Job, oldest first. */
export interface LogSegment {
    text: string;
    /** The container has terminated (so a PVC still "Running" in it was cut off). */
    terminated?: boolean;
    /** Container exit code and reason from the pod status, when terminated. */
    exitCode?: number;
    terminationReason?: string;
}

export interface ParseOptions {
    /** Source PVC names in transfer order; PVCs not yet in the log are reported Pending. */
    pvcs?: string[];
    /** Now (ms since epoch), for elapsed time of a running PVC when the log has timestamps. */
    now?: number;
    /** How many last lines to keep per PVC (default 8). */
    lastLines?: number;
}

export interface ParsedTransfer {
    pvcs: Record<string, ProgressRecord>;
    /** Tunnel state from the newest segment. */
    tunnel?: "waiting" | "up" | "down";
    /** `dvm: done exit=<n>` of the newest segment, when present. */
    doneExit?: number;
    /** A PVC is being transferred right now (newest segment). */
    current?: string;
}

// ---------------------------------------------------------------------------------------------------------------

const TIMESTAMP_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) /;
const TIMESTAMP_INNER_RE = /(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) /g;
// `      7.24M  53%    4.08MB/s    0:00:01 (xfr#61, to-chk=0/65)` (ir-chk while the file list is incomplete)
const PROGRESS_RE =
    /^\s*([\d.,]+[KMGTP]?)\s+(\d{1,3})%\s+([\d.,]+)([kKMGTP]?)B\/s\s+(\d+):(\d\d):(\d\d)(?:\s+\(xfr#(\d+),\s*(?:ir|to)-chk=(\d+)\/(\d+)\))?\s*$/;
const STATS_LINE_RE = /^(Number of |Total |Literal data|Matched data|File list )/;
const ERROR_RE = /^(rsync: |rsync error: |rsync warning: |@ERROR|ERROR: |file has vanished: |IO error|cannot |stunnel)/i;

/** Parses rsync numbers: `1,234,567`, `1234567`, `7.24M` (units of 1000, rsync -h), `1.5G`. */
export function parseSize(text: string): number {
    const m = /^([\d.,]+)([KMGTP]?)$/i.exec(text.trim());
    if (!m) return NaN;
    const unit = m[2].toUpperCase();
    // commas are digit-group separators (rsync's default level 1); a unit suffix comes with a decimal point (-h)
    const num = parseFloat(m[1].replace(/,/g, ""));
    const pow = "KMGTP".indexOf(unit) + 1;
    return Math.round(num * Math.pow(1000, unit ? pow : 0));
}

/** rsync prints progress rates in units of 1024 (kB/s, MB/s, GB/s). */
function parseRate(num: string, unit: string): number {
    const pow = { "": 0, k: 1, K: 1, M: 2, G: 3, T: 4, P: 5 }[unit] ?? 0;
    return Math.round(parseFloat(num.replace(/,/g, "")) * Math.pow(1024, pow));
}

/** `key=value key="quoted value"` words after `dvm: <event>`. */
export function parseEvent(line: string): { event: string; fields: Record<string, string> } | undefined {
    const m = /^dvm: ([a-z][a-z-]*)(.*)$/.exec(line);
    if (!m) return undefined;
    const fields: Record<string, string> = {};
    const re = /([A-Za-z][\w-]*)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/g;
    let f: RegExpExecArray | null;
    while ((f = re.exec(m[2])) !== null) fields[f[1]] = f[2] !== undefined ? f[2].replace(/\\(.)/g, "$1") : f[3];
    return { event: m[1], fields };
}

/** Removes anything that looks like a credential from a log line. */
export function scrubSecrets(line: string): string {
    return line
        .replace(/((?:password|passwd|secret|psk|token|key)[\w-]*\s*[=:]\s*)("[^"]*"|\S+)/gi, "$1***")
        .replace(/(Authorization:\s*\w+\s+)\S+/gi, "$1***")
        .replace(/\b[0-9a-fA-F]{32,}\b/g, "***")
        .replace(/\b(rsync:\/\/[^:@/\s]+):[^@/\s]+@/g, "$1:***@");
}


interface Attempt {
    n: number;
    startTs?: number;
    endTs?: number;
    exit?: number;
    result?: string;
    retryIn?: number;
    warning?: string;
    /** `reason=` of the script's pvc-end line (e.g. "backoff limit reached"). */
    scriptReason?: string;
    bytes: number;
    percent: number;
    rate?: number;
    files?: number;
    totalFiles?: number;
    totalBytes?: number;
    /** Elapsed seconds rsync printed on its last "(xfr#..)" line. */
    rsyncElapsed?: number;
    statsRate?: number;
    statsSent?: number;
    errors: string[];
    lines: string[];
    lastProgress?: string;
}

interface PvcState {
    attempts: Attempt[];
    base: number; // attempts counted in earlier segments
    phase: ProgressPhase;
    /** Set when the reason does not come from rsync's output (tunnel, not started, container died, usage). */
    override?: { reason: ProgressReason; message?: string; exitCode?: number };
    cutOff?: boolean;
    /** Why a Pending PVC has not started yet, when the log says. */
    note?: string;
}

// `dvm: ` events normally start a line, but a killed rsync leaves its last progress line without a newline, so the
// script's next event is appended to it: find the event anywhere in the fragment.
const EVENT_IN_LINE_RE = /^(.*?)(dvm: (?:tunnel-wait|tunnel-up|tunnel-down|pvc-start|pvc-end|done|usage-error|error)\b.*)$/;

const NETWORK_RE =
    /(Connection refused|No route to host|Network is unreachable|Connection reset|connection unexpectedly closed|Broken pipe|Name or service not known|Temporary failure in name resolution|failed to connect|Connection timed out|error in socket IO)/i;

/** MTC-like classification of a failed attempt from its exit code and rsync's own messages. */
export function classify(exit: number | undefined, errors: string[]): { reason: ProgressReason; message?: string } {
    const find = (re: RegExp) => errors.find((l) => re.test(l));
    let hit: string | undefined;
    if (exit === 97) return { reason: "TunnelDown", message: find(/tunnel|stunnel/i) };
    if ((hit = find(/No space left on device|Disk quota exceeded/i))) return { reason: "NoSpaceLeft", message: hit };
    if ((hit = find(/auth failed|authentication failed|password/i))) return { reason: "AuthenticationFailed", message: hit };
    if ((hit = find(/timeout|timed out/i)) || exit === 30 || exit === 35)
        return { reason: "Timeout", message: hit ?? errors[errors.length - 1] };
    if (exit === 24) return { reason: "VanishedFiles", message: find(/vanished/i) };
    if ((hit = find(NETWORK_RE)) || exit === 10 || exit === 12)
        return { reason: "NetworkError", message: hit ?? errors[errors.length - 1] };
    if ((hit = find(/vanished/i))) return { reason: "VanishedFiles", message: hit };
    // the cause (the first specific rsync complaint) says more than the closing "rsync error: ... (code 23)"
    const cause = errors.find((l) => /^@ERROR|^rsync: /.test(l));
    const summary = [...errors].reverse().find((l) => /^rsync error/.test(l));
    const message = cause && summary ? `${cause} (${summary.replace(/ at \S+\(\d+\).*$/, "")})` : (cause ?? summary ?? errors[errors.length - 1]);
    return { reason: "Other", message };
}

function hms(h: string, m: string, s: string): number {
    return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

/**
 * Parses the logs of a transfer Job's rsync container (one segment per pod / container run, oldest first) into
 * progress records keyed by source PVC name.
 */

/**
 * Parses the logs of a transfer Job's rsync container (one segment per pod / container run, oldest first) into
 * progress records keyed by source PVC name.
 */
export function parseTransferLogs(input: string | LogSegment[], options: ParseOptions = {}): ParsedTransfer {
    const segments: LogSegment[] = typeof input === "string" ? [{ text: input }] : input;
    const keep = options.lastLines ?? 8;
    const order: string[] = [...(options.pvcs ?? [])];
    const states: Record<string, PvcState> = {};
    const state = (pvc: string): PvcState => {
        if (!states[pvc]) {
            states[pvc] = { attempts: [], base: 0, phase: "Pending" };
            if (!order.includes(pvc)) order.push(pvc);
        }
        return states[pvc];
    };
    for (const p of order) state(p);

    let tunnel: ParsedTransfer["tunnel"];
    let doneExit: number | undefined;
    let current: string | undefined;

    segments.forEach((segment, index) => {
        const newest = index === segments.length - 1;
        tunnel = undefined;
        doneExit = undefined;
        current = undefined;
        let tunnelMessage: string | undefined;
        let usageMessage: string | undefined;
        /** The attempt rsync output belongs to: the open one, or the one that just ended (its stderr may trail). */
        let last: Attempt | undefined;
        // attempts restart at 1 in every new pod: count on from what earlier pods did
        for (const s of Object.values(states)) s.base = s.attempts.length;
        let ts: number | undefined;

        const handleEvent = (text: string, ev: { event: string; fields: Record<string, string> }) => {
            const f = ev.fields;
            switch (ev.event) {
                case "tunnel-wait":
                    tunnel = "waiting";
                    break;
                case "tunnel-up":
                    tunnel = "up";
                    break;
                case "tunnel-down":
                    tunnel = "down";
                    tunnelMessage = f.message ?? "the tunnel never came up";
                    break;
                case "usage-error":
                    usageMessage = f.message ?? "usage error";
                    break;
                case "pvc-start": {
                    if (!f.pvc) break;
                    const s = state(f.pvc);
                    const n = s.base + (Number(f.attempt) || s.attempts.length - s.base + 1);
                    s.attempts = s.attempts.slice(0, n - 1);
                    last = { n, startTs: ts, bytes: 0, percent: 0, errors: [], lines: [] };
                    s.attempts.push(last);
                    s.phase = "Running";
                    s.cutOff = false;
                    s.override = undefined;
                    current = f.pvc;
                    break;
                }
                case "pvc-end": {
                    if (!f.pvc) break;
                    const s = state(f.pvc);
                    const a = s.attempts[s.attempts.length - 1];
                    if (a) {
                        a.endTs = ts;
                        a.exit = Number(f.exit);
                        a.result = f.result;
                        a.retryIn = f["retry-in"] !== undefined ? Number(f["retry-in"]) : undefined;
                        a.warning = f.warning;
                        a.scriptReason = f.reason;
                        a.lines.push(text);
                    }
                    s.phase = f.result === "ok" ? "Succeeded" : f.result === "fatal" ? "Failed" : "Running";
                    if (current === f.pvc) current = undefined;
                    break;
                }
                case "done":
                    doneExit = Number(f.exit);
                    current = undefined;
                    break;
                default:
                    break;
            }
        };

        for (const rawLine of segment.text.split("\n")) {
            let line = rawLine;
            const t = TIMESTAMP_RE.exec(line);
            if (t) {
                ts = Date.parse(t[1]);
                line = line.slice(t[0].length);
                // the container runtime splits long lines (rsync's \r progress runs) into partial entries, and
                // `logs --timestamps` prefixes each: drop those inner stamps, keep the newest as the line's time
                if (line.includes("Z ")) {
                    line = line.replace(TIMESTAMP_INNER_RE, (_m, stamp: string) => {
                        ts = Date.parse(stamp);
                        return "";
                    });
                }
            }
            for (const frag of line.split("\r")) {
                let text = frag.replace(/\s+$/, "");
                if (!text.trim()) continue;
                const split = EVENT_IN_LINE_RE.exec(text);
                let event: string | undefined;
                if (split) {
                    text = split[1].replace(/\s+$/, "");
                    event = split[2];
                }
                if (text.trim()) {
                    const p = PROGRESS_RE.exec(text);
                    const a = p && current ? states[current].attempts[states[current].attempts.length - 1] : last;
                    if (a && p) {
                        a.bytes = parseSize(p[1]);
                        a.percent = Number(p[2]);
                        a.rate = parseRate(p[3], p[4]);
                        if (p[8] !== undefined) {
                            a.files = Number(p[8]);
                            a.totalFiles = Number(p[10]);
                            a.rsyncElapsed = hms(p[5], p[6], p[7]);
                        }
                        if (a.percent > 0) a.totalBytes = Math.round((a.bytes * 100) / a.percent);
                        a.lastProgress = text.trim();
                    } else if (a) {
                        let m: RegExpExecArray | null;
                        if ((m = /^Number of files: ([\d,.]+[KMGTP]?)/.exec(text))) a.totalFiles = parseSize(m[1]);
                        else if ((m = /^Number of regular files transferred: ([\d,.]+[KMGTP]?)/.exec(text))) a.files = parseSize(m[1]);
                        else if ((m = /^Total file size: ([\d,.]+[KMGTP]?) bytes/.exec(text))) a.totalBytes = parseSize(m[1]);
                        else if ((m = /^Total transferred file size: ([\d,.]+[KMGTP]?) bytes/.exec(text))) a.bytes = parseSize(m[1]);
                        else if ((m = /^sent ([\d,.]+[KMGTP]?) bytes\s+received ([\d,.]+[KMGTP]?) bytes\s+([\d,.]+[KMGTP]?) bytes\/sec/.exec(text))) {
                            a.statsSent = parseSize(m[1]) + parseSize(m[2]);
                            a.statsRate = parseSize(m[3]);
                        }
                        if (ERROR_RE.test(text.trim())) a.errors.push(text.trim());
                        // the stats block is summarised by the record itself; keep the lines a person needs
                        if (!STATS_LINE_RE.test(text)) {
                            a.lines.push(text);
                            if (a.lines.length > 4 * keep) a.lines.splice(0, a.lines.length - 2 * keep);
                        }
                    }
                }
                if (event) {
                    const ev = parseEvent(event);
                    if (ev) handleEvent(event, ev);
                }
            }
        }

        // a PVC still running when its container ended was cut off (OOM, eviction, node loss, kill)
        const ended = segment.terminated || doneExit !== undefined;
        for (const s of Object.values(states)) {
            const a = s.attempts[s.attempts.length - 1];
            if (ended && s.phase === "Running" && a && a.result === undefined) {
                s.cutOff = true;
                s.override = {
                    reason: "ContainerTerminated",
                    message:
                        doneExit !== undefined
                            ? `the transfer script ended (exit ${doneExit}) during attempt ${a.n}`
                            : `the rsync container ended (exit ${segment.exitCode ?? "unknown"}${segment.terminationReason ? `, ${segment.terminationReason}` : ""}) during attempt ${a.n}`,
                    exitCode: doneExit ?? segment.exitCode,
                };
            }
            if (!newest) continue;
            s.note = tunnel === "waiting" && s.phase === "Pending" ? "waiting for the tunnel to the destination (stunnel, then the rsync daemon's greeting)" : undefined;
            // the script ended: what did not succeed has failed
            if (ended && s.phase === "Running") s.phase = "Failed";
            if (tunnel === "down" && s.phase !== "Succeeded") {
                s.phase = "Failed";
                s.override = { reason: "TunnelDown", message: tunnelMessage, exitCode: 97 };
            } else if (usageMessage !== undefined && s.phase !== "Succeeded") {
                s.phase = "Failed";
                s.override = { reason: "Other", message: `usage error: ${usageMessage}`, exitCode: doneExit };
            } else if (ended && s.phase === "Pending") {
                s.phase = "Failed";
                s.override = {
                    reason: "NotStarted",
                    message:
                        doneExit !== undefined
                            ? `the transfer script ended (exit ${doneExit}) before this PVC's turn`
                            : `the rsync container ended (exit ${segment.exitCode ?? "unknown"}) before this PVC's turn`,
                };
            }
        }
    });

    const now = options.now ?? Date.now();
    const pvcs: Record<string, ProgressRecord> = {};
    for (const name of order) pvcs[name] = toRecord(states[name], now, keep);
    return { pvcs, tunnel, doneExit, current };
}

function toRecord(s: PvcState, now: number, keep: number): ProgressRecord {
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
        const msg = [failedAttempt.scriptReason, c.message].filter((x) => x).join(": ");
        if (msg) rec.message = msg;
        if (s.phase === "Running" && failedAttempt.retryIn !== undefined)
            rec.message = `attempt ${failedAttempt.n} failed, retrying in ${failedAttempt.retryIn}s${msg ? `: ${msg}` : ""}`;
    } else if (a && s.phase === "Succeeded") {
        if (a.exit === 24 || a.warning) {
            // the copy finished, but files vanished from the live source meanwhile: say so
            rec.reason = "VanishedFiles";
            const example = a.errors.find((l) => /vanished/i.test(l) && /^file has vanished/.test(l));
            rec.message = [a.warning ?? "some source files vanished during the copy", example].filter((x) => x).join("; e.g. ");
        } else if (s.attempts.length > 1) {
            const failed = s.attempts.slice(0, -1).map((x) => `attempt ${x.n}: ${classify(x.exit, x.errors).reason} (exit ${x.exit ?? "?"})`);
            rec.message = `succeeded on attempt ${a.n} after ${failed.join("; ")}`;
        }
    }
    if (!rec.message && s.note) rec.message = s.note;
    if (rec.message) rec.message = scrubSecrets(rec.message);
    if (!a) return rec;

    // a finished PVC: the most any attempt moved (a retry after a partial attempt resends little, and a retry
    // after vanished files may send nothing); a running one: the current attempt's counter, as rsync prints it
    const bytes = s.phase === "Running" ? a.bytes : Math.max(...s.attempts.map((x) => x.bytes));
    rec.transferredBytes = bytes;
    rec.totalProgressPercentage = s.phase === "Succeeded" ? 100 : Math.min(a.percent, 99);
    if (a.totalBytes !== undefined) rec.totalBytes = a.totalBytes;
    if (a.files !== undefined) rec.filesTransferred = a.files;
    if (a.totalFiles !== undefined) rec.totalFiles = a.totalFiles;
    if (a.rate !== undefined) rec.lastObservedTransferRate = a.rate;
    if (rec.exitCode === undefined && a.exit !== undefined) rec.exitCode = a.exit;

    // elapsed: from the first attempt's start to the last end (or now) when the log has timestamps, else the sum
    // of rsync's own elapsed times (plus retry delays)
    const first = s.attempts[0];
    let elapsed: number | undefined;
    if (first.startTs !== undefined) {
        const end = s.phase === "Running" && !s.cutOff ? now : (a.endTs ?? a.startTs ?? now);
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
