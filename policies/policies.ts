// The dvm policies: transfer pods get no more privilege than the pack's configuration allows, and a wave has the
// shape the program promises. Constructing a PolicyPack starts serving, so the pack (index.ts) only wraps this
// module and the tests call these policies directly.
//
// Pod-spec policies apply to every resource that carries a pod spec (Pod, Deployment, StatefulSet, DaemonSet,
// ReplicaSet, Job, CronJob, PodTemplate, custom resources with spec.template.spec, their *Patch and *List forms):
// a dvm stack creates nothing but transfer pods, and a different wrapper kind must not slip past.
//
// Single-resource facts (PVC capacity, endpoint passthrough, ConfigMap contents) are resource policies, not stack
// policies: resource policies run before each resource is created, also during `pulumi up`, whereas stack policies
// run after the update. Only the checks that need to see several resources at once are stack policies.

import {
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
    UnknownValueError,
} from "@pulumi/policy";
import {
    ANNOTATIONS,
    LABELS,
    PSA_LABELS,
    ROLE_DESTINATION,
    ROLE_SOURCE,
    RSYNCD_PORT,
    RSYNC_USER,
    SECRET_FILE_NAMES,
    SOURCE_ROOT,
    ROOT_CAPABILITIES as DEFAULT_ALLOWED_CAPABILITIES,
} from "../contract";
import { compareQuantities, parseQuantity } from "./quantity";
import {
    ContainerRef,
    PodSpecRef,
    containersOf,
    describe,
    effective,
    isObject,
    kindOf,
    labelsOf,
    normalizeCapability,
    podSpecsOf,
} from "./workloads";

const ANNOTATION_REQUESTED_CAPACITY = ANNOTATIONS.requestedCapacity;

/** The pack's knobs. Each policy reads the ones it needs from its own entry of the pack config file. */
export interface PackConfig {
    /** Allow `privileged: true` (MTC migration_rsync_privileged). */
    allowPrivileged: boolean;
    /** Allow SELinux type spc_t, and privileged with it (MTC migration_rsync_super_privileged). */
    allowSuperPrivileged: boolean;
    /** Allow transfer containers to run as root (dvm:security.runAsRoot). */
    allowRoot: boolean;
    /** Capabilities a container may add, only when root is allowed. */
    allowedCapabilities: string[];
    /** Namespaces labelled privileged outside this stack (PSA labels managed by the cluster admin). */
    privilegedNamespaces: string[];
}

export const PACK_DEFAULTS: Readonly<PackConfig> = Object.freeze({
    allowPrivileged: false,
    allowSuperPrivileged: false,
    allowRoot: false,
    allowedCapabilities: [...DEFAULT_ALLOWED_CAPABILITIES],
    privilegedNamespaces: [],
});

const SCHEMA: Record<keyof PackConfig, PolicyConfigSchema["properties"][string]> = {
    allowPrivileged: {
        type: "boolean",
        default: false,
        description: "Allow privileged: true in transfer containers (MTC migration_rsync_privileged).",
    },
    allowSuperPrivileged: {
        type: "boolean",
        default: false,
        description: "Allow SELinux type spc_t and privileged: true (MTC migration_rsync_super_privileged).",
    },
    allowRoot: {
        type: "boolean",
        default: false,
        description: "Allow transfer containers to run as root (dvm:security.runAsRoot).",
    },
    allowedCapabilities: {
        type: "array",
        items: { type: "string", pattern: "^[A-Za-z_]+$" },
        default: [...DEFAULT_ALLOWED_CAPABILITIES],
        description: "Capabilities a transfer container may add (only when allowRoot is true).",
    },
    privilegedNamespaces: {
        type: "array",
        items: { type: "string" },
        default: [],
        description: "Namespaces already labelled pod-security.kubernetes.io/*=privileged outside this stack.",
    },
};

function schema(...keys: (keyof PackConfig)[]): PolicyConfigSchema {
    const properties: PolicyConfigSchema["properties"] = {};
    for (const k of keys) {
        properties[k] = SCHEMA[k];
    }
    return { properties };
}

/**
 * The policy's configuration with the pack defaults filled in (the engine fills them too; tests may not). The engine
 * validates the config file against each policy's schema first; this repeats the check so that a wrong value can
 * never be read as "allowed".
 */
export function configOf(policy: string, args: { getConfig<T extends object>(): T }): PackConfig {
    const given = (args.getConfig<Partial<PackConfig>>() ?? {}) as Record<string, unknown>;
    const cfg: PackConfig = { ...PACK_DEFAULTS, allowedCapabilities: [...PACK_DEFAULTS.allowedCapabilities] };
    for (const k of Object.keys(PACK_DEFAULTS) as (keyof PackConfig)[]) {
        const v = given[k];
        if (v === undefined || v === null) {
            continue;
        }
        const isList = Array.isArray(PACK_DEFAULTS[k]);
        const ok = isList ? Array.isArray(v) && v.every((x) => typeof x === "string") : typeof v === "boolean";
        if (!ok) {
            const example = isList ? (k === "allowedCapabilities" ? ["CHOWN", "SETUID"] : ["app-3"]) : true;
            throw new Error(`policy pack config: "${policy}".${k} is ${JSON.stringify(v)}, but must be ` +
                `${isList ? "a list of strings" : "true or false"}; example: ${configHint(policy, { [k]: example })}`);
        }
        (cfg as any)[k] = v;
    }
    return cfg;
}

const configHint = (policy: string, props: Record<string, unknown>) => JSON.stringify({ [policy]: props });

type PodCheck = (ref: PodSpecRef, cfg: PackConfig, report: (msg: string) => void, subject: string) => void;

interface PodPolicyArgs {
    name: string;
    description: string;
    enforcementLevel: EnforcementLevel;
    remediationSteps: string;
    config?: (keyof PackConfig)[];
    check: PodCheck;
}

/** A resource policy judging every pod spec of a resource. */
function podPolicy(p: PodPolicyArgs): ResourceValidationPolicy {
    return {
        name: p.name,
        description: p.description,
        enforcementLevel: p.enforcementLevel,
        severity: "high",
        remediationSteps: p.remediationSteps,
        configSchema: p.config ? schema(...p.config) : undefined,
        validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
            const refs = podSpecsOf(args.type, args.props);
            if (refs.length === 0) {
                return;
            }
            const cfg = configOf(p.name, args);
            const subject = describe(args.type, args.name, args.props);
            for (const ref of refs) {
                const where = refs.length > 1 ? `${subject} (${ref.path})` : subject;
                p.check(ref, cfg, (msg) => reportViolation(msg), where);
            }
        },
    };
}

const sc = (c: ContainerRef, field: string): any => c.c?.securityContext?.[field];

// ---------------------------------------------------------------------------------------------------------------
// Privilege rules (mandatory by default)

export const transferPrivileged = podPolicy({
    name: "transfer-privileged",
    description: "Transfer containers are not privileged unless the pack allows privileged transfers.",
    enforcementLevel: "mandatory",
    remediationSteps: "Run without dvm:security.superPrivileged, or set allowPrivileged in the pack config.",
    config: ["allowPrivileged", "allowSuperPrivileged"],
    check: (ref, cfg, report, subject) => {
        if (cfg.allowPrivileged || cfg.allowSuperPrivileged) {
            return;
        }
        for (const c of containersOf(ref)) {
            if (sc(c, "privileged") === true) {
                report(`${subject}, ${c.label}: securityContext.privileged is true, but this pack does not allow ` +
                    `privileged transfers. Fix: remove ${c.path}.securityContext.privileged (run without ` +
                    `dvm:security.superPrivileged), or allow them in the pack config file: ` +
                    `${configHint("transfer-privileged", { allowPrivileged: true })} (MTC migration_rsync_privileged).`);
            }
        }
    },
});

export const transferSelinuxSpcT = podPolicy({
    name: "transfer-selinux-spc-t",
    description: "The SELinux type spc_t (super-privileged container) is used only when super-privileged transfers are allowed.",
    enforcementLevel: "mandatory",
    remediationSteps: "Run without dvm:security.superPrivileged, or set allowSuperPrivileged in the pack config.",
    config: ["allowSuperPrivileged"],
    check: (ref, cfg, report, subject) => {
        if (cfg.allowSuperPrivileged) {
            return;
        }
        const fix = `Fix: run without dvm:security.superPrivileged, or allow super-privileged transfers in the pack ` +
            `config file: ${configHint("transfer-selinux-spc-t", { allowSuperPrivileged: true })} ` +
            `(MTC migration_rsync_super_privileged).`;
        if (ref.spec.securityContext?.seLinuxOptions?.type === "spc_t") {
            report(`${subject}: pod securityContext.seLinuxOptions.type is spc_t (super-privileged), which this pack ` +
                `does not allow. ${fix}`);
        }
        for (const c of containersOf(ref)) {
            if (sc(c, "seLinuxOptions")?.type === "spc_t") {
                report(`${subject}, ${c.label}: securityContext.seLinuxOptions.type is spc_t (super-privileged), ` +
                    `which this pack does not allow. ${fix}`);
            }
        }
    },
});

export const transferRunAsNonRoot = podPolicy({
    name: "transfer-run-as-non-root",
    description: "Transfer containers run as non-root (runAsNonRoot: true, runAsUser not 0) unless root is allowed.",
    enforcementLevel: "mandatory",
    remediationSteps: "Leave dvm:security.runAsRoot unset, or set allowRoot in the pack config.",
    config: ["allowRoot"],
    check: (ref, cfg, report, subject) => {
        if (cfg.allowRoot) {
            return;
        }
        const fix = `Fix: leave dvm:security.runAsRoot unset (the default: runAsNonRoot: true), or allow root ` +
            `transfers in the pack config file: ${configHint("transfer-run-as-non-root", { allowRoot: true })}.`;
        for (const c of containersOf(ref)) {
            const user = effective(ref, c.c, "runAsUser");
            const nonRoot = effective(ref, c.c, "runAsNonRoot");
            if (user === 0) {
                report(`${subject}, ${c.label}: runs as root (runAsUser: 0), which this pack does not allow. ${fix}`);
            } else if (nonRoot === false || (!ref.partial && nonRoot !== true)) {
                const why = nonRoot === false ? "runAsNonRoot is false" : "runAsNonRoot is not set";
                const who = user === undefined ? "no runAsUser is set, so the image's user (root for most images) runs"
                    : `runAsUser is ${user}`;
                report(`${subject}, ${c.label}: ${why} and ${who}; without runAsNonRoot: true the kubelet does not ` +
                    `refuse a root user. Set securityContext.runAsNonRoot: true on the pod. ${fix}`);
            }
        }
    },
});

export const transferCapabilities = podPolicy({
    name: "transfer-capabilities",
    description: "Transfer containers drop ALL capabilities and add only the documented set, only when root is allowed.",
    enforcementLevel: "mandatory",
    remediationSteps: "Drop ALL; add capabilities only in root mode and only from allowedCapabilities.",
    config: ["allowRoot", "allowedCapabilities"],
    check: (ref, cfg, report, subject) => {
        const allowed = new Set(cfg.allowedCapabilities.map(normalizeCapability));
        for (const c of containersOf(ref)) {
            if (sc(c, "privileged") === true) {
                continue; // a privileged container has every capability whatever it lists: transfer-privileged judges it
            }
            const caps = sc(c, "capabilities");
            const drop = caps?.drop;
            if (!ref.partial || drop !== undefined) {
                if (!(Array.isArray(drop) && drop.some((d: unknown) => d === "ALL"))) {
                    report(`${subject}, ${c.label}: does not drop ALL capabilities. Fix: set ` +
                        `${c.path}.securityContext.capabilities.drop: ["ALL"].`);
                }
            }
            const add: string[] = Array.isArray(caps?.add) ? caps.add.map(String) : [];
            if (add.length === 0) {
                continue;
            }
            if (!cfg.allowRoot) {
                report(`${subject}, ${c.label}: adds capabilities ${add.join(", ")}, but root transfers are not ` +
                    `allowed, so none may be added. Fix: remove ${c.path}.securityContext.capabilities.add (leave ` +
                    `dvm:security.runAsRoot unset), or allow root transfers in the pack config file: ` +
                    `${configHint("transfer-capabilities", { allowRoot: true })}.`);
                continue;
            }
            const extra = add.filter((a) => !allowed.has(normalizeCapability(a)));
            if (extra.length > 0) {
                report(`${subject}, ${c.label}: adds capabilities ${extra.join(", ")}, which are not in ` +
                    `allowedCapabilities [${[...allowed].join(", ")}]. Fix: remove them from ` +
                    `${c.path}.securityContext.capabilities.add, or extend the pack config file: ` +
                    `${configHint("transfer-capabilities", {
                        allowRoot: true,
                        allowedCapabilities: [...allowed, ...extra.map(normalizeCapability)],
                    })}.`);
            }
        }
    },
});

export const transferNoPrivilegeEscalation = podPolicy({
    name: "transfer-no-privilege-escalation",
    description: "Transfer containers set allowPrivilegeEscalation: false (privileged containers excepted: Kubernetes rejects the combination).",
    enforcementLevel: "mandatory",
    remediationSteps: "Set securityContext.allowPrivilegeEscalation: false on every container.",
    check: (ref, _cfg, report, subject) => {
        for (const c of containersOf(ref)) {
            if (sc(c, "privileged") === true) {
                continue; // judged by transfer-privileged
            }
            const ape = sc(c, "allowPrivilegeEscalation");
            if (ape === true || (!ref.partial && ape !== false)) {
                report(`${subject}, ${c.label}: allowPrivilegeEscalation is ${ape === undefined ? "not set (defaults to true)" : ape}. ` +
                    `Fix: set ${c.path}.securityContext.allowPrivilegeEscalation: false.`);
            }
        }
    },
});

const SECCOMP_OK = new Set(["RuntimeDefault", "Localhost"]);

export const transferSeccomp = podPolicy({
    name: "transfer-seccomp-runtime-default",
    description: "Transfer containers run under the RuntimeDefault (or a Localhost) seccomp profile.",
    enforcementLevel: "mandatory",
    remediationSteps: "Set securityContext.seccompProfile.type: RuntimeDefault on the pod.",
    check: (ref, _cfg, report, subject) => {
        for (const c of containersOf(ref)) {
            const type = effective(ref, c.c, "seccompProfile")?.type;
            if (type === undefined && ref.partial) {
                continue;
            }
            if (!SECCOMP_OK.has(type)) {
                report(`${subject}, ${c.label}: seccomp profile is ${type === undefined ? "not set (Unconfined on most runtimes)" : type}. ` +
                    `Fix: set ${ref.path}.securityContext.seccompProfile.type: RuntimeDefault.`);
            }
        }
    },
});

export const transferNoHostAccess = podPolicy({
    name: "transfer-no-host-access",
    description: "Transfer pods use no host namespaces (hostNetwork, hostPID, hostIPC), hostPath volumes or hostPorts.",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove hostNetwork/hostPID/hostIPC, hostPath volumes and hostPort from the pod.",
    check: (ref, _cfg, report, subject) => {
        for (const f of ["hostNetwork", "hostPID", "hostIPC"]) {
            if (ref.spec[f] === true) {
                report(`${subject}: ${f} is true; transfer pods never share the node's namespaces. ` +
                    `Fix: remove ${ref.path}.${f}.`);
            }
        }
        const volumes = ref.spec.volumes;
        if (Array.isArray(volumes)) {
            volumes.forEach((v: any, i: number) => {
                if (v?.hostPath !== undefined) {
                    report(`${subject}: volume "${v?.name ?? i}" is a hostPath (${v.hostPath?.path ?? "?"}); transfer ` +
                        `pods read and write PVCs only. Fix: remove ${ref.path}.volumes[${i}].`);
                }
            });
        }
        for (const c of containersOf(ref)) {
            const ports = c.c?.ports;
            if (!Array.isArray(ports)) {
                continue;
            }
            for (const p of ports) {
                if (p?.hostPort !== undefined && p.hostPort !== 0) {
                    report(`${subject}, ${c.label}: port ${p.containerPort} is bound to hostPort ${p.hostPort}. ` +
                        `Fix: remove hostPort; the endpoint (Route, Ingress or Service) exposes the stunnel port.`);
                }
            }
        }
    },
});

export const transferResources = podPolicy({
    name: "transfer-resources",
    description: "Every transfer container has CPU and memory requests and limits.",
    enforcementLevel: "mandatory",
    remediationSteps: "Set dvm:resources (rsync, rsyncd, stunnel: requests and limits of cpu and memory).",
    check: (ref, _cfg, report, subject) => {
        if (ref.partial) {
            return;
        }
        for (const c of containersOf(ref)) {
            if (c.label.startsWith("ephemeral")) {
                continue; // ephemeral containers cannot carry resources
            }
            const res = c.c?.resources;
            const missing: string[] = [];
            for (const kind of ["requests", "limits"]) {
                for (const r of ["cpu", "memory"]) {
                    const v = res?.[kind]?.[r];
                    if (v === undefined || v === null || v === "") {
                        missing.push(`${kind}.${r}`);
                    }
                }
            }
            if (missing.length > 0) {
                report(`${subject}, ${c.label}: resources ${missing.join(", ")} not set. Fix: set them under ` +
                    `${c.path}.resources (dvm:resources, e.g. {"rsync": {"requests": {"cpu": "100m", "memory": "128Mi"}, ` +
                    `"limits": {"cpu": "1", "memory": "1Gi"}}}).`);
            }
        }
    },
});

function underSourceRoot(path: unknown): boolean {
    return typeof path === "string" && (path === SOURCE_ROOT || path.startsWith(SOURCE_ROOT + "/"));
}

export const transferSourceReadOnly = podPolicy({
    name: "transfer-source-read-only",
    description: "Source PVCs are attached read-only (persistentVolumeClaim.readOnly) and mounted read-only.",
    enforcementLevel: "mandatory",
    remediationSteps: "Set persistentVolumeClaim.readOnly: true and volumeMounts[].readOnly: true for source PVCs.",
    check: (ref, _cfg, report, subject) => {
        const isSource = ref.labels[LABELS.role] === ROLE_SOURCE;
        const volumes: any[] = Array.isArray(ref.spec.volumes) ? ref.spec.volumes : [];
        const pvcVolumes = new Map<string, { index: number; v: any }>();
        volumes.forEach((v, index) => {
            if (v?.persistentVolumeClaim !== undefined) {
                pvcVolumes.set(String(v.name), { index, v });
            }
        });
        // Volumes that hold source data: every PVC of a source transfer pod, and whatever is mounted under SOURCE_ROOT.
        const sourceVolumes = new Set<string>(isSource ? pvcVolumes.keys() : []);
        const containers = containersOf(ref);
        for (const c of containers) {
            const mounts = c.c?.volumeMounts;
            if (Array.isArray(mounts)) {
                for (const m of mounts) {
                    if (underSourceRoot(m?.mountPath)) {
                        sourceVolumes.add(String(m.name));
                    }
                }
            }
        }
        for (const name of sourceVolumes) {
            const pvc = pvcVolumes.get(name);
            if (!pvc) {
                continue;
            }
            const ro = pvc.v.persistentVolumeClaim?.readOnly;
            if (ro === false || (!ref.partial && ro !== true)) {
                report(`${subject}: source volume "${name}" (claim "${pvc.v.persistentVolumeClaim?.claimName}") is ` +
                    `attached read-write. Fix: set ${ref.path}.volumes[${pvc.index}].persistentVolumeClaim.readOnly: true.`);
            }
        }
        for (const c of containers) {
            const mounts = c.c?.volumeMounts;
            if (!Array.isArray(mounts)) {
                continue;
            }
            mounts.forEach((m: any, i: number) => {
                if (!sourceVolumes.has(String(m?.name))) {
                    return;
                }
                const ro = m.readOnly;
                if (ro === false || (!ref.partial && ro !== true)) {
                    report(`${subject}, ${c.label}: source volume "${m.name}" is mounted read-write at ${m.mountPath}. ` +
                        `Fix: set ${c.path}.volumeMounts[${i}].readOnly: true.`);
                }
            });
        }
    },
});

export const transferReadOnlyRootFilesystem = podPolicy({
    name: "transfer-read-only-root-filesystem",
    description: "Transfer containers have a read-only root filesystem (scratch goes to /tmp).",
    enforcementLevel: "advisory",
    remediationSteps: "Set securityContext.readOnlyRootFilesystem: true on every container.",
    check: (ref, _cfg, report, subject) => {
        if (ref.partial) {
            return;
        }
        for (const c of containersOf(ref)) {
            if (sc(c, "readOnlyRootFilesystem") !== true) {
                report(`${subject}, ${c.label}: the root filesystem is writable. ` +
                    `Fix: set ${c.path}.securityContext.readOnlyRootFilesystem: true.`);
            }
        }
    },
});

export const transferNoServiceAccountToken = podPolicy({
    name: "transfer-no-service-account-token",
    description: "Transfer pods do not mount a Kubernetes API token (automountServiceAccountToken: false): rsync and stunnel never call the API.",
    enforcementLevel: "advisory",
    remediationSteps: "Set automountServiceAccountToken: false on the pod spec.",
    check: (ref, _cfg, report, subject) => {
        const automount = ref.spec.automountServiceAccountToken;
        if (automount === true || (!ref.partial && automount !== false)) {
            report(`${subject}: automountServiceAccountToken is ${automount === undefined ? "not set (a token is mounted by default)" : automount}; ` +
                `a compromised transfer container could use the token against the API. ` +
                `Fix: set ${ref.path}.automountServiceAccountToken: false.`);
        }
    },
});

// ---------------------------------------------------------------------------------------------------------------
// Wave shape: single resources

export const pvcCapacityCoversWave = {
    name: "pvc-capacity-covers-wave",
    description: "Every destination PVC requests at least the capacity the wave file asks for (dvm.io/requested-capacity).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Make spec.resources.requests.storage >= the wave file's capacity for that PVC.",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (kindOf(args.type) !== "PersistentVolumeClaim") {
            return;
        }
        const subject = describe(args.type, args.name, args.props);
        const wanted = args.props.metadata?.annotations?.[ANNOTATION_REQUESTED_CAPACITY];
        const storage = args.props.spec?.resources?.requests?.storage;
        if (wanted === undefined) {
            reportViolation(`${subject}: has no ${ANNOTATION_REQUESTED_CAPACITY} annotation, so its size cannot be ` +
                `checked against the wave file. Fix: annotate it with the wave file's capacity, e.g. ` +
                `metadata.annotations["${ANNOTATION_REQUESTED_CAPACITY}"]: "10Gi".`);
            return;
        }
        const want = parseQuantity(wanted);
        if (!want) {
            reportViolation(`${subject}: annotation ${ANNOTATION_REQUESTED_CAPACITY} is ${JSON.stringify(wanted)}, ` +
                `not a Kubernetes quantity. Fix: use the wave file's capacity, e.g. "10Gi".`);
            return;
        }
        const have = parseQuantity(storage);
        if (!have) {
            reportViolation(`${subject}: spec.resources.requests.storage is ${storage === undefined ? "not set" : JSON.stringify(storage)}` +
                `. Fix: request at least ${wanted}, e.g. spec.resources.requests.storage: "${wanted}".`);
            return;
        }
        if (compareQuantities(have, want) < 0) {
            reportViolation(`${subject}: requests ${storage} but the wave file asks for ${wanted}; the data would not fit. ` +
                `Fix: set spec.resources.requests.storage to at least "${wanted}" (the wave file's pvcs[].capacity).`);
        }
    },
} satisfies ResourceValidationPolicy;

const PASSTHROUGH_ANNOTATION = "nginx.ingress.kubernetes.io/ssl-passthrough";

function portTargetsRsyncd(port: any): boolean {
    const target = port?.targetPort ?? port?.port;
    return target === RSYNCD_PORT || target === String(RSYNCD_PORT) || target === "rsyncd";
}

export const endpointTlsPassthrough = {
    name: "endpoint-tls-passthrough",
    description: "The endpoint passes TLS through to stunnel (Route tls.termination: passthrough, Ingress ssl-passthrough) and never exposes rsyncd.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Route: spec.tls.termination: passthrough. Ingress: annotation nginx.ingress.kubernetes.io/ssl-passthrough: \"true\". Service: target the stunnel port only.",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const kind = kindOf(args.type);
        const subject = describe(args.type, args.name, args.props);
        if (kind === "Route" && args.type.includes("route.openshift.io")) {
            const termination = args.props.spec?.tls?.termination;
            if (termination !== "passthrough") {
                reportViolation(`${subject}: spec.tls.termination is ${termination === undefined ? "not set" : JSON.stringify(termination)}; ` +
                    `the router would terminate or refuse the stunnel TLS session. Fix: set spec.tls.termination: ` +
                    `passthrough (and no certificate on the Route).`);
            }
        } else if (kind === "Ingress") {
            const value = args.props.metadata?.annotations?.[PASSTHROUGH_ANNOTATION];
            if (value !== "true") {
                reportViolation(`${subject}: annotation ${PASSTHROUGH_ANNOTATION} is ${value === undefined ? "missing" : JSON.stringify(value)}; ` +
                    `ingress-nginx would terminate the stunnel TLS session. Fix: set metadata.annotations` +
                    `["${PASSTHROUGH_ANNOTATION}"]: "true" (ingress-nginx runs with --enable-ssl-passthrough).`);
            }
        } else if (kind === "Service" || kind === "ServicePatch") {
            const ports = args.props.spec?.ports;
            if (Array.isArray(ports)) {
                ports.forEach((p: any, i: number) => {
                    if (portTargetsRsyncd(p)) {
                        reportViolation(`${subject}: spec.ports[${i}] targets the rsync daemon port ${RSYNCD_PORT}, which ` +
                            `speaks plain text. Fix: target the stunnel port only (rsyncd listens on 127.0.0.1).`);
                    }
                });
            }
        }
    },
} satisfies ResourceValidationPolicy;

/** What key material looks like, by the file formats the transfer pods use. */
const KEY_MATERIAL: { what: string; re: RegExp }[] = [
    { what: "a PEM private key", re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/ },
    { what: "a stunnel PSK line (identity:hex key)", re: /^[ \t]*[^\s:#;=]+:[0-9A-Fa-f]{32,}[ \t]*$/m },
    { what: `an rsyncd secrets line (${RSYNC_USER}:password)`, re: new RegExp(`^[ \\t]*${RSYNC_USER}:\\S+[ \\t]*$`, "m") },
    { what: "a bare hex key or password line", re: /^[ \t]*[0-9A-Fa-f]{32,}[ \t]*$/m },
];

export const configMapNoKeyMaterial = {
    name: "configmap-no-key-material",
    description: "No ConfigMap carries key material (private keys, PSK lines, rsyncd secrets); it belongs in a Secret.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Move the value into the credentials Secret and reference it by path.",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const kind = kindOf(args.type);
        if (kind !== "ConfigMap" && kind !== "ConfigMapPatch") {
            return;
        }
        const subject = describe(args.type, args.name, args.props);
        const fix = "Fix: put it in the credentials Secret (mounted at /etc/dvm/secret) and reference the file by path; " +
            "rotate the exposed credentials (bump dvm:credentialsVersion).";
        for (const field of ["data", "binaryData"]) {
            const data = args.props[field];
            if (!isObject(data)) {
                continue;
            }
            for (const key of Object.keys(data)) {
                const raw = data[key];
                if (typeof raw !== "string") {
                    continue;
                }
                const text = field === "binaryData" ? Buffer.from(raw, "base64").toString("latin1") : raw;
                // Never echo the value: the message ends up in logs.
                if ((SECRET_FILE_NAMES as readonly string[]).includes(key)) {
                    reportViolation(`${subject}: ${field} key "${key}" is a credentials file. ${fix}`);
                    continue;
                }
                const hit = KEY_MATERIAL.find((k) => k.re.test(text));
                if (hit) {
                    reportViolation(`${subject}: ${field} key "${key}" contains ${hit.what}. ${fix}`);
                }
            }
        }
    },
} satisfies ResourceValidationPolicy;

// ---------------------------------------------------------------------------------------------------------------
// Wave shape: stack policies

/** Runs a stack check per resource; values unknown during preview skip that resource and are re-raised at the end
 * (the engine turns that into an advisory "can't run during preview"), after the violations found in the rest. */
function eachResource(args: StackValidationArgs, fn: (r: PolicyResource) => void): void {
    let firstUnknown: UnknownValueError | undefined;
    for (const r of args.resources) {
        try {
            fn(r);
        } catch (e) {
            if (e instanceof UnknownValueError) {
                firstUnknown = firstUnknown ?? e;
            } else {
                throw e;
            }
        }
    }
    if (firstUnknown) {
        throw firstUnknown;
    }
}

export const waveOneTransferPodPerNamespace = {
    name: "wave-one-transfer-pod-per-namespace",
    description: "Each namespace of the wave has exactly one destination transfer pod and one source transfer pod, and the stack runs no other pods.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "One Deployment (1 replica) per destination namespace and one Job (parallelism 1) per source namespace, labelled dvm.io/role and dvm.io/source-namespace.",
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        const counts = new Map<string, { [ROLE_DESTINATION]: number; [ROLE_SOURCE]: number }>();
        eachResource(args, (r) => {
            for (const ref of podSpecsOf(r.type, r.props)) {
                if (ref.partial) {
                    continue; // a patch of an existing workload starts no pod of ours
                }
                const subject = describe(r.type, r.name, r.props);
                const role = ref.labels[LABELS.role];
                const ns = ref.labels[LABELS.namespace];
                if (role !== ROLE_DESTINATION && role !== ROLE_SOURCE) {
                    reportViolation(`${subject}: runs pods that are not dvm transfer pods (pod label ${LABELS.role} is ` +
                        `${role === undefined ? "missing" : JSON.stringify(role)}); a wave runs only "${ROLE_DESTINATION}" ` +
                        `and "${ROLE_SOURCE}" pods. Fix: remove it from the stack, or label its pod template ` +
                        `${LABELS.role}: ${ROLE_DESTINATION} | ${ROLE_SOURCE}.`, r.urn);
                    continue;
                }
                if (ns === undefined) {
                    reportViolation(`${subject}: the ${role} pod has no ${LABELS.namespace} label, so it cannot be ` +
                        `counted for its namespace. Fix: label its pod template ${LABELS.namespace}: <source namespace>.`, r.urn);
                    continue;
                }
                const entry = counts.get(ns) ?? { [ROLE_DESTINATION]: 0, [ROLE_SOURCE]: 0 };
                entry[role] += ref.pods === "per-node" ? Infinity : ref.pods;
                counts.set(ns, entry);
                if (ref.pods === "per-node") {
                    reportViolation(`${subject}: a DaemonSet runs one ${role} pod per node. Fix: use a ` +
                        `${role === ROLE_SOURCE ? "Job" : "Deployment with replicas: 1"}.`, r.urn);
                }
            }
        });
        for (const [ns, c] of counts) {
            for (const role of [ROLE_DESTINATION, ROLE_SOURCE] as const) {
                const n = c[role];
                if (n === 1 || n === Infinity) {
                    continue;
                }
                const what = role === ROLE_DESTINATION
                    ? "one Deployment with replicas: 1 (rsyncd + stunnel) on the destination cluster"
                    : "one Job with parallelism: 1 (rsync + stunnel) on the source cluster";
                reportViolation(`Namespace ${ns} (${LABELS.namespace}=${ns}): ${n} ${role} pods in the wave, ` +
                    `expected exactly 1. Fix: ${what}.`);
            }
        }
    },
} satisfies StackValidationPolicy;

/** Why a pod spec needs a namespace that Pod Security Admission lets run privileged pods (empty: it does not). */
export function privilegeNeeds(ref: PodSpecRef): string[] {
    const needs = new Set<string>();
    if (ref.spec.securityContext?.seLinuxOptions?.type === "spc_t") {
        needs.add("SELinux type spc_t");
    }
    for (const f of ["hostNetwork", "hostPID", "hostIPC"]) {
        if (ref.spec[f] === true) {
            needs.add(f);
        }
    }
    for (const c of containersOf(ref)) {
        const user = effective(ref, c.c, "runAsUser");
        const nonRoot = effective(ref, c.c, "runAsNonRoot");
        if (user === 0 || (!ref.partial && user === undefined && nonRoot !== true)) {
            needs.add("runs as root");
        }
        if (c.c?.securityContext?.privileged === true) {
            needs.add("privileged");
        }
        if (c.c?.securityContext?.seLinuxOptions?.type === "spc_t") {
            needs.add("SELinux type spc_t");
        }
        const add = c.c?.securityContext?.capabilities?.add;
        if (Array.isArray(add)) {
            const beyond = add.map(String).filter((a) => normalizeCapability(a) !== "NET_BIND_SERVICE");
            if (beyond.length > 0) {
                needs.add(`adds capabilities ${beyond.join(", ")}`);
            }
        }
    }
    return [...needs];
}

export const rootNeedsPrivilegedNamespace = {
    name: "root-needs-privileged-namespace",
    description: "Root or privileged transfer pods run only in namespaces the wave labels pod-security.kubernetes.io/enforce|audit|warn=privileged.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Set dvm:security.podSecurityLabels: true, or list namespaces labelled outside the stack in privilegedNamespaces.",
    configSchema: schema("privilegedNamespaces"),
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        const cfg = configOf("root-needs-privileged-namespace", args);
        const clusterOf = (r: PolicyResource) => r.provider?.urn ?? "";
        // Namespace labels the stack manages, per cluster: the destination Namespaces and the source NamespacePatches.
        const labelled = new Map<string, Record<string, string>>();
        eachResource(args, (r) => {
            const kind = kindOf(r.type);
            if (kind !== "Namespace" && kind !== "NamespacePatch") {
                return;
            }
            const name = r.props.metadata?.name;
            if (typeof name !== "string") {
                return;
            }
            const key = `${clusterOf(r)}\u0000${name}`;
            labelled.set(key, { ...labelled.get(key), ...labelsOf(r.props.metadata) });
        });
        eachResource(args, (r) => {
            for (const ref of podSpecsOf(r.type, r.props)) {
                const needs = privilegeNeeds(ref);
                if (needs.length === 0) {
                    continue;
                }
                const ns = ref.namespace ?? r.props.metadata?.namespace ?? "default";
                if (cfg.privilegedNamespaces.includes(ns)) {
                    continue;
                }
                const labels = labelled.get(`${clusterOf(r)}\u0000${ns}`) ?? {};
                const missing = PSA_LABELS.filter((l) => labels[l] !== "privileged");
                if (missing.length === 0) {
                    continue;
                }
                reportViolation(`${describe(r.type, r.name, r.props)}: needs a privileged namespace (${needs.join(", ")}), ` +
                    `but this stack does not label namespace "${ns}" on its cluster ${missing.map((l) => `${l}=privileged`).join(", ")}. ` +
                    `Fix: set dvm:security.podSecurityLabels: true so the wave labels it; or label it yourself and ` +
                    `list it in the pack config file: ${configHint("root-needs-privileged-namespace", { privilegedNamespaces: [ns] })}; ` +
                    `or run without dvm:security.runAsRoot / superPrivileged.`, r.urn);
            }
        });
    },
} satisfies StackValidationPolicy;

/** Every policy of the pack, in the order the engine reports them. */
export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
    transferPrivileged,
    transferSelinuxSpcT,
    transferRunAsNonRoot,
    transferCapabilities,
    transferNoPrivilegeEscalation,
    transferSeccomp,
    transferNoHostAccess,
    transferResources,
    transferSourceReadOnly,
    transferReadOnlyRootFilesystem,
    transferNoServiceAccountToken,
    pvcCapacityCoversWave,
    endpointTlsPassthrough,
    configMapNoKeyMaterial,
    waveOneTransferPodPerNamespace,
    rootNeedsPrivilegedNamespace,
];
