// `dvm discover`'s reads: the source namespaces (PVCs, the workloads and pods that mount them, the kubelet's volume
// numbers for the nodes those pods run on) and both clusters' storage classes, into an Inventory. Reads only.
import type { KubeConfig } from "@kubernetes/client-node";
import { LABELS, MANAGED_BY } from "../../contract";
import { apiError } from "../../kube";
import { readNamespaces, storageClasses, StorageClassInfo, volumeStats, VolumeStats } from "../../kube/cluster";
import { KubeObject, NamespaceView, readNamespace, workloadsMounting } from "../../kube/workloads";
import { SourceNamespace, SourcePvc } from "./wave";

/** One PVC object and its namespace's workloads and pods, as the wave builder sees them. */
export function sourcePvc(o: KubeObject, view: NamespaceView, stats: Map<string, VolumeStats>, statsProblems: Map<string, string>): SourcePvc {
    const name = o.metadata?.name ?? "";
    const pods = view.pods.filter((p) => p.claims.includes(name));
    const running = pods.filter((p) => p.phase === "Running" && p.node);
    const key = `${view.namespace}/${name}`;
    const problem = running.map((p) => statsProblems.get(p.node!)).find((x) => x !== undefined);
    return {
        name,
        phase: o.status?.phase ?? "Unknown",
        ...(o.spec?.volumeMode ? { volumeMode: o.spec.volumeMode } : {}),
        ...(o.status?.capacity?.storage ? { capacity: String(o.status.capacity.storage) } : {}),
        ...(o.spec?.resources?.requests?.storage ? { request: String(o.spec.resources.requests.storage) } : {}),
        // what the claim asked for; the bound volume may offer more modes than the destination class has
        accessModes: o.spec?.accessModes ?? o.status?.accessModes ?? [],
        // "" means "no class" (a statically bound volume), like a missing field
        ...(o.spec?.storageClassName ? { storageClass: o.spec.storageClassName } : {}),
        createdByDvm: o.metadata?.labels?.[LABELS.managedBy] === MANAGED_BY,
        workloads: workloadsMounting(view.workloads, [name]).map((w) => `${w.kind}/${w.name}`),
        pods: pods.map((p) => ({ name: p.name, ...(p.node ? { node: p.node } : {}), phase: p.phase })),
        ...(stats.has(key) ? { stats: stats.get(key)! } : {}),
        ...(problem !== undefined && !stats.has(key) ? { statsProblem: problem } : {}),
    };
}

export interface SourceRead {
    namespaces: SourceNamespace[];
    classes: StorageClassInfo[];
    /** Reads that failed without stopping discovery (shown as notes). */
    notes: string[];
}

/** Reads the named source namespaces; namespaces that do not exist are one error naming all of them. */
export async function readSource(kc: KubeConfig, names: string[], where: string): Promise<SourceRead> {
    let existing: Map<string, KubeObject | undefined>;
    try {
        existing = await readNamespaces(kc, names);
    } catch (e) {
        throw apiError(`read the namespaces ${names.join(", ")} on the source cluster (${where})`, e);
    }
    const missing = names.filter((n) => existing.get(n) === undefined);
    if (missing.length) {
        throw new Error(`--namespace: ${missing.length > 1 ? "namespaces" : "namespace"} ${missing.join(", ")} ${missing.length > 1 ? "do" : "does"} not exist on the source cluster (${where}); name existing namespaces, e.g. --namespace ${names.find((n) => !missing.includes(n)) ?? "billing"}`);
    }
    const notes: string[] = [];
    const views: NamespaceView[] = [];
    for (const ns of names) {
        try {
            views.push(await readNamespace(kc, ns));
        } catch (e) {
            throw apiError(`read the PVCs, pods and workloads of namespace ${ns} on the source cluster (${where})`, e);
        }
    }
    const nodes = [...new Set(views.flatMap((v) => v.pods.filter((p) => p.phase === "Running" && p.node && p.claims.length).map((p) => p.node!)))].sort();
    const stats = new Map<string, VolumeStats>();
    const statsProblems = new Map<string, string>();
    for (const node of nodes) {
        try {
            for (const [k, v] of await volumeStats(kc, node)) stats.set(k, v);
        } catch (e) {
            const why = `the kubelet summary of node ${node} (GET /api/v1/nodes/${node}/proxy/stats/summary, needs get on nodes/proxy) is not readable: ${(e as Error).message}`;
            statsProblems.set(node, why);
            notes.push(why);
        }
    }
    let classes: StorageClassInfo[] = [];
    try {
        classes = await storageClasses(kc);
    } catch (e) {
        notes.push(`${apiError("list the source cluster's storage classes", e).message}: the same-provisioner rule cannot apply`);
    }
    const namespaces = views.map((v) => ({
        name: v.namespace,
        pvcs: v.pvcs.map((o) => sourcePvc(o, v, stats, statsProblems)).sort((a, b) => a.name.localeCompare(b.name)),
    }));
    return { namespaces, classes, notes };
}
