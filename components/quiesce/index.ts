// What a cutover stops and how a rollback restores it (rules.ts: the annotations; select.ts: which workloads, pods
// and nodes; cluster.ts: the work on the cluster; provider.ts/resource.ts: the dynamic resources). This file: what
// the program decides from the source namespaces it read before declaring anything - where a stage pass's source pod
// runs, what a cutover will quiesce (the preview shows it), whether a cutover must be refused - and the outputs.
import type { MigrationMode, NamespacePlan, QuiesceOptions } from "../../config/plan";
import type { NamespaceView } from "../../kube/workloads";
import type { QuiescedWorkload } from "./rules";
import { Placement, placeSourcePod, previewLines, quiescedNow, quiescePlan, refusalMessage } from "./select";

export type { QuiescedWorkload } from "./rules";
export type { Placement } from "./select";

/** The source namespaces as the program read them (undefined: not read - render mode, or a stage pass that could
 * not read them). */
export type SourceViews = Record<string, NamespaceView | undefined>;

export interface NamespaceDecision {
    /** Where the source transfer pod runs (stage: next to an RWO PVC in use). */
    placement: Placement;
    /** Cutover: one line per workload it will quiesce. */
    preview: string[];
    /** What the wave quiesced, as the program read the namespace. */
    quiesced: boolean;
    workloads: QuiescedWorkload[];
}

/**
 * Decides per namespace from the views; returns the problems that stop the wave before anything is declared (RWO
 * PVCs in use on different nodes, a pod a cutover cannot stop).
 */
export function decideSource(plan: { wave: { name: string }; migration: MigrationMode; quiesce: QuiesceOptions; namespaces: NamespacePlan[] },
    views: SourceViews | undefined): { decisions: Record<string, NamespaceDecision>; problems: string[] } {
    const decisions: Record<string, NamespaceDecision> = {};
    const problems: string[] = [];
    for (const ns of plan.namespaces) {
        const view = views?.[ns.source];
        const pvcs = ns.pvcs.map((p) => p.source);
        let placement: Placement = ns.nodeName ? { nodeName: ns.nodeName, why: "nodeName of the wave file" } : {};
        try {
            placement = placeSourcePod(ns, view, plan.migration);
        } catch (e) {
            problems.push((e as Error).message);
        }
        let preview: string[] = [];
        if (view && plan.migration === "cutover") {
            const q = quiescePlan(view, pvcs, plan.quiesce.scope);
            if (q.refused.length > 0) problems.push(refusalMessage(ns.source, q.refused, pvcs));
            else {
                try {
                    preview = previewLines(q, plan.wave.name);
                } catch (e) {
                    problems.push((e as Error).message);
                }
            }
        }
        const now = view ? quiescedNow(view, plan.wave.name) : { quiesced: false, workloads: [] };
        decisions[ns.source] = { placement, preview, ...now };
    }
    return { decisions, problems };
}

/**
 * Reads the wave's source namespaces (a few at a time) before the program declares anything. A stage pass that cannot
 * read one goes on without automatic placement (`warn` says why); a cutover or rollback cannot and fails.
 */
export async function readSourceViews(plan: { migration: MigrationMode; namespaces: NamespacePlan[] }, api: { read(ns: string): Promise<NamespaceView> },
    warn: (message: string) => void): Promise<SourceViews> {
    const views: SourceViews = {};
    const queue = plan.namespaces.map((n) => n.source);
    const worker = async () => {
        for (let ns = queue.shift(); ns !== undefined; ns = queue.shift()) {
            try {
                views[ns] = await api.read(ns);
            } catch (e) {
                if (plan.migration !== "stage") throw new Error(`dvm: the ${plan.migration} needs to read the source namespace ${ns}: ${(e as Error).message}`);
                warn(`dvm: cannot read the source namespace ${ns} (${(e as Error).message}): the source pod is not placed next to a ReadWriteOnce PVC in use; ` +
                    "give nodeName in the wave file if one is");
                views[ns] = undefined;
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(4, queue.length) }, worker));
    return views;
}
