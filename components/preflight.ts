// What the clusters already hold, read before anything is declared (preview and up alike): objects another stack
// owns under the names this wave needs - a clash server-side apply would only report as a field conflict naming
// neither stack nor wave - and the waves of this stack that this run removes although their copy never succeeded.
// The decisions are pure functions of what was read; index.ts reads the clusters (kube/) and acts on them.
import { ConfigError, Problem } from "../config/errors";
import { Plan } from "../config/plan";
import { ANNOTATIONS, LABELS, MANAGED_BY, ROLE_DESTINATION } from "../contract";
import { transferNames } from "./names";

/** One object as read from a cluster: enough to say whose it is. */
export interface SeenObject {
    kind: string;
    namespace: string;
    name: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
}

/** The kinds the program creates under per-wave names, per side. */
export const SOURCE_KINDS = ["Secret", "ConfigMap", "Job"] as const;
export const DESTINATION_KINDS = ["Secret", "ConfigMap", "Deployment", "Service", "PersistentVolumeClaim"] as const;
export type Kind = (typeof SOURCE_KINDS)[number] | (typeof DESTINATION_KINDS)[number];

/** Lists dvm's objects (label managed-by=dvm) of one kind on one cluster. */
export interface ClusterReader {
    list(kind: Kind): Promise<SeenObject[]>;
}

const owner = (o: SeenObject) => o.annotations[ANNOTATIONS.stack];

/**
 * Objects this wave would create or take over that another stack owns (its `dvm.io/stack` annotation names another
 * stack). Objects without the annotation (made before dvm recorded it) are not judged.
 */
export function clashProblems(plan: Pick<Plan, "wave" | "pass" | "namespaces">, stackId: string, source: SeenObject[], destination: SeenObject[]): Problem[] {
    const problems: Problem[] = [];
    const where = `${plan.wave.file}: name`;
    const foreign = (objects: SeenObject[], ns: string, names: string[]) =>
        objects.filter((o) => o.namespace === ns && names.includes(o.name) && owner(o) !== undefined && owner(o) !== stackId);
    plan.namespaces.forEach((ns, i) => {
        const names = transferNames(plan.wave.name, ns.target, plan.pass);
        const mine = [names.credentials, names.scripts, names.config];
        for (const o of foreign(source, ns.source, [...mine, names.job])) {
            problems.push({
                where,
                what: `wave "${plan.wave.name}" cannot use namespace "${ns.source}" on the source cluster: ${o.kind} ${o.namespace}/${o.name} belongs to stack ` +
                    `${owner(o)}, which runs a wave of the same name there (wave ${o.labels[LABELS.wave] ?? "?"}). Two stacks cannot run waves of one name in ` +
                    "one namespace: give this wave another name, or remove the other stack's wave first",
                example: `name: ${plan.wave.name}-b`,
            });
        }
        for (const o of foreign(destination.filter((d) => d.kind !== "PersistentVolumeClaim"), ns.target, [...mine, names.server])) {
            problems.push({
                where,
                what: `wave "${plan.wave.name}" cannot use namespace "${ns.target}" on the destination cluster: ${o.kind} ${o.namespace}/${o.name} belongs to stack ` +
                    `${owner(o)}, which runs a wave of the same name there. Give this wave another name, or remove the other stack's wave first`,
                example: `name: ${plan.wave.name}-b`,
            });
        }
        for (const o of foreign(destination.filter((d) => d.kind === "PersistentVolumeClaim"), ns.target, ns.pvcs.map((p) => p.target))) {
            const j = ns.pvcs.findIndex((p) => p.target === o.name);
            problems.push({
                where: `${plan.wave.file}: namespaces[${i}].pvcs[${j}].targetName`,
                what: `destination PVC ${o.namespace}/${o.name} is already the copy of stack ${owner(o)} (wave ${o.labels[LABELS.wave] ?? "?"}, ` +
                    `source ${o.annotations[ANNOTATIONS.sourcePvc] ?? "?"}): two stacks cannot copy into one PVC; give this one another targetName`,
                example: `- {name: ${ns.pvcs[j].source}, targetName: ${o.name}-2, capacity: ${ns.pvcs[j].capacity}}`,
            });
        }
    });
    return problems;
}

/** Throws a ConfigError when clashProblems finds any. */
export function assertNoClash(plan: Pick<Plan, "wave" | "pass" | "namespaces">, stackId: string, source: SeenObject[], destination: SeenObject[]): void {
    const problems = clashProblems(plan, stackId, source, destination);
    if (problems.length) throw new ConfigError(problems);
}

/**
 * Warnings for the waves of this stack that this run removes (their destination transfer Deployment is still there,
 * under another wave's name) while a destination PVC of theirs does not hold a complete copy: its copy-succeeded
 * marker is missing or older than its copy-started one - a transfer was cut off and files may be truncated.
 */
export function removedWaveWarnings(plan: Pick<Plan, "wave">, stackId: string, destination: SeenObject[]): string[] {
    const ours = destination.filter((o) => owner(o) === stackId && o.labels[LABELS.managedBy] === MANAGED_BY);
    const removed = new Set(ours
        .filter((o) => o.kind === "Deployment" && o.labels[LABELS.role] === ROLE_DESTINATION && o.labels[LABELS.wave] && o.labels[LABELS.wave] !== plan.wave.name)
        .map((o) => o.labels[LABELS.wave]));
    const out: string[] = [];
    for (const wave of [...removed].sort()) {
        const incomplete = ours
            .filter((o) => o.kind === "PersistentVolumeClaim" && o.labels[LABELS.wave] === wave)
            .filter((o) => o.annotations[ANNOTATIONS.copySucceeded] === undefined || o.annotations[ANNOTATIONS.copySucceeded] !== o.annotations[ANNOTATIONS.copyStarted])
            .map((o) => `${o.namespace}/${o.name} (started: ${o.annotations[ANNOTATIONS.copyStarted] ?? "?"}, succeeded: ${o.annotations[ANNOTATIONS.copySucceeded] ?? "never"})`)
            .sort();
        if (incomplete.length === 0) continue;
        out.push(`dvm: this run removes wave "${wave}" (dvm:wave now names wave "${plan.wave.name}"), but its transfer did not succeed for ` +
            `${incomplete.length} destination PVC(s): ${incomplete.join(", ")}. Their data stays, but may be incomplete or hold truncated files ` +
            `(the ${ANNOTATIONS.copySucceeded} annotation says which pass completed). To finish the copy first, set dvm:wave back to that wave's file and run ` +
            "pulumi up with the next dvm:pass.");
    }
    return out;
}

/** The real reader: client-node with one cluster's kubeconfig content and context (dvm's objects, cluster-wide). */
export function kubeReader(kubeconfig: string, context: string | undefined, cluster: string): ClusterReader {
    const k8s = require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
    const { apiError, kubeConfig } = require("../kube") as typeof import("../kube");
    const kc = kubeConfig({ kubeconfig, context }, { what: `dvm:${cluster}`, cluster, reader: "dvm's check of existing objects" });
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const batch = kc.makeApiClient(k8s.BatchV1Api);
    const selector = `${LABELS.managedBy}=${MANAGED_BY}`;
    type Meta = { metadata?: { namespace?: string; name?: string; labels?: Record<string, string>; annotations?: Record<string, string> } };
    const calls: Record<Kind, () => Promise<{ body: { items: Meta[] } }>> = {
        Secret: () => core.listSecretForAllNamespaces(undefined, undefined, undefined, selector),
        ConfigMap: () => core.listConfigMapForAllNamespaces(undefined, undefined, undefined, selector),
        Service: () => core.listServiceForAllNamespaces(undefined, undefined, undefined, selector),
        PersistentVolumeClaim: () => core.listPersistentVolumeClaimForAllNamespaces(undefined, undefined, undefined, selector),
        Deployment: () => apps.listDeploymentForAllNamespaces(undefined, undefined, undefined, selector),
        Job: () => batch.listJobForAllNamespaces(undefined, undefined, undefined, selector),
    };
    return {
        async list(kind) {
            try {
                const res = await calls[kind]();
                return res.body.items.map((i) => ({
                    kind, namespace: i.metadata?.namespace ?? "", name: i.metadata?.name ?? "",
                    labels: i.metadata?.labels ?? {}, annotations: i.metadata?.annotations ?? {},
                }));
            } catch (e) {
                throw new Error(`${cluster} cluster: ${apiError(`list the ${kind}s dvm made (label ${selector})`, e).message}`);
            }
        },
    };
}

/**
 * The destination PVCs (`<namespace>/<name>`) this stack made that are in the cluster now. A rollback, a removed wave
 * or a replacement only drops a PVC from the state (retainOnDelete); the next pass re-adopts it with a forced apply,
 * since the field manager that set its annotations is gone with the state. Another stack's PVCs are a clash instead,
 * and a claim dvm did not make is never forced.
 */
export function ownClaims(stackId: string, destination: SeenObject[]): string[] {
    return destination
        .filter((o) => o.kind === "PersistentVolumeClaim" && owner(o) === stackId && o.labels[LABELS.managedBy] === MANAGED_BY)
        .map((o) => `${o.namespace}/${o.name}`)
        .sort();
}

/** Reads both clusters: the clash check (throws ConfigError), the removed-wave warnings and this stack's own claims. */
export async function checkClusters(plan: Plan, stackId: string, source: ClusterReader, destination: ClusterReader): Promise<{ warnings: string[]; ownClaims: string[] }> {
    const [src, dst] = await Promise.all([
        Promise.all(SOURCE_KINDS.map((k) => source.list(k))).then((l) => l.flat()),
        Promise.all(DESTINATION_KINDS.map((k) => destination.list(k))).then((l) => l.flat()),
    ]);
    assertNoClash(plan, stackId, src, dst);
    return { warnings: removedWaveWarnings(plan, stackId, dst), ownClaims: ownClaims(stackId, dst) };
}
