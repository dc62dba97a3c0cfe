// The shapes of the progress record (DVMP-like, per PVC) and of the parser's input and output.

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
    | "ImageUnfit" // the transfer image (dvm:transferImage) lacks what the scripts need (exit 96)
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
