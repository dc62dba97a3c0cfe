// The rsync grammar: what one line of rsync's own output (`--info=...PROGRESS2,STATS2`, its errors) means for the
// attempt it belongs to, and the MTC-like failure class of a finished attempt.
// Pure and serialized by value with the progress provider: imports nothing but the contract and types.
import { EXIT_CODES, RSYNC_EXIT } from "../../contract";
import type { ProgressReason } from "./types";

/** What the parser knows about one rsync attempt of one PVC. */
export interface Attempt {
    n: number;
    startTs?: number;
    endTs?: number;
    exit?: number;
    result?: string;
    retryIn?: number;
    warning?: string;
    /** `reason=` of the script's pvc-end line (e.g. "backoff limit reached"). */
    scriptReason?: string;
    /** Its container ended during it (no pvc-end): that exit code, when known, and the pod. */
    cutOff?: { exit?: number; pod?: string };
    bytes: number;
    percent: number;
    /** The most this attempt showed (a progress line may count part of a file an interruption then cuts off). */
    peakBytes: number;
    peakPercent: number;
    /** Bytes, percent and files of the files this attempt finished: its last `(xfr#..)` line or its stats. A file it
     * had only begun is counted in full by the attempt that finishes it (rsync resends or resumes it). */
    completedBytes: number;
    completedPercent: number;
    completedFiles: number;
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

function hms(h: string, m: string, s: string): number {
    return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

/** A `--info=progress2` line, or undefined. */
export function progressLine(text: string): RegExpExecArray | null {
    return PROGRESS_RE.exec(text);
}

/** Applies a progress line (from progressLine) to the attempt it belongs to. */
export function applyProgress(a: Attempt, p: RegExpExecArray, text: string): void {
    a.bytes = parseSize(p[1]);
    a.percent = Number(p[2]);
    a.rate = parseRate(p[3], p[4]);
    a.peakBytes = Math.max(a.peakBytes, a.bytes);
    a.peakPercent = Math.max(a.peakPercent, a.percent);
    if (p[8] !== undefined) {
        // printed as a file is finished: everything counted so far is complete
        a.files = Number(p[8]);
        a.totalFiles = Number(p[10]);
        a.rsyncElapsed = hms(p[5], p[6], p[7]);
        a.completedBytes = a.bytes;
        a.completedPercent = a.percent;
        a.completedFiles = a.files;
    }
    if (a.percent > 0) a.totalBytes = Math.round((a.bytes * 100) / a.percent);
    a.lastProgress = text.trim();
}

/** Applies any other rsync line (stats, errors, per-file lines) to its attempt; keeps the lines a person needs. */
export function applyOutput(a: Attempt, text: string, keep: number): void {
    let m: RegExpExecArray | null;
    if ((m = /^Number of files: ([\d,.]+[KMGTP]?)/.exec(text))) a.totalFiles = parseSize(m[1]);
    else if ((m = /^Number of regular files transferred: ([\d,.]+[KMGTP]?)/.exec(text))) a.files = a.completedFiles = parseSize(m[1]);
    else if ((m = /^Total file size: ([\d,.]+[KMGTP]?) bytes/.exec(text))) a.totalBytes = parseSize(m[1]);
    else if ((m = /^Total transferred file size: ([\d,.]+[KMGTP]?) bytes/.exec(text))) {
        // the stats close the attempt's file list: all of it is complete
        a.bytes = a.completedBytes = parseSize(m[1]);
        a.peakBytes = Math.max(a.peakBytes, a.bytes);
        a.completedPercent = Math.max(a.completedPercent, a.percent);
    }
    else if ((m = /^sent ([\d,.]+[KMGTP]?) bytes\s+received ([\d,.]+[KMGTP]?) bytes\s+([\d,.]+[KMGTP]?) bytes\/sec/.exec(text))) {
        a.statsSent = parseSize(m[1]) + parseSize(m[2]);
        a.statsRate = parseSize(m[3]);
    }
    if (ERROR_RE.test(text.trim())) a.errors.push(text.trim());
    // the stats block is summarised by the record itself
    if (!STATS_LINE_RE.test(text)) {
        a.lines.push(text);
        if (a.lines.length > 4 * keep) a.lines.splice(0, a.lines.length - 2 * keep);
    }
}

const NETWORK_RE =
    /(Connection refused|No route to host|Network is unreachable|Connection reset|connection unexpectedly closed|Broken pipe|Name or service not known|Temporary failure in name resolution|failed to connect|Connection timed out|error in socket IO)/i;

/** A new attempt: nothing seen yet. */
export function newAttempt(n: number, startTs: number | undefined): Attempt {
    return { n, startTs, bytes: 0, percent: 0, peakBytes: 0, peakPercent: 0, completedBytes: 0, completedPercent: 0, completedFiles: 0, errors: [], lines: [] };
}

/** MTC-like classification of a failed attempt from its exit code and rsync's own messages. */
export function classify(exit: number | undefined, errors: string[]): { reason: ProgressReason; message?: string } {
    const find = (re: RegExp) => errors.find((l) => re.test(l));
    let hit: string | undefined;
    if (exit === EXIT_CODES.tunnelDown) return { reason: "TunnelDown", message: find(/tunnel|stunnel/i) };
    if (exit === EXIT_CODES.unsafeLinks) return { reason: "UnsafeSymlinks" };
    if ((hit = find(/No space left on device|Disk quota exceeded/i))) return { reason: "NoSpaceLeft", message: hit };
    if ((hit = find(/auth failed|authentication failed|password/i))) return { reason: "AuthenticationFailed", message: hit };
    if ((hit = find(/timeout|timed out/i)) || exit === 30 || exit === 35)
        return { reason: "Timeout", message: hit ?? errors[errors.length - 1] };
    if (exit === RSYNC_EXIT.vanished) return { reason: "VanishedFiles", message: find(/vanished/i) };
    if ((hit = find(NETWORK_RE)) || exit === 10 || exit === 12)
        return { reason: "NetworkError", message: hit ?? errors[errors.length - 1] };
    if ((hit = find(/vanished/i))) return { reason: "VanishedFiles", message: hit };
    // the cause (the first specific rsync complaint) says more than the closing "rsync error: ... (code 23)"
    const cause = errors.find((l) => /^@ERROR|^rsync: /.test(l));
    const summary = [...errors].reverse().find((l) => /^rsync error/.test(l));
    const message = cause && summary ? `${cause} (${summary.replace(/ at \S+\(\d+\).*$/, "")})` : (cause ?? summary ?? errors[errors.length - 1]);
    return { reason: "Other", message };
}
