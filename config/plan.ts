// The validated plan: plain data only (no Pulumi types), produced by config/load.ts from the stack config and
// the wave file, consumed by components/. Everything a component needs is decided here, once.

import type { ClusterAccess } from "../kube";
export type { ClusterAccess } from "../kube";

/** One of config/options.ts ENDPOINT_KINDS. */
export type EndpointType = "route" | "ingress" | "loadBalancer" | "nodePort" | "clusterIP";

export interface EndpointConfig {
    type: EndpointType;
    /** Route/Ingress host suffix: hosts are `<short-name>.<subdomain>`. */
    subdomain?: string;
    /** `route`/`ingress`: the address the source dials for the router or ingress controller, when the source cluster
     * cannot resolve the transfer hosts; the TLS SNI stays the transfer host. Unset: the transfer host itself. */
    routerAddress?: string;
    /** Ingress class for `ingress` (ingress-nginx with --enable-ssl-passthrough). */
    ingressClass?: string;
    /** Address the source reaches for `nodePort` (a destination node's IP or name). */
    nodeAddress?: string;
    /** Fixed nodePort for `nodePort` (30000-32767); unset lets Kubernetes pick. */
    nodePort?: number;
    /** CIDRs the source cluster's connections come from; unset: any address (the PSK still refuses strangers).
     * How each kind enforces them: config/options.ts ENDPOINT_KINDS `sourceRanges`. */
    sourceRanges?: string[];
}

/** `dvm:rsync.sparse`. */
export type SparseMode = "auto" | boolean;
/** `dvm:rsync.inplace`. */
export type InplaceMode = "auto" | boolean;
/** `dvm:rsync.unsafeSymlinks`. */
export type UnsafeSymlinksMode = "warn" | "fail";

export interface RsyncOptions {
    archive: boolean;
    delete: boolean;
    hardLinks: boolean;
    partial: boolean;
    /** KiB/s, 0 = unlimited. */
    bwlimit: number;
    /** The value of --info. */
    info: string;
    /** Extra plain options, already validated. */
    extras: string[];
    /** Retries after the first attempt, per PVC. */
    backoffLimit: number;
    /** Seconds before the first retry; doubles each attempt up to retryMaxDelaySeconds. */
    retryDelaySeconds: number;
    retryMaxDelaySeconds: number;
    /** Checksum comparison (--checksum) for every PVC. */
    verify: boolean;
    /** rsync --timeout: seconds without I/O before an attempt is abandoned (and retried); 0/undefined = none. */
    timeout?: number;
    /** rsync --sparse: `auto` (default) = per PVC, only when its source holds a file with holes (rsync-client.sh scans
     * before the copy); true = always (sparse files stay sparse); false = never (faster for files without holes). */
    sparse?: SparseMode;
    /** rsync --inplace: `auto` (default) = per PVC, only when the destination volume is empty (a first copy: no
     * temporary file + rename per file) and the PVC is not copied with --sparse; true = always (also on later
     * passes: no second copy of a changed large file on the destination, but a hard-link group split on the source
     * then changes every name of it; dropped with --sparse on rsync < 3.3.0); false = never. */
    inplace?: InplaceMode;
    /** Symlinks a destination daemon without chroot (non-root) rewrites: `warn` (default) = count them per PVC and
     * report them in the record; `fail` = a PVC holding any fails before its copy. Nothing to do as root. */
    unsafeSymlinks?: UnsafeSymlinksMode;
    /** PVCs of a namespace copied at the same time, each by its own rsync (1 = one after the other). */
    parallel?: number;
}

export interface SecurityOptions {
    runAsRoot: boolean;
    runAsUser?: number;
    runAsGroup?: number;
    superPrivileged: boolean;
    sourceSupplementalGroups: number[];
    targetSupplementalGroups: number[];
    /** Label the wave's namespaces `pod-security.kubernetes.io/*=privileged` when root/privileged is asked for. */
    podSecurityLabels: boolean;
}

export interface ResourceRequirements {
    requests: { cpu: string; memory: string };
    limits: { cpu: string; memory: string };
}

export interface ResourcesConfig {
    rsync: ResourceRequirements;
    rsyncd: ResourceRequirements;
    stunnel: ResourceRequirements;
}

/** `dvm:migration` (contract MIGRATION_MODES): stage passes copy from running applications; a cutover quiesces the
 * source workloads that mount the wave's PVCs and runs the final pass; a rollback restores them. */
export type MigrationMode = "stage" | "cutover" | "rollback";

/** `dvm:quiesce`: what a cutover stops and how long it waits for their pods to go. */
export interface QuiesceOptions {
    /** `pvcs`: the workloads whose pods mount a PVC of the wave; `namespace`: every workload of the namespace (MTC). */
    scope: "pvcs" | "namespace";
    /** How long the cutover waits until no pod mounts a PVC of the wave. */
    timeoutSeconds: number;
}

export interface PvcPlan {
    /** Source PVC name (read, never managed). */
    source: string;
    /** Destination PVC name. */
    target: string;
    capacity: string;
    accessModes: string[];
    /** Destination storage class; undefined = the destination cluster's default. */
    storageClass?: string;
    /** Checksum comparison for this PVC. */
    verify: boolean;
}

export interface NamespacePlan {
    /** Source namespace. */
    source: string;
    /** Destination namespace. */
    target: string;
    /** Node the source transfer pod must run on (RWO volumes in use there). */
    nodeName?: string;
    /** Empty for a namespace that only moves images. */
    pvcs: PvcPlan[];
    /** Images the wave file lists (`app/web:1.4`, relative to dvm:images.source.registry); see images.ts. */
    images?: WaveImage[];
}

export interface Plan {
    wave: { name: string; file: string };
    source: ClusterAccess;
    destination: ClusterAccess & { endpoint: EndpointConfig };
    transferImage: string;
    rsync: RsyncOptions;
    security: SecurityOptions;
    resources: ResourcesConfig;
    stunnelWaitSeconds: number;
    /** How long `pulumi up` waits for one namespace's transfer before giving up. */
    transferTimeoutMinutes: number;
    /** Bumping it replaces the source transfer Jobs: another (incremental) pass of the same wave. */
    pass: number;
    /** Bumping it regenerates every tunnel key and rsync password. */
    credentialsVersion: number;
    /** Directory to write manifests to instead of applying them (no cluster needed). */
    render?: string;
    /** dvm:debugHold: seconds a failed source transfer pod stays up for `kubectl exec` (0 = none). */
    debugHoldSeconds: number;
    /** At most this many namespaces' source transfer pods at a time (0 = no limit): the rest wait their turn. */
    maxConcurrentNamespaces: number;
    /** `dvm:images`: registries to copy the namespaces' images between; unset = no image migration. */
    images?: ImagesConfig;
    /** Stage (default), cutover or rollback. */
    migration: MigrationMode;
    quiesce: QuiesceOptions;
    namespaces: NamespacePlan[];
}

/** One registry of `dvm:images` (source or destination). */
export interface RegistryConfig {
    /** `host[:port][/path]`, no scheme: what skopeo connects to. */
    registry: string;
    /** Credentials (from Pulumi secrets); unset = anonymous. */
    username?: string;
    password?: string;
    /** Verify the registry's TLS certificate (default true). */
    tlsVerify: boolean;
    /** PEM CA certificates trusted for this registry in addition to the system's (read from a file at load). */
    caBundle?: string;
}

export interface ImagesConfig {
    source: RegistryConfig & {
        /** Other names cluster objects use for the source registry (OpenShift's internal service name). */
        aliases: string[];
    };
    destination: RegistryConfig;
    /** Copy the ImageStream tags of each namespace: `auto` = when the source cluster serves image.openshift.io/v1. */
    discover: "auto" | boolean;
    /** Copy retries per image after the first attempt; the delay doubles from retryDelaySeconds. */
    retries: number;
    retryDelaySeconds: number;
}

/** An image the wave file lists for a namespace: `<repository>:<tag>` relative to the source registry. */
export interface WaveImage {
    /** Repository path below dvm:images.source.registry, e.g. `app/web`. */
    repository: string;
    tag: string;
}
