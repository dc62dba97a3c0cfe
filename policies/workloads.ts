// Finding pod specs in Kubernetes resources, whatever wraps them, and reading their security settings.
// Pure functions over the resource properties the engine hands a policy (plain objects in tests, unknown-checking
// proxies under the engine: reading a value that is not known during preview throws UnknownValueError).

import { UnknownValueError } from "@pulumi/policy";

/** Runs `read`; a value not known during preview gives `undefined` instead of throwing. */
export function known<T>(read: () => T): T | undefined {
    try {
        return read();
    } catch (e) {
        if (e instanceof UnknownValueError) {
            return undefined;
        }
        throw e;
    }
}

/** `kubernetes:apps/v1:Deployment` -> `Deployment`; empty for types that are not Kubernetes objects. */
export function kindOf(type: string): string {
    const parts = type.split(":");
    return parts.length === 3 && parts[0] === "kubernetes" ? parts[2] : "";
}

/** How a resource is named in messages: `Job app-3/dvm-source (resource "src-app-3")`. */
export function describe(type: string, name: string, props: any): string {
    const kind = kindOf(type) || type;
    const k8sName = known(() => props?.metadata?.name);
    const ns = known(() => props?.metadata?.namespace);
    const obj = typeof k8sName === "string" ? (typeof ns === "string" ? `${ns}/${k8sName}` : k8sName) : undefined;
    return obj ? `${kind} ${obj} (resource "${name}")` : `${kind} (resource "${name}")`;
}

export function labelsOf(meta: any, field: "labels" | "annotations" = "labels"): Record<string, string> {
    const labels = known(() => meta?.[field]);
    const out: Record<string, string> = {};
    if (labels && typeof labels === "object") {
        for (const k of Object.keys(labels)) {
            const v = known(() => labels[k]);
            if (typeof v === "string") {
                out[k] = v;
            }
        }
    }
    return out;
}

/** One pod spec found in a resource. */
export interface PodSpecRef {
    /** Where it sits in the resource's properties, e.g. `spec.template.spec`. */
    path: string;
    spec: any;
    /** Pod labels: the template's, over the workload's own. */
    labels: Record<string, string>;
    /** The pod's annotations (the template's; a Pod's own). */
    annotations: Record<string, string>;
    /** The workload's namespace (undefined when not set or not known yet). */
    namespace?: string;
    /** How many pods it runs at once; "per-node" for a DaemonSet. */
    pods: number | "per-node";
    /** A *Patch resource: absent fields are left as they are on the cluster, so only present values are judged. */
    partial: boolean;
}

/**
 * Every pod spec a resource carries: Pod, PodTemplate, and anything with `spec.template.spec` (Deployment,
 * StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, custom resources such as Argo Rollouts) or
 * `spec.jobTemplate.spec.template.spec` (CronJob), their *Patch variants and *List wrappers. The wrapper's kind is
 * not trusted: the structure decides.
 */
export function podSpecsOf(type: string, props: any): PodSpecRef[] {
    const kind = kindOf(type);
    if (!kind || props === undefined || props === null) {
        return [];
    }
    if (kind.endsWith("List")) {
        const items = known(() => props.items);
        const itemType = type.slice(0, -"List".length);
        return Array.isArray(items) ? items.flatMap((item: any) => podSpecsOf(itemType, item)) : [];
    }
    const partial = kind.endsWith("Patch");
    const base = partial ? kind.slice(0, -"Patch".length) : kind;
    // For the workload kinds, a pod spec not known yet (preview) is not a pass: reading it throws UnknownValueError,
    // which the engine reports as "can't run during preview" (and the check runs again, known, before creation).
    // Other kinds are only probed for a pod spec.
    const read = WORKLOAD_KINDS.has(base) ? <T>(f: () => T) => f() : known;
    const meta = known(() => props.metadata);
    const workloadLabels = labelsOf(meta);
    const nsValue = known(() => meta?.namespace);
    const namespace = typeof nsValue === "string" ? nsValue : undefined;
    const spec = read(() => props.spec);
    const ref = (path: string, podSpec: any, template: any, pods: number | "per-node"): PodSpecRef => ({
        path,
        spec: podSpec,
        labels: { ...workloadLabels, ...labelsOf(known(() => template?.metadata)) },
        annotations: labelsOf(known(() => template?.metadata), "annotations"),
        namespace,
        pods,
        partial,
    });
    if (base === "Pod") {
        return isObject(spec) ? [{ path: "spec", spec, labels: workloadLabels, annotations: labelsOf(meta, "annotations"), namespace, pods: 1, partial }] : [];
    }
    if (base === "PodTemplate") {
        const template = read(() => props.template);
        const podSpec = read(() => template?.spec);
        return isObject(podSpec) ? [ref("template.spec", podSpec, template, 1)] : [];
    }
    const found: PodSpecRef[] = [];
    const template = read(() => spec?.template);
    const podSpec = read(() => template?.spec);
    if (isObject(podSpec)) {
        found.push(ref("spec.template.spec", podSpec, template, podsOf(base, spec)));
    }
    const jobTemplate = read(() => spec?.jobTemplate);
    const jobSpec = read(() => jobTemplate?.spec);
    const jobPodTemplate = read(() => jobSpec?.template);
    const jobPodSpec = read(() => jobPodTemplate?.spec);
    if (isObject(jobPodSpec)) {
        found.push(ref("spec.jobTemplate.spec.template.spec", jobPodSpec, jobPodTemplate, podsOf("Job", jobSpec)));
    }
    return found;
}

/** Kinds whose whole point is a pod spec. */
const WORKLOAD_KINDS = new Set([
    "Pod", "PodTemplate", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob",
]);

function podsOf(kind: string, spec: any): number | "per-node" {
    if (kind === "DaemonSet") {
        return "per-node";
    }
    const n = kind === "Job" ? known(() => spec?.parallelism) : known(() => spec?.replicas);
    return typeof n === "number" ? n : 1;
}

export function isObject(v: unknown): v is Record<string, any> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** One container of a pod spec. */
export interface ContainerRef {
    /** `container "rsync"`, `init container "fix-perms"`. */
    label: string;
    /** `spec.template.spec.containers[0]`. */
    path: string;
    c: any;
}

export function containersOf(ref: PodSpecRef): ContainerRef[] {
    const out: ContainerRef[] = [];
    const lists: [string, string][] = [
        ["containers", "container"],
        ["initContainers", "init container"],
        ["ephemeralContainers", "ephemeral container"],
    ];
    for (const [field, what] of lists) {
        const list = ref.spec[field];
        if (!Array.isArray(list)) {
            continue;
        }
        list.forEach((c: any, i: number) => {
            const name = known(() => c?.name);
            out.push({
                label: `${what} "${typeof name === "string" ? name : i}"`,
                path: `${ref.path}.${field}[${i}]`,
                c,
            });
        });
    }
    return out;
}

/** The effective value of a security setting: the container's, else the pod's. */
export function effective(ref: PodSpecRef, c: any, field: string): any {
    const own = c?.securityContext?.[field];
    return own !== undefined ? own : ref.spec.securityContext?.[field];
}

/** Capability names as Kubernetes spells them: `cap_chown` -> `CHOWN`. */
export function normalizeCapability(cap: string): string {
    const up = cap.trim().toUpperCase();
    return up.startsWith("CAP_") ? up.slice(4) : up;
}
