// Which source workloads a cutover stops, which pods it cannot stop (a cutover is then refused before anything is
// touched), which pods still hold the wave's PVCs, and where a stage pass's source pod must run while a
// ReadWriteOnce PVC is in use. Pure functions of a namespace as kube/workloads.ts reads it; serialized by value with
// the quiesce provider, and called by the program on the view it read before declaring anything.
import { LABELS, MANAGED_BY } from "../../contract";
import type { NamespacePod, NamespaceView, Workload, WorkloadKind } from "../../kube/workloads";
import { canQuiesce, currentValue, quiesceChange, quiescedValue, QuiescedWorkload, savedState, workloadState } from "./rules";

export type QuiesceScope = "pvcs" | "namespace";

/** dvm's own objects (the source transfer Job and its pods) are never quiesced nor waited for. */
export function isDvmObject(w: Pick<Workload, "object">): boolean {
    return w.object.metadata?.labels?.[LABELS.managedBy] === MANAGED_BY;
}

function finishedJob(w: Workload): boolean {
    const conds: { type?: string; status?: string }[] = w.object.status?.conditions ?? [];
    return conds.some((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
}

const key = (w: { kind: string; name: string }) => `${w.kind}/${w.name}`;

/** Pods, not dvm's, that mount one of `pvcs` and are not finished. */
export function holdingPods(view: NamespaceView, pvcs: string[]): NamespacePod[] {
    const byKey = new Map(view.workloads.map((w) => [key(w), w]));
    return view.pods.filter((p) => {
        if (!p.claims.some((c) => pvcs.includes(c))) return false;
        const owner = byKey.get(key(p.owner));
        return !(owner && isDvmObject(owner));
    });
}

/**
 * The pods a cutover waits for: those that hold a PVC of the wave and, with scope `namespace`, every pod of a
 * workload it quiesces (an application that mounts no wave PVC still must not run on both clusters).
 */
export function podsToEnd(view: NamespaceView, pvcs: string[], scope: QuiesceScope, targets: Workload[]): NamespacePod[] {
    const holding = holdingPods(view, pvcs);
    if (scope !== "namespace") return holding;
    const quiesced = new Set(targets.map(key));
    return view.pods.filter((p) => holding.includes(p) || quiesced.has(key(p.owner)));
}

export interface QuiescePlan {
    /** What the cutover quiesces, top-level workloads first. */
    targets: Workload[];
    /** Pods that mount a PVC of the wave and belong to nothing dvm can stop (a bare Pod, an unknown controller). */
    refused: NamespacePod[];
    /** Pods that mount a PVC of the wave now. */
    holding: NamespacePod[];
}

/**
 * What a cutover of `pvcs` quiesces: the workloads whose pods mount one of them (scope `pvcs`) or every workload of
 * the namespace (scope `namespace`, as MTC does), the owners of pods that mount one now, and the unfinished Jobs of
 * a CronJob it suspends (suspending a CronJob does not stop the Job it already started). Finished Jobs run no pods.
 */
export function quiescePlan(view: NamespaceView, pvcs: string[], scope: QuiesceScope): QuiescePlan {
    const usable = view.workloads.filter((w) => canQuiesce(w.kind) && !isDvmObject(w) && !(w.kind === "Job" && finishedJob(w)));
    const picked = new Map<string, Workload>();
    const add = (w: Workload) => { if (!picked.has(key(w))) picked.set(key(w), w); };
    for (const w of usable) {
        if (w.ownedBy) continue;
        if (scope === "namespace" || w.claims.some((c) => pvcs.includes(c))) add(w);
    }
    const holding = holdingPods(view, pvcs);
    for (const p of holding) {
        const owner = usable.find((w) => w.kind === p.owner.kind && w.name === p.owner.name);
        if (owner) add(owner);
    }
    for (const w of usable) {
        if (w.kind === "Job" && w.ownedBy?.kind === "CronJob" && picked.has(key({ kind: "CronJob", name: w.ownedBy.name }))) add(w);
    }
    const refused = holding.filter((p) => !picked.has(key(p.owner)));
    return { targets: [...picked.values()].sort(byOrder), refused, holding };
}

/** CronJobs first (no new Job starts while the rest stops), the Jobs they started last. */
const ORDER: WorkloadKind[] = ["CronJob", "Deployment", "DeploymentConfig", "StatefulSet", "ReplicaSet", "ReplicationController", "DaemonSet", "Job"];
const byOrder = (a: { kind: WorkloadKind; name: string }, b: { kind: WorkloadKind; name: string }) =>
    ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind) || a.name.localeCompare(b.name);

/** Why a cutover is refused: the pods dvm cannot stop, named, with what to do. */
export function refusalMessage(namespace: string, refused: NamespacePod[], pvcs: string[]): string {
    const lines = [`dvm: cutover refused in namespace ${namespace}: ${refused.length === 1 ? "a pod mounts" : "pods mount"} a PVC of the wave and ` +
        "belong to nothing dvm can scale down; nothing was quiesced:"];
    for (const p of refused) {
        const owner = p.owner.kind === "Pod" ? "a bare Pod (no controller)" : `owned by ${p.owner.kind} ${p.owner.name}, which dvm cannot scale`;
        lines.push(`  pod ${p.name}${p.node ? ` on node ${p.node}` : ""}: ${owner}; mounts ${p.claims.filter((c) => pvcs.includes(c)).join(", ")}`);
    }
    lines.push(`  Fix: stop it yourself (kubectl -n ${namespace} delete pod ${refused.map((p) => p.name).join(" ")}, or scale its controller to 0), ` +
        "then run pulumi up again");
    return lines.join("\n");
}

const show = (v: unknown) => (typeof v === "object" ? JSON.stringify(v) : String(v));

/** One line per workload a cutover quiesces, for the preview: `Deployment/web: replicas 2 -> 0`. */
export function previewLines(plan: QuiescePlan, wave: string): string[] {
    return plan.targets.map((w) => {
        const c = quiesceChange(w.kind, w.object, wave);
        const field = c.result.field;
        if (c.action === "already") return `${key(w)}: quiesced already (${field} ${show(currentValue(w.kind, w.object))}, saved ${show(c.result.saved)})`;
        return `${key(w)}: ${field} ${show(currentValue(w.kind, w.object))} -> ${show(quiescedValue(w.kind))} (saved in ${savedState(w.kind, w.object).annotation})` +
            (c.action === "again" ? "; changed since an earlier cutover, so this value is saved anew" : "");
    });
}

/**
 * A ReplicaSet of a Deployment or a ReplicationController of a DeploymentConfig: their controllers copy the owner's
 * annotations onto them, dvm's saved values included. Such a copy is not a quiesced workload (its owner is); a
 * rollback only drops it.
 */
export function isAnnotationCopy(w: Workload, workloads: Workload[]): boolean {
    return (w.kind === "ReplicaSet" || w.kind === "ReplicationController") && !!w.ownedBy &&
        workloads.some((x) => x.kind === w.ownedBy!.kind && x.name === w.ownedBy!.name);
}

/** The workloads `wave` quiesced and whether every one of them still holds its quiesced value. */
export function quiescedNow(view: NamespaceView, wave: string): { quiesced: boolean; workloads: QuiescedWorkload[] } {
    const workloads: QuiescedWorkload[] = [];
    for (const w of view.workloads) {
        if (isAnnotationCopy(w, view.workloads)) continue;
        const st = workloadState(w.kind, w.object);
        if (!st) continue;
        const by = savedState(w.kind, w.object).wave;
        if (by !== undefined && by !== wave) continue;
        workloads.push(st);
    }
    workloads.sort(byOrder);
    return { quiesced: workloads.length > 0 && workloads.every((w) => w.state === "quiesced"), workloads };
}

function modesOf(pvc: { spec?: any; status?: any }): string[] {
    return (pvc.status?.accessModes ?? pvc.spec?.accessModes ?? []) as string[];
}

export interface Placement {
    nodeName?: string;
    /** Why there (for the preview and the outputs). */
    why?: string;
}

/**
 * Where a stage pass's source transfer pod runs: the wave's nodeName, else - while a ReadWriteOnce PVC of the wave
 * is mounted by a running pod - that pod's node (a second node could not attach the volume). A cutover and a
 * rollback place nothing: the final pass starts once no pod holds the volumes. Throws when one source pod cannot
 * mount every PVC: RWO PVCs in use on different nodes, a ReadWriteOncePod PVC in use, or the wave's nodeName where
 * another node holds one.
 */
export function placeSourcePod(ns: { source: string; nodeName?: string; pvcs: { source: string }[] }, view: NamespaceView | undefined,
    mode: "stage" | "cutover" | "rollback"): Placement {
    const given: Placement = ns.nodeName ? { nodeName: ns.nodeName, why: "nodeName of the wave file" } : {};
    if (mode !== "stage" || !view) return given;
    const names = ns.pvcs.map((p) => p.source);
    const holding = holdingPods(view, names);
    const uses: { pvc: string; mode: string; pod: string; node?: string }[] = [];
    for (const pvc of view.pvcs) {
        const name = pvc.metadata?.name ?? "";
        if (!names.includes(name)) continue;
        const modes = modesOf(pvc);
        const single = modes.includes("ReadWriteOncePod") ? "ReadWriteOncePod"
            : modes.includes("ReadWriteOnce") && !modes.includes("ReadWriteMany") && !modes.includes("ReadOnlyMany") ? "ReadWriteOnce" : undefined;
        if (!single) continue;
        for (const p of holding.filter((h) => h.claims.includes(name))) uses.push({ pvc: name, mode: single, pod: p.name, node: p.node });
    }
    const where = (u: typeof uses[number]) => `${u.pvc} (${u.mode}, pod ${u.pod}${u.node ? ` on node ${u.node}` : ""})`;
    const exclusive = uses.filter((u) => u.mode === "ReadWriteOncePod");
    if (exclusive.length > 0) {
        throw new Error(`dvm: namespace ${ns.source}: ${exclusive.map(where).join(", ")} can be mounted by one pod only, and that pod runs: ` +
            "a stage pass cannot read it. Run this wave as a cutover (pulumi config set dvm:migration cutover), which stops the pod first");
    }
    const placed = uses.filter((u) => u.node);
    const nodes = [...new Set(placed.map((u) => u.node!))].sort();
    if (ns.nodeName) {
        const elsewhere = placed.filter((u) => u.node !== ns.nodeName);
        if (elsewhere.length > 0) {
            throw new Error(`dvm: namespace ${ns.source}: the wave file puts the source pod on node ${ns.nodeName}, but ${elsewhere.map(where).join(", ")} ` +
                `is attached to another node. Fix: nodeName: ${nodes.join(" or ")} in the wave file, or drop nodeName (dvm then follows the volume)`);
        }
        return given;
    }
    if (nodes.length === 0) return {};
    if (nodes.length > 1) {
        throw new Error(`dvm: namespace ${ns.source}: ReadWriteOnce PVCs of the wave are in use on different nodes: ${placed.map(where).join(", ")}; ` +
            "one source transfer pod per namespace cannot attach them all. Fix: move these PVCs into separate waves (one node each), " +
            "or run this wave as a cutover (pulumi config set dvm:migration cutover), which stops those pods first");
    }
    const on = placed.filter((u) => u.node === nodes[0]);
    return { nodeName: nodes[0], why: `${on.map((u) => `PVC ${u.pvc} (${u.mode})`).join(", ")} in use there by pod ${[...new Set(on.map((u) => u.pod))].join(", ")}` };
}
