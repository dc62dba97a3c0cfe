// The program's contract as the policy pack sees it. The pack is published and run on its own (`pulumi policy
// publish` packs only this directory), so it cannot import components/layout.ts; test/unit/policies.test.ts reads
// both and fails when they drift apart.

/** Labels every object of a wave carries (components/layout.ts LABELS). */
export const LABELS = {
    managedBy: "app.kubernetes.io/managed-by",
    role: "dvm.io/role",
    wave: "dvm.io/wave",
    namespace: "dvm.io/source-namespace",
} as const;
export const ROLE_DESTINATION = "destination-transfer";
export const ROLE_SOURCE = "source-transfer";

/** Destination PVC annotations. */
export const ANNOTATION_REQUESTED_CAPACITY = "dvm.io/requested-capacity";
export const ANNOTATION_SOURCE_PVC = "dvm.io/source-pvc";

/** Source PVCs are mounted (read-only) under this directory. */
export const SOURCE_ROOT = "/mnt/source";
/** rsyncd listens on 127.0.0.1:RSYNCD_PORT inside the destination pod; nothing may expose it. */
export const RSYNCD_PORT = 8873;
/** The rsyncd user (rsyncd `secrets file` lines are `<RSYNC_USER>:<password>`). */
export const RSYNC_USER = "dvm";
/** File names of the credentials Secret: these belong in a Secret, never in a ConfigMap. */
export const SECRET_FILE_NAMES = ["stunnel.psk", "rsync.password", "rsyncd.secrets"] as const;

/**
 * The documented default of `allowedCapabilities`: what root mode (`dvm:security.runAsRoot`) adds to the transfer
 * containers after dropping ALL. Equal to components/layout.ts ROOT_CAPABILITIES.
 */
export const DEFAULT_ALLOWED_CAPABILITIES: readonly string[] = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "SETGID", "SETUID", "SYS_CHROOT",
];

/** Pod Security Admission labels that admit root/privileged transfer pods. */
export const PSA_LABELS = [
    "pod-security.kubernetes.io/enforce",
    "pod-security.kubernetes.io/audit",
    "pod-security.kubernetes.io/warn",
] as const;
