// Defaults of the stack config that are not option-table rows (those are in options.ts).
import type { ResourcesConfig, SecurityOptions } from "./plan";

export { DEFAULT_RSYNC, DEFAULT_RSYNC_INFO } from "./options";

export const DEFAULT_TRANSFER_IMAGE = "quay.io/konveyor/rsync-transfer:latest";

export const DEFAULT_SECURITY: SecurityOptions = {
    runAsRoot: false, superPrivileged: false, sourceSupplementalGroups: [], targetSupplementalGroups: [],
    podSecurityLabels: true,
};
export const DEFAULT_RESOURCES: ResourcesConfig = {
    rsync: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "2", memory: "1Gi" } },
    rsyncd: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "2", memory: "1Gi" } },
    stunnel: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "1", memory: "256Mi" } },
};
export const DEFAULTS = {
    stunnelWaitSeconds: 600,
    transferTimeoutMinutes: 1440,
    pass: 1,
    credentialsVersion: 1,
    /** 0 = no limit: every namespace's source transfer pod starts at once */
    maxConcurrentNamespaces: 0,
    migration: "stage" as const,
    quiesceScope: "pvcs" as const,
    quiesceTimeoutSeconds: 600,
};
