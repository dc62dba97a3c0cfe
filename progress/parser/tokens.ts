// The tokenizer: a container log (optionally `--timestamps`-prefixed) -> fragments of rsync output and `dvm: `
// events, each with the newest timestamp seen. rsync separates its progress updates with `\r`; the container runtime
// splits long lines into partial entries (each stamped again); a killed rsync leaves its last progress line without a
// newline, so the script's next event is appended to it.
// Pure and serialized by value with the progress provider: imports nothing but the contract.
import { EVENTS, LOG_PREFIX, PVC_OUTPUT_CLOSE, PVC_OUTPUT_OPEN } from "../../contract";

export interface Token {
    /** ms since epoch of the newest timestamp seen so far, when the log has them. */
    ts?: number;
    /** rsync (or other) output, trailing spaces removed; undefined when the fragment held only an event. */
    text?: string;
    /** A `dvm: <event> ...` line, when the fragment held one. */
    event?: string;
    /** The PVC whose rsync printed the fragment, when it carried the `[<pvc>] ` prefix of parallel copies. */
    pvc?: string;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const PVC_PREFIX_RE = new RegExp(`^${esc(PVC_OUTPUT_OPEN)}([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)${esc(PVC_OUTPUT_CLOSE)}`);

const TIMESTAMP_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) /;
const TIMESTAMP_INNER_RE = /(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) /g;
const EVENT_IN_LINE_RE = new RegExp(`^(.*?)(${LOG_PREFIX}(?:${Object.values(EVENTS).join("|")})\\b.*)$`);

/** Calls `fn` with every token of `text`, in order. */
export function forEachToken(text: string, fn: (t: Token) => void): void {
    let ts: number | undefined;
    for (const rawLine of text.split("\n")) {
        let line = rawLine;
        const t = TIMESTAMP_RE.exec(line);
        if (t) {
            ts = Date.parse(t[1]);
            line = line.slice(t[0].length);
            // `logs --timestamps` stamps each partial entry: drop those inner stamps, keep the newest as the time
            if (line.includes("Z ")) {
                line = line.replace(TIMESTAMP_INNER_RE, (_m, stamp: string) => {
                    ts = Date.parse(stamp);
                    return "";
                });
            }
        }
        for (const frag of line.split("\r")) {
            let text = frag.replace(/\s+$/, "");
            const owner = PVC_PREFIX_RE.exec(text);
            if (owner) text = text.slice(owner[0].length);
            if (!text.trim()) continue;
            const split = EVENT_IN_LINE_RE.exec(text);
            let event: string | undefined;
            if (split) {
                text = split[1].replace(/\s+$/, "");
                event = split[2];
            }
            fn({ ts, text: text.trim() ? text : undefined, event, ...(owner ? { pvc: owner[1] } : {}) });
        }
    }
}

/** `key=value key="quoted value"` words after `dvm: <event>`. */
export function parseEvent(line: string): { event: string; fields: Record<string, string> } | undefined {
    const m = new RegExp(`^${LOG_PREFIX}([a-z][a-z-]*)(.*)$`).exec(line);
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
