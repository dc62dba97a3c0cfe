// What the containers see: paths, ports, file names, labels and exit codes shared by the components, the container
// scripts (components/transfer/scripts/*.sh read the same values from their environment), the data-plane tests, the
// progress reader and the policy pack. Change a value here and every user follows.

/** Where the scripts ConfigMap is mounted (mode 0555). */
export const SCRIPTS_DIR = "/opt/dvm/scripts";
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

/** Keys of the scripts ConfigMap (files under components/transfer/scripts and components/transport/scripts). */
export const SCRIPT_FILES = {
    rsyncClient: "rsync-client.sh",
    stunnelClient: "stunnel-client.sh",
    rsyncd: "rsyncd.sh",
    stunnelServer: "stunnel-server.sh",
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
} as const;

/** rsync exit codes that cannot succeed on retry: syntax/usage, protocol incompatibility, unsupported action,
 * daemon start-up/auth failure. "No space left on device" is recognised from the output and also not retried. */
export const RSYNC_FATAL_EXIT_CODES = [1, 2, 4, 5] as const;

/** Labels on every object the program creates; the policy pack and the progress reader select on them. */
export const LABELS = {
    managedBy: "app.kubernetes.io/managed-by", // = "dvm"
    role: "dvm.io/role", // = "destination-transfer" | "source-transfer"
    wave: "dvm.io/wave", // = wave name
    namespace: "dvm.io/source-namespace", // = source namespace
    pass: "dvm.io/pass", // = pass number (source transfer only)
} as const;
export const ROLE_DESTINATION = "destination-transfer";
export const ROLE_SOURCE = "source-transfer";

/** Annotation on destination PVCs: the capacity the wave file asked for (the policy pack checks size >= this). */
export const ANNOTATION_REQUESTED_CAPACITY = "dvm.io/requested-capacity";
/** Annotation on destination PVCs: the source PVC they receive. */
export const ANNOTATION_SOURCE_PVC = "dvm.io/source-pvc";

/** Capabilities added when `dvm:security.runAsRoot` is set (all others dropped): what rsync needs to read every
 * file and to preserve owners, groups, modes and times; rsyncd also switches ids and chroots. Nothing else. */
export const ROOT_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "SETGID", "SETUID", "SYS_CHROOT"];
