// `dvm discover`'s pure part: what was read from the clusters (an Inventory) in, wave files out - one per wave when
// --max-wave-bytes splits the namespaces - each a YAML document with comments for the reviewer, checked by the
// program's own wave validation before it is returned.
import * as YAML from "yaml";
import { parseWaveText } from "../../config/load";
import { parseQuantity } from "../../config/rules";
import { validateWave } from "../../config/wave";
import type { StorageClassInfo, VolumeStats } from "../../kube/cluster";
import { formatBytes } from "../format";
import { chooseClass, ClassChoice } from "./classes";

export interface SourcePod {
    name: string;
    node?: string;
    phase: string;
}

export interface SourcePvc {
    name: string;
    phase: string;
    volumeMode?: string;
    /** status.capacity.storage: what the volume holds. */
    capacity?: string;
    /** spec.resources.requests.storage. */
    request?: string;
    accessModes: string[];
    storageClass?: string;
    /** Labelled as created by dvm (a destination PVC of an earlier migration): never proposed. */
    createdByDvm: boolean;
    /** Top-level workloads whose pods mount it, `Kind/name`. */
    workloads: string[];
    /** Pods (not finished) that mount it. */
    pods: SourcePod[];
    /** The kubelet's numbers, when a running pod mounts it and its node's summary was readable. */
    stats?: VolumeStats;
    /** Why there are no numbers although a running pod mounts it. */
    statsProblem?: string;
}

export interface SourceNamespace {
    name: string;
    pvcs: SourcePvc[];
}

export interface Inventory {
    /** Where the source was read, e.g. `context dvm-src`. */
    source: string;
    /** Where the destination's classes were read; undefined when no destination cluster was given. */
    destination?: string;
    namespaces: SourceNamespace[];
    sourceClasses: StorageClassInfo[];
    destinationClasses?: StorageClassInfo[];
}

export interface DiscoverOptions {
    /** The wave's name (with `-<n>` appended per wave when split). */
    name: string;
    classMap: ReadonlyMap<string, string>;
    /** Split into waves of at most this many bytes (used bytes; capacity where unknown). */
    maxWaveBytes?: number;
    /** The command line, for the header. */
    command: string;
    now: Date;
}

export interface DraftPvc {
    name: string;
    capacity: string;
    accessModes: string[];
    storageClass?: string;
    comments: string[];
    /** Used bytes where the kubelet measured the volume itself, else the capacity: what a wave is split by. */
    sizeBytes: number;
}

export interface DraftNamespace {
    name: string;
    nodeName?: string;
    comments: string[];
    pvcs: DraftPvc[];
    /** Lines about PVCs left out (as comments after the namespace's PVCs). */
    leftOut: string[];
    sizeBytes: number;
}

export interface WaveFile {
    name: string;
    namespaces: string[];
    pvcs: number;
    sizeBytes: number;
    text: string;
}

export interface Discovery {
    waves: WaveFile[];
    /** Everything the reviewer must act on, also written as WARNING comments. */
    warnings: string[];
}

const RWO = ["ReadWriteOnce", "ReadWriteOncePod"];
const SHARED = ["ReadWriteMany", "ReadOnlyMany"];
const bytes = (q: string | undefined) => (q === undefined ? undefined : parseQuantity(q));

/** What the kubelet's numbers say about one PVC: used bytes only where it measured the volume itself. */
export function usage(pvc: SourcePvc): { usedBytes?: number; text: string } {
    const running = pvc.pods.filter((p) => p.phase === "Running");
    if (running.length === 0) return { text: "used bytes unknown: no running pod mounts it, so no kubelet measures it" };
    if (!pvc.stats || pvc.stats.usedBytes === undefined) {
        return { text: `used bytes unknown: ${pvc.statsProblem ?? `the kubelet of node ${running[0].node ?? "?"} reports no numbers for it`}` };
    }
    const cap = bytes(pvc.capacity ?? pvc.request);
    // a volume that is a directory of a bigger file system (local, hostPath, NFS sub-directories) reports the whole
    // file system: its numbers say nothing about this PVC
    if (cap !== undefined && pvc.stats.capacityBytes !== undefined && pvc.stats.capacityBytes > cap * 1.1 + 2 ** 20) {
        return { text: `used bytes unknown: the kubelet measures the whole file system the volume lives on (${formatBytes(pvc.stats.usedBytes)} of ${formatBytes(pvc.stats.capacityBytes)})` };
    }
    return { usedBytes: pvc.stats.usedBytes, text: `used ${formatBytes(pvc.stats.usedBytes)} of ${formatBytes(pvc.stats.capacityBytes ?? cap)} (kubelet of node ${running[0].node ?? "?"})` };
}

function modesText(modes: string[]): string {
    return modes.length ? modes.join(", ") : "no access modes";
}

/** One namespace's draft: its PVCs with comments, what is left out and why, the node of its RWO volumes. */
export function draftNamespace(ns: SourceNamespace, inv: Inventory, opts: Pick<DiscoverOptions, "classMap">, warn: (w: string) => void): DraftNamespace {
    const d: DraftNamespace = { name: ns.name, comments: [], pvcs: [], leftOut: [], sizeBytes: 0 };
    const createdByDvm = ns.pvcs.filter((p) => p.createdByDvm).length;
    const rwoNodes = new Map<string, string[]>();
    for (const pvc of ns.pvcs) {
        if (pvc.createdByDvm) continue;
        const capacity = pvc.capacity ?? pvc.request;
        if (pvc.phase !== "Bound" || capacity === undefined) {
            d.leftOut.push(`${pvc.name}: left out - ${pvc.phase}, not Bound: no volume to copy yet`);
            continue;
        }
        if (pvc.volumeMode === "Block") {
            d.leftOut.push(`${pvc.name}: left out - volumeMode Block: rsync copies file systems, not raw block devices`);
            d.leftOut.push(`- {name: ${pvc.name}, capacity: ${capacity}, accessModes: [${pvc.accessModes.join(", ")}]}`);
            continue;
        }
        const comments: string[] = [];
        const w = (text: string) => {
            const full = `${ns.name}/${pvc.name}: ${text}`;
            warn(full);
            comments.push(`WARNING: ${text}`);
        };
        const choice: ClassChoice = chooseClass(pvc.storageClass, inv.sourceClasses, inv.destinationClasses, opts.classMap);
        comments.push(`${pvc.name}: ${capacity} (status capacity), ${modesText(pvc.accessModes)}, source class ${pvc.storageClass ?? "(none)"}`);
        comments.push(choice.storageClass ? `storageClass ${choice.storageClass}: ${choice.note}` : `storageClass: ${choice.note}`);
        if (choice.warning) w(choice.warning);
        const running = pvc.pods.filter((p) => p.phase === "Running");
        const where = pvc.pods.map((p) => `${p.name} on ${p.node ?? "no node yet"}${p.phase === "Running" ? "" : ` (${p.phase})`}`);
        comments.push(pvc.workloads.length || pvc.pods.length
            ? `mounted by ${pvc.workloads.join(", ") || "no workload"}${where.length ? `; pod${where.length > 1 ? "s" : ""} ${where.join(", ")}` : "; no pod runs now"}`
            : "mounted by no workload");
        const u = usage(pvc);
        comments.push(u.text);
        const cap = bytes(capacity)!;
        if (u.usedBytes !== undefined && u.usedBytes > cap) {
            w(`used ${formatBytes(u.usedBytes)} exceeds the proposed capacity ${capacity}: raise capacity, or the copy runs out of space`);
        }
        if (pvc.accessModes.includes("ReadWriteOncePod") && running.length > 0) {
            w(`ReadWriteOncePod: the transfer pod cannot mount it while ${running.map((p) => p.name).join(", ")} runs; quiesce ${pvc.workloads.join(", ") || "it"} first (a cutover)`);
        }
        if (running.length > 0 && pvc.accessModes.some((m) => RWO.includes(m)) && !pvc.accessModes.some((m) => SHARED.includes(m))) {
            for (const p of running) if (p.node) rwoNodes.set(p.node, [...(rwoNodes.get(p.node) ?? []), pvc.name]);
        }
        const sizeBytes = u.usedBytes ?? cap;
        d.sizeBytes += sizeBytes;
        d.pvcs.push({ name: pvc.name, capacity, accessModes: pvc.accessModes.length ? pvc.accessModes : ["ReadWriteOnce"], ...(choice.storageClass ? { storageClass: choice.storageClass } : {}), comments, sizeBytes });
    }
    if (rwoNodes.size === 1) {
        const [[node, pvcs]] = [...rwoNodes];
        d.nodeName = node;
        d.comments.push(`nodeName ${node}: ReadWriteOnce ${pvcs.join(", ")} mounted there now; the source transfer pod must run on that node`);
    } else if (rwoNodes.size > 1) {
        const text = `ReadWriteOnce volumes are mounted on several nodes (${[...rwoNodes].map(([n, p]) => `${n}: ${p.join(", ")}`).join("; ")}): one transfer pod cannot mount them all while the workloads run; quiesce them first (a cutover), then no nodeName is needed`;
        warn(`${ns.name}: ${text}`);
        d.comments.push(`WARNING: ${text}`);
    }
    if (createdByDvm > 0) d.leftOut.push(`${createdByDvm} PVC${createdByDvm > 1 ? "s" : ""} created by dvm left out`);
    return d;
}

/** Groups namespaces into waves of at most `max` bytes (first fit, largest first); order within a wave is kept. */
export function splitNamespaces(drafts: DraftNamespace[], max: number | undefined): DraftNamespace[][] {
    if (max === undefined) return [drafts];
    const bins: { size: number; members: DraftNamespace[] }[] = [];
    for (const d of [...drafts].sort((a, b) => b.sizeBytes - a.sizeBytes)) {
        const bin = bins.find((b) => b.size + d.sizeBytes <= max);
        if (bin) {
            bin.size += d.sizeBytes;
            bin.members.push(d);
        } else {
            bins.push({ size: d.sizeBytes, members: [d] });
        }
    }
    return bins.map((b) => drafts.filter((d) => b.members.includes(d)));
}

const comment = (lines: string[]) => lines.map((l) => ` ${l}`).join("\n");

/** The wave file text of one wave. */
export function renderWave(name: string, members: DraftNamespace[], header: string[], omitted: DraftNamespace[]): string {
    const doc = new YAML.Document({ name, namespaces: [] as unknown[] });
    doc.commentBefore = comment(header);
    const seq = doc.get("namespaces") as YAML.YAMLSeq;
    for (const ns of members) {
        const node = doc.createNode({ name: ns.name, ...(ns.nodeName ? { nodeName: ns.nodeName } : {}), pvcs: [] as unknown[] }) as YAML.YAMLMap;
        if (ns.comments.length) node.commentBefore = comment(ns.comments);
        const pvcs = node.get("pvcs") as YAML.YAMLSeq;
        for (const p of ns.pvcs) {
            const item = doc.createNode({ name: p.name, capacity: p.capacity, accessModes: p.accessModes, ...(p.storageClass ? { storageClass: p.storageClass } : {}) }) as YAML.YAMLMap;
            (item.get("accessModes") as YAML.YAMLSeq).flow = true;
            item.commentBefore = comment(p.comments);
            pvcs.items.push(item);
        }
        if (ns.leftOut.length) pvcs.comment = comment(ns.leftOut);
        node.spaceBefore = seq.items.length > 0;
        seq.items.push(node);
    }
    if (omitted.length) {
        seq.comment = comment(omitted.flatMap((ns) => [`namespace ${ns.name}: left out - no Bound file-system PVC to migrate`, ...ns.leftOut.map((l) => `  ${l}`)]));
    }
    return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** The wave files for an inventory; every one has passed validateWave. */
export function discoverWaves(inv: Inventory, opts: DiscoverOptions): Discovery {
    const warnings: string[] = [];
    const drafts = inv.namespaces.map((ns) => draftNamespace(ns, inv, opts, (w) => warnings.push(w)));
    const migratable = drafts.filter((d) => d.pvcs.length > 0);
    const omitted = drafts.filter((d) => d.pvcs.length === 0);
    if (migratable.length === 0) {
        throw new Error(`nothing to migrate: ${drafts.map((d) => `namespace ${d.name} has ${d.leftOut.length ? d.leftOut.join("; ") : "no PVCs"}`).join(". ")}. dvm migrates Bound file-system PVCs; e.g. dvm discover --namespace <ns with such PVCs>`);
    }
    const groups = splitNamespaces(migratable, opts.maxWaveBytes);
    const waves: WaveFile[] = [];
    groups.forEach((members, i) => {
        const name = groups.length > 1 ? `${opts.name}-${i + 1}` : opts.name;
        const size = members.reduce((n, d) => n + d.sizeBytes, 0);
        const header = [
            `Written by dvm discover on ${opts.now.toISOString()}: review it before \`pulumi up\`.`,
            `  ${opts.command}`,
            `Source cluster: ${inv.source}.`,
            `Destination storage classes: ${inv.destination ? `read from the destination cluster (${inv.destination})` : "not checked (no destination cluster given)"}.`,
            "Per PVC: capacity is the source PVC's status capacity (the destination PVC's size); the destination class and",
            "the rule that chose it; the workloads that mount it and their pod's node (what a cutover quiesces, where a",
            "ReadWriteOnce copy must run); used bytes where the kubelet measures the volume.",
        ];
        if (opts.maxWaveBytes !== undefined) {
            header.push(`Wave ${i + 1} of ${groups.length} (--max-wave-bytes ${formatBytes(opts.maxWaveBytes)}): ${formatBytes(size)} (used bytes; capacity where unknown).`);
            if (size > opts.maxWaveBytes) {
                const w = `wave ${name}: namespace ${members[0].name} alone is ${formatBytes(size)}, more than --max-wave-bytes ${formatBytes(opts.maxWaveBytes)}; a namespace is never split`;
                warnings.push(w);
                header.push(`WARNING: ${w.slice(w.indexOf(": ") + 2)}`);
            }
        }
        const n = members.reduce((k, d) => k + d.comments.concat(...d.pvcs.map((p) => p.comments)).filter((c) => c.startsWith("WARNING")).length, 0);
        if (n > 0) header.push(`${n} WARNING${n > 1 ? "s" : ""} below: act on them before \`pulumi up\`.`);
        header.push("Then: pulumi config set dvm:wave <this file>; dvm check --stack <stack>; pulumi up");
        const text = renderWave(name, members, header, i === 0 ? omitted : []);
        try {
            validateWave(parseWaveText(text, `${name}.yaml`), `${name}.yaml`);
        } catch (e) {
            throw new Error(`dvm discover wrote a wave its own validation refuses (a bug in dvm; please report it):\n${(e as Error).message}\n--- the wave:\n${text}`);
        }
        waves.push({ name, namespaces: members.map((d) => d.name), pvcs: members.reduce((k, d) => k + d.pvcs.length, 0), sizeBytes: size, text });
    });
    return { waves, warnings };
}
