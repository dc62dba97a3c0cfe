// Which workloads and pods of a namespace use which PVCs: what a cutover quiesces (and rollback restores), where a
// ReadWriteOnce volume is mounted now, and what `dvm discover` writes next to each PVC. The pure functions take the
// API objects as plain JSON; readNamespace() fetches them with @kubernetes/client-node (required lazily). Nothing here
// keeps module-level state: the quiesce provider is serialized by value and calls it.
import type { KubeConfig } from "@kubernetes/client-node";

/** The kinds that own pods, as MTC quiesces them; `Pod` is a bare pod (owned by none of them). */
export type WorkloadKind =
    | "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController" | "DeploymentConfig" | "Job" | "CronJob" | "DaemonSet" | "Pod";

export interface Workload {
    kind: WorkloadKind;
    name: string;
    namespace: string;
    /** PVC names the workload's pods mount (a StatefulSet's volumeClaimTemplates resolved against existing PVCs). */
    claims: string[];
    /** The controller that owns this one (a ReplicaSet of a Deployment, an RC of a DeploymentConfig, a Job of a
     * CronJob); undefined for a top-level workload. */
    ownedBy?: { kind: string; name: string };
    /** The object as the API returned it (metadata, spec, status). */
    object: KubeObject;
}

/** An unfinished pod of the namespace; `claims` may be empty (a cutover of scope namespace waits for those too). */
export interface NamespacePod {
    name: string;
    namespace: string;
    phase: string;
    node?: string;
    claims: string[];
    /** The top-level workload the pod belongs to (Pod itself for a bare pod). */
    owner: { kind: WorkloadKind; name: string };
}

/** The subset of an API object the functions here read. */
export interface KubeObject {
    apiVersion?: string;
    kind?: string;
    metadata?: {
        name?: string; namespace?: string; ownerReferences?: { kind: string; name: string; controller?: boolean }[]; annotations?: Record<string, string>; labels?: Record<string, string>;
        /** What a JSON patch's `test` compares, so a concurrent change fails the patch. */
        resourceVersion?: string;
    };
    spec?: any;
    status?: any;
}

/** PVC claim names of a pod spec's volumes. */
export function claimsOfPodSpec(spec: any): string[] {
    const out: string[] = [];
    for (const v of spec?.volumes ?? []) {
        const claim = v?.persistentVolumeClaim?.claimName;
        if (typeof claim === "string" && !out.includes(claim)) out.push(claim);
    }
    return out;
}

/** The pod template spec of a workload object, by kind. */
export function podSpecOf(kind: WorkloadKind, o: KubeObject): any {
    switch (kind) {
        case "Pod": return o.spec;
        case "CronJob": return o.spec?.jobTemplate?.spec?.template?.spec;
        default: return o.spec?.template?.spec;
    }
}

/** A StatefulSet's claims: its template volumes, plus `<template>-<set>-<ordinal>` PVCs that exist. */
export function statefulSetClaims(o: KubeObject, existingPvcs: string[]): string[] {
    const name = o.metadata?.name ?? "";
    const out = claimsOfPodSpec(o.spec?.template?.spec);
    for (const t of o.spec?.volumeClaimTemplates ?? []) {
        const prefix = `${t?.metadata?.name}-${name}-`;
        for (const pvc of existingPvcs) if (pvc.startsWith(prefix) && /^\d+$/.test(pvc.slice(prefix.length)) && !out.includes(pvc)) out.push(pvc);
    }
    return out;
}

function controllerOf(o: KubeObject): { kind: string; name: string } | undefined {
    const refs = o.metadata?.ownerReferences ?? [];
    const ref = refs.find((r) => r.controller) ?? refs[0];
    return ref ? { kind: ref.kind, name: ref.name } : undefined;
}

/** Workloads of one namespace from its API objects (by kind), with their claims and owners. */
export function workloadsOf(namespace: string, objects: Partial<Record<WorkloadKind, KubeObject[]>>, existingPvcs: string[]): Workload[] {
    const out: Workload[] = [];
    for (const kind of Object.keys(objects) as WorkloadKind[]) {
        if (kind === "Pod") continue;
        for (const o of objects[kind] ?? []) {
            const claims = kind === "StatefulSet" ? statefulSetClaims(o, existingPvcs) : claimsOfPodSpec(podSpecOf(kind, o));
            const owner = controllerOf(o);
            out.push({ kind, name: o.metadata?.name ?? "", namespace, claims, ...(owner ? { ownedBy: owner } : {}), object: o });
        }
    }
    for (const p of objects.Pod ?? []) {
        if (controllerOf(p)) continue;
        out.push({ kind: "Pod", name: p.metadata?.name ?? "", namespace, claims: claimsOfPodSpec(p.spec), object: p });
    }
    return out;
}

/** The top-level workload of a pod: ReplicaSet -> Deployment, RC -> DeploymentConfig, Job -> CronJob. */
export function topLevelOwner(pod: KubeObject, workloads: Workload[]): { kind: WorkloadKind; name: string } {
    let ref = controllerOf(pod);
    if (!ref) return { kind: "Pod", name: pod.metadata?.name ?? "" };
    for (let depth = 0; depth < 4; depth++) {
        const w = workloads.find((x) => x.kind === ref!.kind && x.name === ref!.name);
        if (!w) break;
        if (!w.ownedBy || !workloads.some((x) => x.kind === w.ownedBy!.kind && x.name === w.ownedBy!.name)) return { kind: w.kind, name: w.name };
        ref = w.ownedBy;
    }
    return { kind: ref.kind as WorkloadKind, name: ref.name };
}

/** The pods that are not finished, with their claims, node and top-level workload. */
export function unfinishedPods(namespace: string, pods: KubeObject[], workloads: Workload[]): NamespacePod[] {
    return pods
        .filter((p) => !["Succeeded", "Failed"].includes(p.status?.phase))
        .map((p) => ({
            name: p.metadata?.name ?? "",
            namespace,
            phase: p.status?.phase ?? "Unknown",
            ...(p.spec?.nodeName ? { node: p.spec.nodeName } : {}),
            claims: claimsOfPodSpec(p.spec),
            owner: topLevelOwner(p, workloads),
        }));
}

/** The top-level workloads (the ones a cutover scales) whose pods mount any of `pvcs`. */
export function workloadsMounting(workloads: Workload[], pvcs: string[]): Workload[] {
    return workloads.filter((w) => !w.ownedBy && w.claims.some((c) => pvcs.includes(c)));
}

export interface NamespaceView {
    namespace: string;
    workloads: Workload[];
    /** Its unfinished pods, whether they mount a PVC or not. */
    pods: NamespacePod[];
    /** The namespace's PVC objects. */
    pvcs: KubeObject[];
}

/** Reads one namespace's workloads, pods and PVCs (DeploymentConfigs only where apps.openshift.io/v1 is served). */
export async function readNamespace(kc: KubeConfig, namespace: string): Promise<NamespaceView> {
    const k8s = require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const batch = kc.makeApiClient(k8s.BatchV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const items = async <T>(p: Promise<{ body: { items: T[] } }>) => (await p).body.items as unknown as KubeObject[];
    const [pvcs, pods, deployments, statefulSets, replicaSets, daemonSets, rcs, jobs, cronJobs] = await Promise.all([
        items(core.listNamespacedPersistentVolumeClaim(namespace)),
        items(core.listNamespacedPod(namespace)),
        items(apps.listNamespacedDeployment(namespace)),
        items(apps.listNamespacedStatefulSet(namespace)),
        items(apps.listNamespacedReplicaSet(namespace)),
        items(apps.listNamespacedDaemonSet(namespace)),
        items(core.listNamespacedReplicationController(namespace)),
        items(batch.listNamespacedJob(namespace)),
        items(batch.listNamespacedCronJob(namespace)),
    ]);
    let deploymentConfigs: KubeObject[] = [];
    try {
        const res = await custom.listNamespacedCustomObject("apps.openshift.io", "v1", namespace, "deploymentconfigs");
        deploymentConfigs = ((res.body as { items?: KubeObject[] }).items ?? []);
    } catch (e) {
        // the API is not served (plain Kubernetes): no DeploymentConfigs to consider
        const code = (e as { statusCode?: number; response?: { statusCode?: number } }).statusCode ?? (e as { response?: { statusCode?: number } }).response?.statusCode;
        if (code !== 404) throw e;
    }
    const names = pvcs.map((p) => p.metadata?.name ?? "");
    const workloads = workloadsOf(namespace, {
        Deployment: deployments, StatefulSet: statefulSets, ReplicaSet: replicaSets, DaemonSet: daemonSets,
        ReplicationController: rcs, DeploymentConfig: deploymentConfigs, Job: jobs, CronJob: cronJobs, Pod: pods,
    }, names);
    return { namespace, workloads, pods: unfinishedPods(namespace, pods, workloads), pvcs };
}

/** Where each workload kind lives in the API ("" = the core group). */
export const WORKLOAD_APIS: Record<WorkloadKind, { group: string; version: string; plural: string }> = {
    Deployment: { group: "apps", version: "v1", plural: "deployments" },
    StatefulSet: { group: "apps", version: "v1", plural: "statefulsets" },
    ReplicaSet: { group: "apps", version: "v1", plural: "replicasets" },
    DaemonSet: { group: "apps", version: "v1", plural: "daemonsets" },
    Job: { group: "batch", version: "v1", plural: "jobs" },
    CronJob: { group: "batch", version: "v1", plural: "cronjobs" },
    DeploymentConfig: { group: "apps.openshift.io", version: "v1", plural: "deploymentconfigs" },
    ReplicationController: { group: "", version: "v1", plural: "replicationcontrollers" },
    Pod: { group: "", version: "v1", plural: "pods" },
};

/** Sends a JSON patch (RFC 6902) to one workload. Errors keep the API's status code (409/422 on a failed `test`). */
export async function patchWorkload(kc: KubeConfig, kind: WorkloadKind, namespace: string, name: string, ops: unknown[], fieldManager = "dvm"): Promise<void> {
    const k8s = require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
    const options = { headers: { "Content-type": k8s.PatchUtils.PATCH_FORMAT_JSON_PATCH } };
    const api = WORKLOAD_APIS[kind];
    if (api.group === "") {
        const core = kc.makeApiClient(k8s.CoreV1Api);
        if (kind === "ReplicationController") await core.patchNamespacedReplicationController(name, namespace, ops, undefined, undefined, fieldManager, undefined, undefined, options);
        else await core.patchNamespacedPod(name, namespace, ops, undefined, undefined, fieldManager, undefined, undefined, options);
        return;
    }
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await custom.patchNamespacedCustomObject(api.group, api.version, namespace, api.plural, name, ops, undefined, fieldManager, undefined, options);
}

/** Every workload of the cluster (no pods, no claims resolved): what `dvm status --live` looks through for dvm's
 * saved values. DeploymentConfigs only where apps.openshift.io/v1 is served. */
export async function readAllWorkloads(kc: KubeConfig): Promise<Workload[]> {
    const k8s = require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const batch = kc.makeApiClient(k8s.BatchV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const items = async <T>(p: Promise<{ body: { items: T[] } }>) => (await p).body.items as unknown as KubeObject[];
    const [deployments, statefulSets, replicaSets, daemonSets, rcs, jobs, cronJobs] = await Promise.all([
        items(apps.listDeploymentForAllNamespaces()),
        items(apps.listStatefulSetForAllNamespaces()),
        items(apps.listReplicaSetForAllNamespaces()),
        items(apps.listDaemonSetForAllNamespaces()),
        items(core.listReplicationControllerForAllNamespaces()),
        items(batch.listJobForAllNamespaces()),
        items(batch.listCronJobForAllNamespaces()),
    ]);
    let deploymentConfigs: KubeObject[] = [];
    try {
        deploymentConfigs = ((await custom.listClusterCustomObject("apps.openshift.io", "v1", "deploymentconfigs")).body as { items?: KubeObject[] }).items ?? [];
    } catch (e) {
        const code = (e as { statusCode?: number; response?: { statusCode?: number } }).statusCode ?? (e as { response?: { statusCode?: number } }).response?.statusCode;
        if (code !== 404) throw e;
    }
    const byNamespace = new Map<string, Partial<Record<WorkloadKind, KubeObject[]>>>();
    const all: [WorkloadKind, KubeObject[]][] = [["Deployment", deployments], ["StatefulSet", statefulSets], ["ReplicaSet", replicaSets], ["DaemonSet", daemonSets],
        ["ReplicationController", rcs], ["Job", jobs], ["CronJob", cronJobs], ["DeploymentConfig", deploymentConfigs]];
    for (const [kind, list] of all) {
        for (const o of list) {
            const ns = o.metadata?.namespace ?? "";
            const m = byNamespace.get(ns) ?? {};
            (m[kind] ??= []).push(o);
            byNamespace.set(ns, m);
        }
    }
    return [...byNamespace.entries()].flatMap(([ns, objects]) => workloadsOf(ns, objects, []));
}
