// The per-PVC state machine: the log segments of a transfer Job's rsync container (one per pod or container run,
// oldest first) -> what each PVC's attempts did, from the script's `dvm: ` events (contract/PROTOCOL.md) and the rsync
// output between them.
// Pure and serialized by value with the progress provider: imports nothing but the contract and its siblings.
import { EVENT_KEYS, EVENTS, EXIT_CODES, PVC_RESULTS, SIGNAL_EXIT_CODES, TRANSFER_IMAGE_KEY } from "../../contract";
import { toRecord } from "./record";
import { applyOutput, applyProgress, Attempt, newAttempt, progressLine } from "./rsync";
import { forEachToken, parseEvent } from "./tokens";
import type { LogSegment, ParsedTransfer, ParseOptions, ProgressPhase, ProgressReason, ProgressRecord } from "./types";

export interface PvcState {
    attempts: Attempt[];
    base: number; // attempts counted in earlier segments
    phase: ProgressPhase;
    /** Set when the reason does not come from rsync's output (tunnel, not started, container died, usage). */
    override?: { reason: ProgressReason; message?: string; exitCode?: number };
    /** Why a Pending PVC has not started yet, when the log says. */
    note?: string;
    /** `unsafe-links=` of its pvc-start/pvc-end (and the `unsafe-link=` example). */
    unsafeLinks?: number;
    unsafeLinkExample?: string;
}

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
    let hold: ParsedTransfer["hold"];

    segments.forEach((segment, index) => {
        const newest = index === segments.length - 1;
        tunnel = undefined;
        doneExit = undefined;
        current = undefined;
        hold = undefined;
        let tunnelMessage: string | undefined;
        let usageMessage: string | undefined;
        let imageMessage: string | undefined;
        /** The attempt rsync output belongs to: the open one, or the one that just ended (its stderr may trail). */
        let last: Attempt | undefined;
        // attempts restart at 1 in every new pod: count on from what earlier pods did
        for (const s of Object.values(states)) s.base = s.attempts.length;
        let ts: number | undefined;

        const handleEvent = (text: string, ev: { event: string; fields: Record<string, string> }) => {
            const f = ev.fields;
            switch (ev.event) {
                case EVENTS.tunnelWait:
                    tunnel = "waiting";
                    break;
                case EVENTS.tunnelUp:
                    tunnel = "up";
                    break;
                case EVENTS.tunnelDown:
                    tunnel = "down";
                    tunnelMessage = f.message ?? "the tunnel never came up";
                    break;
                case EVENTS.usageError:
                    usageMessage = f.message ?? "usage error";
                    break;
                case EVENTS.imageUnfit:
                    imageMessage = f.message ?? `the transfer image (${TRANSFER_IMAGE_KEY}) cannot run dvm's scripts`;
                    break;
                case EVENTS.pvcStart: {
                    if (!f.pvc) break;
                    const s = state(f.pvc);
                    const n = s.base + (Number(f.attempt) || s.attempts.length - s.base + 1);
                    s.attempts = s.attempts.slice(0, n - 1);
                    last = newAttempt(n, ts);
                    links(s, f);
                    s.attempts.push(last);
                    s.phase = "Running";
                    s.override = undefined;
                    current = f.pvc;
                    break;
                }
                case EVENTS.pvcEnd: {
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
                    links(s, f);
                    s.phase = f.result === PVC_RESULTS.ok ? "Succeeded" : f.result === PVC_RESULTS.fatal ? "Failed" : "Running";
                    if (current === f.pvc) current = undefined;
                    break;
                }
                case EVENTS.debugHold:
                    hold = { seconds: Number(f[EVENT_KEYS.holdSeconds]) || 0, pod: segment.pod };
                    break;
                case EVENTS.done:
                    doneExit = Number(f.exit);
                    current = undefined;
                    hold = undefined;
                    break;
                default:
                    break;
            }
        };

        forEachToken(segment.text, (tok) => {
            ts = tok.ts;
            if (tok.text !== undefined) {
                const text = tok.text;
                const p = progressLine(text);
                // parallel copies prefix each line with its PVC (one whose pvc-start came first); one copy at a time
                // needs no name: the open PVC's
                const owner = tok.pvc !== undefined && states[tok.pvc] ? states[tok.pvc] : p && current ? states[current] : undefined;
                const a = owner ? owner.attempts[owner.attempts.length - 1] : last;
                if (a && p) applyProgress(a, p, text);
                else if (a) applyOutput(a, text, keep);
            }
            if (tok.event) {
                const ev = parseEvent(tok.event);
                if (ev) handleEvent(tok.event, ev);
            }
        });

        // a PVC still running when its container ended was cut off (OOM, eviction, node loss, kill)
        const ended = segment.terminated || doneExit !== undefined;
        for (const s of Object.values(states)) {
            const a = s.attempts[s.attempts.length - 1];
            if (ended && s.phase === "Running" && a && a.result === undefined) {
                const code = doneExit ?? segment.exitCode;
                a.cutOff = { ...(code !== undefined ? { exit: code } : {}), ...(segment.pod ? { pod: segment.pod } : {}) };
                const signalled = code !== undefined && SIGNAL_EXIT_CODES.includes(code);
                s.override = {
                    reason: "ContainerTerminated",
                    message:
                        (doneExit !== undefined
                            ? `the transfer script ended (exit ${doneExit}) during attempt ${a.n}`
                            : `the rsync container ended (exit ${segment.exitCode ?? "unknown"}${segment.terminationReason ? `, ${segment.terminationReason}` : ""}) during attempt ${a.n}`) +
                        `${segment.pod ? ` in pod ${segment.pod}` : ""}${signalled ? " (stopped by a signal: the Job's next pod resumes the copy)" : ""}`,
                    exitCode: code,
                };
            }
            if (!newest) continue;
            s.note = tunnel === "waiting" && s.phase === "Pending" ? "waiting for the tunnel to the destination (stunnel, then the rsync daemon's greeting)" : undefined;
            // the script ended: what did not succeed has failed
            if (ended && s.phase === "Running") s.phase = "Failed";
            if (tunnel === "down" && s.phase !== "Succeeded") {
                s.phase = "Failed";
                s.override = { reason: "TunnelDown", message: tunnelMessage, exitCode: EXIT_CODES.tunnelDown };
            } else if (imageMessage !== undefined && s.phase !== "Succeeded") {
                s.phase = "Failed";
                s.override = { reason: "ImageUnfit", message: imageMessage, exitCode: EXIT_CODES.imageUnfit };
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
    return { pvcs, tunnel, doneExit, current, ...(hold ? { hold } : {}) };
}

/** The unsafe symlink count of a pvc-start / pvc-end event. */
function links(s: PvcState, f: Record<string, string>): void {
    const n = f[EVENT_KEYS.unsafeLinks];
    if (n !== undefined && /^\d+$/.test(n)) s.unsafeLinks = Number(n);
    if (f[EVENT_KEYS.unsafeLinkExample] !== undefined) s.unsafeLinkExample = f[EVENT_KEYS.unsafeLinkExample];
}
