// The one contract: every name, path, port, exit code and log event that more than one part of dvm relies on - the
// container scripts (components/*/scripts/*.sh), the components, the progress parser, the CLI and the policy pack.
// TypeScript imports it from here; the scripts and PROTOCOL.md carry the same values literally, and
// test/unit/contract.test.ts fails when any of them drifts from this file.
//
// Pure data, no imports: the policy pack and the progress provider (serialized by value into the state) use it too.

/** Where the scripts ConfigMap is mounted (mode 0555). */
export const SCRIPTS_DIR = "/opt/dvm/scripts";
/** The config key a transfer image problem names. */
export const TRANSFER_IMAGE_KEY = "dvm:transferImage";
/** Where the rendered non-secret configs (rsyncd.conf, stunnel-*.conf) are mounted. */
export const CONFIG_DIR = "/etc/dvm/config";
/** Where the credentials Secret is mounted (mode 0440, group = fsGroup). */
export const SECRET_DIR = "/etc/dvm/secret";
/** Source PVCs are mounted read-only at SOURCE_ROOT/<source pvc name>. */
export const SOURCE_ROOT = "/mnt/source";
/** Destination PVCs are mounted at TARGET_ROOT/<target pvc name>; each is an rsyncd module of that name. */
export const TARGET_ROOT = "/mnt/target";
/** The emptyDir shared by the rsync and stunnel containers of the source transfer pod. */
export const IPC_VOLUME = "rsync-stunnel-ipc";
export const IPC_DIR = "/rsync-stunnel-ipc";
/** Written by the rsync client on every exit path; the stunnel client exits when it appears. */
export const DONE_FILE = "rsync-client-container-done";
/** A FIFO the stunnel client waits on between its done-file checks; the rsync client writes a line to it after the
 * done-file, so the stop comes at once. */
export const WAKE_FIFO = "rsync-client-container-wake";
/** Writable scratch (root filesystems are read-only). */
export const TMP_DIR = "/tmp";

/** Source pod: stunnel client listens here on localhost; rsync connects to it. */
export const TUNNEL_PORT = 2222;
/** Destination pod: rsyncd listens on 127.0.0.1 only. */
export const RSYNCD_PORT = 8873;
/** Destination pod: stunnel server listens on all interfaces (the only exposed port). */
export const STUNNEL_PORT = 8443;
/** Service port in front of the stunnel server. */
export const SERVICE_PORT = 443;

/** The rsyncd user the client authenticates as. */
export const RSYNC_USER = "dvm";

/** Keys of the per-namespace credentials Secret (same keys on both clusters). */
export const SECRET_KEYS = {
    /** stunnel PSKsecrets file: `<identity>:<hex key>` */
    psk: "stunnel.psk",
    /** rsync client --password-file */
    rsyncPassword: "rsync.password",
    /** rsyncd `secrets file`: `dvm:<password>` */
    rsyncdSecrets: "rsyncd.secrets",
} as const;
/** File names of the credentials Secret: these belong in a Secret, never in a ConfigMap. */
export const SECRET_FILE_NAMES: readonly string[] = Object.values(SECRET_KEYS);

/** Keys of the scripts ConfigMap (files under components/transfer/scripts and components/transport/scripts). */
export const SCRIPT_FILES = {
    rsyncClient: "rsync-client.sh",
    /** The per-PVC decisions of rsync-client.sh (sparse, in place, outcome), sourced by it. */
    rsyncClientPvc: "rsync-client-pvc.sh",
    stunnelClient: "stunnel-client.sh",
    rsyncd: "rsyncd.sh",
    stunnelServer: "stunnel-server.sh",
    /** The start-up self-check of the transfer image, sourced by every container's script. */
    imageCheck: "image-check.sh",
} as const;

/** Keys of the config ConfigMap. */
export const CONFIG_FILES = {
    rsyncd: "rsyncd.conf",
    stunnelServer: "stunnel-server.conf",
    stunnelClient: "stunnel-client.conf",
} as const;

/** Container names. */
export const CONTAINERS = {
    rsync: "rsync",
    rsyncd: "rsyncd",
    stunnel: "stunnel",
} as const;

/** Exit codes of the rsync client script that are not rsync's own. */
export const EXIT_CODES = {
    /** stunnel never accepted on localhost:TUNNEL_PORT within stunnelWaitSeconds. */
    tunnelDown: 97,
    /** The script was called wrongly (missing env/args): a bug, never retried. */
    usage: 98,
    /** The transfer image (dvm:transferImage) lacks what the scripts need (image-check.sh): never retried. */
    imageUnfit: 96,
    /** SIGTERM (pod deletion, eviction): rsync stopped, the script exits 128 + 15. */
    terminated: 143,
    /** SIGINT. */
    interrupted: 130,
    /** A source PVC holds symlinks a destination daemon without chroot would rewrite, and the wave said to fail
     * (`dvm:rsync.unsafeSymlinks: fail`, rsync-client.sh `--dvm-refuse-unsafe-links`): nothing was copied. */
    unsafeLinks: 95,
} as const;

/** Exit codes a signal gives the rsync container (SIGTERM: the script's own 143; SIGKILL, the OOM killer: 137).
 * The pod was ended from outside, not by rsync giving up: the Job retries it in a new pod. */
export const SIGNAL_EXIT_CODES: readonly number[] = [137, 143];

/** rsync's own exit codes that the script and the parser treat specially. */
export const RSYNC_EXIT = {
    /** Some files/attrs were not transferred. */
    partial: 23,
    /** Source files vanished during the copy (a live source). */
    vanished: 24,
    /** The client-server protocol did not start: an rsyncd refusal (auth, module) or no greeting at all. */
    startup: 5,
} as const;

/** rsync exit codes that cannot succeed on retry: syntax/usage, protocol incompatibility, unsupported action.
 * "No space left on device" is recognised from the output and also not retried. */
export const RSYNC_FATAL_EXIT_CODES: readonly number[] = [1, 2, 4];
/** Exit 5 (startup) is fatal only when rsyncd refused the session with one of these messages (stderr line starts):
 * wrong password or a module that does not exist. Any other exit 5 - no greeting from a restarting rsyncd behind a
 * running stunnel, `max connections` - is retried. */
export const RSYNC_FATAL_STARTUP_ERRORS: readonly string[] = ["@ERROR: auth failed", "@ERROR: Unknown module"];

/** Options of rsync-client.sh itself (never passed to rsync): `--dvm-` + name. */
export const SCRIPT_OPTION_PREFIX = "--dvm-";
export const SCRIPT_OPTIONS = {
    /** dvm:rsync.sparse auto: --sparse only for a PVC that holds a file with holes. */
    sparseIfHoles: "--dvm-sparse-if-holes",
    /** dvm:rsync.inplace auto: --inplace only into an empty destination module. */
    inplaceIfEmpty: "--dvm-inplace-if-empty",
    /** The destination daemon has no chroot (non-root): count the symlinks it would rewrite, per PVC, and warn. */
    countUnsafeLinks: "--dvm-count-unsafe-links",
    /** The same, but a PVC with such links fails before its copy (dvm:rsync.unsafeSymlinks: fail). */
    refuseUnsafeLinks: "--dvm-refuse-unsafe-links",
    /** dvm:rsync.parallel: `--dvm-parallel=<n>`, at most n PVCs of the pod copied at the same time (1 when absent). */
    parallel: "--dvm-parallel",
} as const;
/** Separates the options from the `<source-pvc>:<target-module>[:verify]` words in the rsync container's args. */
export const PVC_PAIRS_SEPARATOR = "--";
/** Suffix of a PVC pair whose copy compares checksums. */
export const VERIFY_SUFFIX = ":verify";

/**
 * Environment of the container scripts: name -> the default the script uses when it runs alone (the components set
 * each one explicitly). `undefined`: no default (a config value the component always passes).
 */
export const SCRIPT_ENV = {
    DVM_IPC_DIR: IPC_DIR,
    DVM_TUNNEL_PORT: String(TUNNEL_PORT),
    DVM_SOURCE_ROOT: SOURCE_ROOT,
    DVM_SECRET_DIR: SECRET_DIR,
    DVM_CONFIG_DIR: CONFIG_DIR,
    DVM_STUNNEL_WAIT_SECONDS: "600",
    DVM_BACKOFF_LIMIT: "20",
    DVM_RETRY_BASE_SECONDS: "5",
    DVM_RETRY_MAX_SECONDS: "60",
    /** dvm:debugHold: seconds a failed rsync container stays up (the stunnel sidecar with it) for `kubectl exec`. */
    DVM_DEBUG_HOLD_SECONDS: "0",
    /** MIGRATION_MODES.stage or .cutover: what an rsync exit 24 (source files vanished) means. */
    DVM_MIGRATION_MODE: "stage",
} as const;

/** The stunnel server drops a connection that has not completed its TLS handshake within this many seconds
 * (stunnel's own default is 300: idle unauthenticated connections would hold memory for five minutes). */
export const STUNNEL_BUSY_TIMEOUT_SECONDS = 10;
/** stunnel-server.sh lowers the open-file limit to this before it starts stunnel; stunnel derives its connection cap
 * from it (limit * 125 / 256 = STUNNEL_MAX_CLIENTS) and refuses connections beyond it. */
export const STUNNEL_SERVER_FD_LIMIT = 256;
export const STUNNEL_MAX_CLIENTS = Math.floor((STUNNEL_SERVER_FD_LIMIT * 125) / 256);

/** Every prefix of the scripts' own log lines: `dvm: <event> key=value ...` (one per line, nothing secret). */
export const LOG_PREFIX = "dvm: ";
/** With PVCs copied at the same time (dvm:rsync.parallel), every line of rsync's output starts with
 * `[<source pvc>] `, so the parser knows whose it is; the script's own `dvm: ` lines name their PVC in `pvc=`. */
export const PVC_OUTPUT_OPEN = "[";
export const PVC_OUTPUT_CLOSE = "] ";
/** The events each script prints, by script (PROTOCOL.md documents each one with its keys). */
export const LOG_EVENTS = {
    [SCRIPT_FILES.rsyncClient]: ["tunnel-wait", "tunnel-up", "tunnel-down", "pvc-start", "pvc-end", "usage-error", "error", "debug-hold", "done", "image-unfit"],
    [SCRIPT_FILES.stunnelClient]: ["usage-error", "stunnel-start", "stunnel-stop", "stunnel-exit", "image-unfit"],
    [SCRIPT_FILES.rsyncd]: ["usage-error", "rsyncd-start", "image-unfit"],
    [SCRIPT_FILES.stunnelServer]: ["usage-error", "stunnel-start", "image-unfit"],
    [SCRIPT_FILES.imageCheck]: ["image-unfit"],
} as const;
/** Events of the rsync container, as the progress parser reads them. */
export const EVENTS = {
    tunnelWait: "tunnel-wait",
    tunnelUp: "tunnel-up",
    tunnelDown: "tunnel-down",
    pvcStart: "pvc-start",
    pvcEnd: "pvc-end",
    usageError: "usage-error",
    /** The transfer image cannot run the scripts (image-check.sh): names dvm:transferImage. */
    imageUnfit: "image-unfit",
    error: "error",
    debugHold: "debug-hold",
    done: "done",
} as const;
/** Keys of those events the parser reads beyond pvc, target, attempt, exit, result, retry-in, warning and reason. */
export const EVENT_KEYS = {
    /** pvc-start, pvc-end: symlinks of the source PVC the destination daemon (no chroot) rewrites. */
    unsafeLinks: "unsafe-links",
    /** pvc-start, pvc-end: one of them, as `<path> -> <target>`. */
    unsafeLinkExample: "unsafe-link",
    /** debug-hold: how long the failed container stays up. */
    holdSeconds: "seconds",
} as const;
/** `result=` of a pvc-end event. */
export const PVC_RESULTS = { ok: "ok", retry: "retry", fatal: "fatal" } as const;

/** Labels on every object the program creates; the policy pack and the progress reader select on them. */
export const LABELS = {
    managedBy: "app.kubernetes.io/managed-by", // = MANAGED_BY
    partOf: "app.kubernetes.io/part-of", // = MANAGED_BY
    role: "dvm.io/role", // = ROLE_DESTINATION | ROLE_SOURCE
    wave: "dvm.io/wave", // = wave name
    namespace: "dvm.io/source-namespace", // = source namespace
    pass: "dvm.io/pass", // = pass number (source transfer only)
    migration: "dvm.io/migration", // = MIGRATION_MODES.stage | .cutover (source transfer only)
} as const;
export const MANAGED_BY = "dvm";
export const ROLE_DESTINATION = "destination-transfer";
export const ROLE_SOURCE = "source-transfer";
/** The label the Job controller puts on its pods. */
export const JOB_NAME_LABEL = "job-name";

export const ANNOTATIONS = {
    /** Destination PVCs: the capacity the wave file asked for (the policy pack checks size >= this). */
    requestedCapacity: "dvm.io/requested-capacity",
    /** Destination PVCs: the source PVC they receive (`<namespace>/<pvc>`). */
    sourcePvc: "dvm.io/source-pvc",
    /** Pod templates: a hash of scripts, config and credentials version (a change rolls the pod). */
    rollout: "dvm.io/rollout",
    /** Source and destination namespaces: which wave added the Pod Security labels (one key per wave:
     * `<this>.<wave>`, so two waves in one namespace never fight over one value). */
    psaPatchedBy: "dvm.io/psa-patched-by",
    /** Destination PVCs: `<wave> pass <n>`, the pass whose copy is about to run (set before the transfer starts). */
    copyStarted: "dvm.io/copy-started",
    /** Destination PVCs: `<wave> pass <n>`, the last pass whose copy succeeded. The volume holds a complete copy
     * when this equals copyStarted; otherwise a transfer was cut off and files may be truncated. */
    copySucceeded: "dvm.io/copy-succeeded",
    /** Every object of a wave: `<project>/<stack>`, so another stack's objects of the same name are recognised. */
    stack: "dvm.io/stack",
    /** Source workloads a cutover quiesced: the wave that did it (rollback of that wave restores them). */
    quiescedBy: "dvm.io/quiesced-by",
    /** The value before the quiesce, as MTC's migration.openshift.io/preQuiesceReplicas: Deployments, StatefulSets,
     * ReplicaSets, ReplicationControllers, DeploymentConfigs (spec.replicas, a number). */
    preQuiesceReplicas: "dvm.io/pre-quiesce-replicas",
    /** Jobs (spec.parallelism, a number; MTC keeps it in preQuiesceReplicas). */
    preQuiesceParallelism: "dvm.io/pre-quiesce-parallelism",
    /** CronJobs (spec.suspend, "true" or "false"), as MTC's migration.openshift.io/preQuiesceSuspend. */
    preQuiesceSuspend: "dvm.io/pre-quiesce-suspend",
    /** DaemonSets (the pod template's nodeSelector as JSON, "{}" for none), as MTC's
     * migration.openshift.io/preQuiesceNodeSelector. */
    preQuiesceNodeSelector: "dvm.io/pre-quiesce-node-selector",
} as const;

/** `dvm:migration`, in MTC's words: stage passes copy from running applications, the cutover stops them and runs the
 * final pass, a rollback brings them back. */
export const MIGRATION_MODES = { stage: "stage", cutover: "cutover", rollback: "rollback" } as const;

/** The node selector a quiesced DaemonSet gets (no node carries this label), as MTC's
 * migration.openshift.io/quiesceDaemonSet: quiesce. */
export const QUIESCE_NODE_SELECTOR: Readonly<Record<string, string>> = { "dvm.io/quiesce-daemonset": "quiesced" };

/** ingress-nginx passes TLS through to the backend, by SNI: the Ingress endpoint sets it, the policy pack requires it. */
export const SSL_PASSTHROUGH_ANNOTATION = "nginx.ingress.kubernetes.io/ssl-passthrough";

/** The OpenShift router admits a Route's connections only from these space-separated CIDRs (also for passthrough):
 * the Route endpoint sets it from dvm:destination.endpoint.sourceRanges; hack/clusters' test router honours it. */
export const ROUTER_IP_ALLOWLIST_ANNOTATION = "haproxy.router.openshift.io/ip_whitelist";

/** Pod Security Admission labels that admit root/privileged transfer pods. */
export const PSA_LABELS = [
    "pod-security.kubernetes.io/enforce",
    "pod-security.kubernetes.io/audit",
    "pod-security.kubernetes.io/warn",
] as const;

/** Capabilities added when `dvm:security.runAsRoot` is set (all others dropped): what rsync needs to read every
 * file and to preserve owners, groups, modes and times; rsyncd also switches ids and chroots. Nothing else. */
export const ROOT_CAPABILITIES: readonly string[] = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "SETGID", "SETUID", "SYS_CHROOT"];

/** The script `@pulumi/command` runs on the machine of `pulumi up`, once per image (components/images/scripts/). */
export const IMAGE_SCRIPT = "image-copy.sh";
/** Its environment: the program sets every one (credentials as Pulumi secrets); the script has no defaults. */
export const IMAGE_ENV = {
    /** Source and destination as `host[:port]/path:tag` or `...@sha256:...`, without a transport. */
    source: "DVM_IMAGE_SOURCE",
    destination: "DVM_IMAGE_DESTINATION",
    /** The source manifest's digest the program resolved (the trigger): the copy must land exactly this. */
    digest: "DVM_IMAGE_DIGEST",
    retries: "DVM_IMAGE_RETRIES",
    retryDelaySeconds: "DVM_IMAGE_RETRY_DELAY_SECONDS",
    srcUsername: "DVM_IMAGE_SRC_USERNAME",
    srcPassword: "DVM_IMAGE_SRC_PASSWORD",
    /** `true` / `false`. */
    srcTlsVerify: "DVM_IMAGE_SRC_TLS_VERIFY",
    /** PEM text; empty: the system's CAs only. */
    srcCaBundle: "DVM_IMAGE_SRC_CA_BUNDLE",
    dstUsername: "DVM_IMAGE_DST_USERNAME",
    dstPassword: "DVM_IMAGE_DST_PASSWORD",
    dstTlsVerify: "DVM_IMAGE_DST_TLS_VERIFY",
    dstCaBundle: "DVM_IMAGE_DST_CA_BUNDLE",
} as const;
/** The events image-copy.sh prints on stderr (`dvm: <event> key=value ...`); the last stdout line is the record. */
export const IMAGE_EVENTS = {
    attempt: "image-copy-attempt",
    retry: "image-copy-retry",
    failed: "image-copy-failed",
    done: "image-copy-done",
    usage: "usage-error",
} as const;
/** Exit code of image-copy.sh when its environment is incomplete (a bug of the program, never retried). */
export const IMAGE_EXIT_USAGE = 98;
