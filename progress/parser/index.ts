// The progress parser (pure): the source transfer container's log -> one DVMP-like progress record per PVC.
//   tokens.ts   log lines -> rsync output fragments and `dvm: ` events (timestamps, `\r` runs, split entries)
//   rsync.ts    what one rsync line means for its attempt; failure classes
//   state.ts    the per-PVC state machine over the events, across pods and container restarts
//   record.ts   attempts -> the record; the namespace phase
export { classify, parseSize } from "./rsync";
export { namespacePhase } from "./record";
export { parseTransferLogs } from "./state";
export { parseEvent, scrubSecrets } from "./tokens";
export type { LogSegment, ParsedTransfer, ParseOptions, ProgressPhase, ProgressReason, ProgressRecord } from "./types";
