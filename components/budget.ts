// The concurrency budget (dvm:maxConcurrentNamespaces): which earlier namespace each namespace's source transfer waits
// for. The wave's namespaces run in at most N lanes; the first N start at once (in the wave file's order), and each
// later one joins the lane expected to free first, its source Job created only once the previous namespace of that
// lane has finished (its TransferProgress is done). Pure: the plan in, indexes out.
import type { NamespacePlan } from "../config/plan";
import { parseQuantity } from "../config/rules";

/** The expected cost of a namespace: the capacity of its PVCs (what the wave file knows of the data), at least 1. */
export function namespaceWeight(ns: NamespacePlan): number {
    const bytes = ns.pvcs.reduce((n, p) => n + (parseQuantity(p.capacity) ?? 0), 0);
    return Math.max(1, bytes);
}

/**
 * For each namespace (by index), the index of the namespace whose transfer it waits for, or undefined for one that
 * starts at once. `max` 0 (or at least the number of namespaces) means no limit. List scheduling: the namespace goes
 * to the lane whose namespaces add up to the least capacity so far (ties: the lowest lane), so a lane of a few big
 * volumes does not hold back many small ones.
 */
export function transferTurns(namespaces: NamespacePlan[], max: number): (number | undefined)[] {
    if (!Number.isInteger(max) || max < 0) throw new Error(`dvm:maxConcurrentNamespaces must be a whole number >= 0, got ${JSON.stringify(max)}; example: pulumi config set dvm:maxConcurrentNamespaces 10`);
    // a namespace without PVCs only moves images: it has no source transfer pod, so it takes no place in a lane
    const transfers = namespaces.filter((ns) => ns.pvcs.length > 0).length;
    if (max === 0 || max >= transfers) return namespaces.map(() => undefined);
    const lanes: { load: number; last: number }[] = [];
    return namespaces.map((ns, i) => {
        if (ns.pvcs.length === 0) return undefined;
        const w = namespaceWeight(ns);
        if (lanes.length < max) {
            lanes.push({ load: w, last: i });
            return undefined;
        }
        let best = 0;
        for (let l = 1; l < lanes.length; l++) if (lanes[l].load < lanes[best].load) best = l;
        const waitsFor = lanes[best].last;
        lanes[best] = { load: lanes[best].load + w, last: i };
        return waitsFor;
    });
}
