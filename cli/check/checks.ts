// `dvm check`: the pre-flight of a whole plan against both clusters. Reads and access reviews only - nothing is
// created or changed. Each check gives rows of ok / warn / fail; a failure says how to fix it, naming the stack key or
// the wave-file path to change.
import type { KubeConfig } from "@kubernetes/client-node";
import { AccessRow, accessRows, Cluster, labelsNamespaces, resourceName, Verb } from "../../components/access";
import { transferNames } from "../../components/names";
import { NamespacePlan, Plan, PvcPlan } from "../../config/plan";
import { parseQuantity } from "../../config/rules";
import { LABELS, MANAGED_BY, PSA_LABELS, ROLE_SOURCE, ROOT_CAPABILITIES } from "../../contract";
import { apiError, statusCode } from "../../kube";
import { canI, ingressClasses, readNamespaces, serverVersion, servesGroupVersion, storageClasses, StorageClassInfo, whoAmI } from "../../kube/cluster";
import { claimsOfPodSpec, KubeObject } from "../../kube/workloads";
import { formatBytes } from "../format";

export type Status = "ok" | "warn" | "fail";

export interface CheckResult {
    status: Status;
    cluster: Cluster | "plan";
    check: string;
    subject: string;
    detail: string;
    /** How to fix a failure (or act on a warning). */
    fix?: string;
}

export interface CheckClusters {
    source: { kc?: KubeConfig; error?: string };
    destination: { kc?: KubeConfig; error?: string };
}

type K8s = typeof import("@kubernetes/client-node");
const k8s = (): K8s => require("@kubernetes/client-node") as K8s;
const plain = (x: unknown): KubeObject => JSON.parse(JSON.stringify(x)) as KubeObject;
const bytes = (q: string | undefined) => (q === undefined ? undefined : parseQuantity(String(q)));

/** `waves/w.yaml: namespaces[1].pvcs[0].storageClass`: where in the wave file a PVC's setting lives. */
function wavePath(plan: Plan, ns: NamespacePlan, pvc?: PvcPlan, key?: string): string {
    const i = plan.namespaces.indexOf(ns);
    const j = pvc ? ns.pvcs.indexOf(pvc) : -1;
    return `${plan.wave.file}: namespaces[${i}]${j >= 0 ? `.pvcs[${j}]` : ""}${key ? `.${key}` : ""}`;
}

const contextOf = (kc: KubeConfig) => kc.getCurrentContext() || "?";

/** What `dvm check` itself reads besides the access table's rows (RBAC rules; access reviews need no permission). */
export const CHECK_READS: Record<Cluster, { apiGroups: string[]; resources: string[]; verbs: Verb[] }[]> = {
    source: [
        { apiGroups: [""], resources: ["namespaces"], verbs: ["get"] },
        { apiGroups: [""], resources: ["persistentvolumeclaims", "pods", "resourcequotas"], verbs: ["list"] },
        { apiGroups: ["batch"], resources: ["jobs"], verbs: ["list"] },
    ],
    destination: [
        { apiGroups: [""], resources: ["namespaces"], verbs: ["get"] },
        { apiGroups: [""], resources: ["persistentvolumeclaims", "resourcequotas", "services"], verbs: ["list"] },
        { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get"] },
        { apiGroups: ["storage.k8s.io"], resources: ["storageclasses"], verbs: ["list"] },
        { apiGroups: ["networking.k8s.io"], resources: ["ingressclasses"], verbs: ["list"] },
    ],
};

// ------------------------------------------------------------------------------------------------ Pod Security

/** Capabilities the Pod Security `baseline` level admits (Kubernetes' Pod Security Standards). */
const BASELINE_CAPABILITIES = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"];
const LEVELS = ["restricted", "baseline", "privileged"] as const;
type Level = typeof LEVELS[number];

/** The lowest Pod Security level that admits the transfer pods of this privilege mode (components/security.ts). */
export function requiredLevel(sec: Plan["security"]): Level {
    if (sec.superPrivileged) return "privileged";
    if (sec.runAsRoot) return ROOT_CAPABILITIES.every((c) => BASELINE_CAPABILITIES.includes(c)) ? "baseline" : "privileged";
    return "restricted";
}

function modeName(sec: Plan["security"]): string {
    return sec.superPrivileged ? "dvm:security.superPrivileged" : sec.runAsRoot ? "dvm:security.runAsRoot" : "non-root (the default)";
}

/** One namespace's Pod Security verdict. `labelledByDvm`: dvm sets the privileged labels on it for the wave. */
export function podSecurityResult(cluster: Cluster, ns: string, labels: Record<string, string> | undefined, exists: boolean, plan: Plan, labelledByDvm: boolean): CheckResult {
    const need = requiredLevel(plan.security);
    const base = { cluster, check: "pod security", subject: ns };
    const mode = modeName(plan.security);
    if (labelledByDvm) return { ...base, status: "ok", detail: `${mode} needs ${need}; dvm labels the namespace privileged for the wave (dvm:security.podSecurityLabels)` };
    if (need === "restricted") return { ...base, status: "ok", detail: `${mode}: the transfer pods meet the restricted level` };
    const enforce = labels?.[PSA_LABELS[0]];
    const fix = `pulumi config set --path dvm:security.podSecurityLabels true (dvm labels the namespace for the wave), or: kubectl --context <${cluster}> label namespace ${ns} ${PSA_LABELS[0]}=${need} --overwrite`;
    if (!exists || enforce === undefined) {
        return { ...base, status: "warn", detail: `${mode} needs ${need}; ${exists ? "the namespace has no" : "dvm creates the namespace without an"} ${PSA_LABELS[0]} label, so the cluster's default level applies (Kubernetes: privileged; OpenShift and hardened clusters: stricter)`, fix };
    }
    // an unknown level is enforced as restricted
    const have: Level = (LEVELS as readonly string[]).includes(enforce) ? (enforce as Level) : "restricted";
    if (LEVELS.indexOf(have) >= LEVELS.indexOf(need)) return { ...base, status: "ok", detail: `${mode} needs ${need}; the namespace enforces ${enforce}` };
    return { ...base, status: "fail", detail: `${mode} needs ${need}, but the namespace enforces ${enforce}: the transfer pods would be refused`, fix };
}

// ------------------------------------------------------------------------------------------------ quotas

/** What the wave adds to one namespace, in ResourceQuota keys. `already`: dvm's transfer objects exist there (an
 * earlier pass), so only what is new counts. */
export function quotaNeeds(plan: Plan, cluster: Cluster, newPvcs: PvcPlan[], defaultClass: string | undefined, already: boolean): Record<string, number> {
    const containers = cluster === "source" ? [plan.resources.rsync, plan.resources.stunnel] : [plan.resources.rsyncd, plan.resources.stunnel];
    const sum = (pick: (r: typeof containers[number]) => string) => containers.reduce((n, r) => n + (parseQuantity(pick(r)) ?? 0), 0);
    const pod = {
        pods: 1, "count/pods": 1,
        "requests.cpu": sum((r) => r.requests.cpu), cpu: sum((r) => r.requests.cpu), "limits.cpu": sum((r) => r.limits.cpu),
        "requests.memory": sum((r) => r.requests.memory), memory: sum((r) => r.requests.memory), "limits.memory": sum((r) => r.limits.memory),
    };
    // a new pass of the source Job: the old pod has finished (quotas count only running pods) and the old Job is
    // deleted before the new one; Secret and ConfigMaps keep their names
    if (cluster === "source") return already ? pod : { ...pod, secrets: 1, "count/secrets": 1, configmaps: 2, "count/configmaps": 2, "count/jobs.batch": 1 };
    const out: Record<string, number> = already ? {} : {
        ...pod, secrets: 1, "count/secrets": 1, configmaps: 2, "count/configmaps": 2, services: 1, "count/services": 1,
        "count/deployments.apps": 1, "count/replicasets.apps": 1,
        ...(plan.destination.endpoint.type === "nodePort" ? { "services.nodeports": 1 } : {}),
        ...(plan.destination.endpoint.type === "loadBalancer" ? { "services.loadbalancers": 1 } : {}),
        ...(plan.destination.endpoint.type === "ingress" ? { "count/ingresses.networking.k8s.io": 1 } : {}),
        ...(plan.destination.endpoint.type === "route" ? { "count/routes.route.openshift.io": 1 } : {}),
    };
    const add = (k: string, v: number) => { out[k] = (out[k] ?? 0) + v; };
    for (const p of newPvcs) {
        const size = parseQuantity(p.capacity) ?? 0;
        add("persistentvolumeclaims", 1);
        add("count/persistentvolumeclaims", 1);
        add("requests.storage", size);
        const cls = p.storageClass ?? defaultClass;
        if (cls) {
            add(`${cls}.storageclass.storage.k8s.io/requests.storage`, size);
            add(`${cls}.storageclass.storage.k8s.io/persistentvolumeclaims`, 1);
        }
    }
    return out;
}

const showQuantity = (key: string, v: number) => (/storage|memory/.test(key) ? formatBytes(v) : /cpu/.test(key) ? `${Math.round(v * 1000)}m` : String(v));

/** The verdict of one namespace's quotas for what the wave adds. */
export function quotaResults(cluster: Cluster, ns: string, quotas: KubeObject[], needs: Record<string, number>): CheckResult[] {
    const base = { cluster, check: "resource quota", subject: ns };
    if (quotas.length === 0) return [{ ...base, status: "ok", detail: "no ResourceQuota" }];
    const out: CheckResult[] = [];
    for (const q of quotas) {
        const hard: Record<string, string> = q.status?.hard ?? q.spec?.hard ?? {};
        const used: Record<string, string> = q.status?.used ?? {};
        const scoped = (q.spec?.scopes?.length ?? 0) > 0 || !!q.spec?.scopeSelector;
        const over: string[] = [];
        for (const [key, limit] of Object.entries(hard)) {
            const need = needs[key];
            if (!need) continue;
            const h = bytes(limit) ?? Infinity;
            const u = bytes(used[key]) ?? 0;
            if (u + need > h) over.push(`${key}: ${showQuantity(key, u)} used + ${showQuantity(key, need)} > ${showQuantity(key, h)}`);
        }
        const name = q.metadata?.name ?? "?";
        if (over.length === 0) {
            out.push({ ...base, status: "ok", detail: `ResourceQuota ${name} leaves room for the wave` });
        } else {
            out.push({
                ...base, status: scoped ? "warn" : "fail",
                detail: `ResourceQuota ${name}${scoped ? " (scoped: it may not count the transfer pod)" : ""} has no room: ${over.join("; ")}`,
                fix: `raise the quota (kubectl --context <${cluster}> -n ${ns} edit resourcequota ${name}), or move PVCs of ${ns} to a later wave`,
            });
        }
    }
    return out;
}

// ------------------------------------------------------------------------------------------------ the runner

interface Ctx {
    plan: Plan;
    results: CheckResult[];
}

async function guarded(ctx: Ctx, cluster: Cluster | "plan", check: string, body: () => Promise<void>): Promise<void> {
    try {
        await body();
    } catch (e) {
        ctx.results.push({ cluster, check, subject: "-", status: "fail", detail: apiError(`check the ${check}`, e).message, fix: "`dvm check` reads what it checks: grant the reads docs/cli.md lists, or fix what the message names" });
    }
}

async function list(kc: KubeConfig, what: "pvcs" | "pods" | "quotas" | "jobs", ns: string, selector?: string): Promise<KubeObject[]> {
    const core = kc.makeApiClient(k8s().CoreV1Api);
    const res = what === "pvcs" ? await core.listNamespacedPersistentVolumeClaim(ns)
        : what === "pods" ? await core.listNamespacedPod(ns)
        : what === "quotas" ? await core.listNamespacedResourceQuota(ns)
        : await kc.makeApiClient(k8s().BatchV1Api).listNamespacedJob(ns, undefined, undefined, undefined, undefined, selector);
    return (res.body.items as unknown[]).map(plain);
}

/** Runs SelfSubjectAccessReviews with a few in flight at once. */
async function reviewAll<T>(items: T[], ask: (t: T) => Promise<boolean>): Promise<boolean[]> {
    const out: boolean[] = new Array(items.length);
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(8, items.length) }, async () => {
        while (next < items.length) {
            const i = next++;
            out[i] = await ask(items[i]);
        }
    }));
    return out;
}

async function permissions(ctx: Ctx, cluster: Cluster, kc: KubeConfig, namespaces: string[], user: string | undefined): Promise<void> {
    const rows = accessRows(ctx.plan, cluster);
    type Q = { row: AccessRow; verb: Verb; ns?: string; optional: boolean };
    const qs: Q[] = [];
    for (const row of rows) {
        for (const [verbs, optional] of [[row.verbs, false], [row.optional ?? [], true]] as const) {
            for (const verb of verbs) {
                if (row.scope === "cluster") qs.push({ row, verb, optional });
                else for (const ns of namespaces) qs.push({ row, verb, ns, optional });
            }
        }
    }
    const allowed = await reviewAll(qs, async (q) => {
        const [resource, subresource] = q.row.resource.split("/");
        const r = await canI(kc, {
            verb: q.verb, group: q.row.group, resource, ...(subresource ? { subresource } : {}),
            ...(q.row.scope === "namespaced" ? { namespace: q.ns } : {}),
            // create is authorized before the object has a name: asking with one would match resourceNames rules
            ...(q.row.scope === "namespace-object" && q.verb !== "create" ? { name: q.ns } : {}),
        });
        return r.allowed;
    });
    const who = user ? `user ${user}` : "the kubeconfig's user";
    const fine: string[] = [];
    for (const row of rows) {
        const missing = (optional: boolean) => {
            const byVerb = new Map<Verb, string[]>();
            qs.forEach((q, i) => {
                if (q.row === row && q.optional === optional && !allowed[i]) byVerb.set(q.verb, [...(byVerb.get(q.verb) ?? []), q.ns ?? "(cluster)"]);
            });
            return byVerb;
        };
        const req = missing(false);
        const opt = missing(true);
        const name = resourceName(row);
        const describe = (m: Map<Verb, string[]>) => [...m].map(([v, nss]) => `${v}${row.scope === "cluster" ? "" : ` (${row.scope === "namespace-object" ? "namespace" : "in"} ${nss.join(", ")})`}`).join(", ");
        const fix = (m: Map<Verb, string[]>) => `grant ${who} the verbs ${[...m.keys()].join(", ")} on ${name}${row.scope === "namespaced" ? ` in ${[...new Set([...m.values()].flat())].join(", ")}` : ""} (an RBAC rule {apiGroups: ["${row.group}"], resources: ["${row.resource}"], verbs: [${[...m.keys()].join(", ")}]}); check with: kubectl --context ${contextOf(kc)} auth can-i ${[...m.keys()][0]} ${name}${row.scope === "namespaced" ? ` -n ${[...m.values()][0][0]}` : ""}`;
        if (req.size) ctx.results.push({ cluster, check: "permissions", subject: name, status: "fail", detail: `${who} may not ${describe(req)}: ${row.why}`, fix: fix(req) });
        else if (opt.size) ctx.results.push({ cluster, check: "permissions", subject: name, status: "warn", detail: `${who} may not ${describe(opt)}: ${row.why} (pulumi up works without it)`, fix: fix(opt) });
        else fine.push(name);
    }
    if (fine.length > 0) {
        ctx.results.push({ cluster, check: "permissions", subject: `${fine.length} of ${rows.length} kinds`, status: "ok", detail: `${who} may do every verb the wave needs (SelfSubjectAccessReview) on ${fine.join(", ")}` });
    }
}

/** Every check of the plan; `clusters` carries a KubeConfig per side, or why there is none. */
export async function runChecks(plan: Plan, clusters: CheckClusters): Promise<CheckResult[]> {
    const ctx: Ctx = { plan, results: [] };
    const R = (...rs: CheckResult[]) => ctx.results.push(...rs);

    // ---------------------------------------------------------------- the plan itself
    const pinned = /@sha256:[0-9a-f]{64}$/.test(plan.transferImage);
    R(pinned
        ? { cluster: "plan", check: "transfer image", subject: plan.transferImage, status: "ok", detail: "pinned by digest" }
        : {
            cluster: "plan", check: "transfer image", subject: plan.transferImage, status: "warn",
            detail: "not pinned by digest: the image behind the tag can change between passes, and between the two clusters",
            fix: `pin it: pulumi config set dvm:transferImage ${plan.transferImage.replace(/:[^:/@]+$/, "")}@sha256:<digest> (skopeo inspect docker://${plan.transferImage} shows the digest)`,
        });

    const reach: Record<Cluster, { kc: KubeConfig; user?: string } | undefined> = { source: undefined, destination: undefined };
    for (const cluster of ["source", "destination"] as const) {
        const c = clusters[cluster];
        const key = `dvm:${cluster}`;
        if (!c.kc) {
            R({ cluster, check: "api server", subject: key, status: "fail", detail: c.error ?? "no kubeconfig", fix: `fix ${key} (kubeconfig: a file or its content; context: a context in it), e.g. pulumi config set --path ${key}.context ${cluster === "source" ? "src-admin" : "dst-admin"}` });
            continue;
        }
        const server = c.kc.getCurrentCluster()?.server ?? "?";
        try {
            const version = await serverVersion(c.kc);
            const user = await whoAmI(c.kc);
            reach[cluster] = { kc: c.kc, ...(user ? { user } : {}) };
            R({ cluster, check: "api server", subject: server, status: "ok", detail: `reachable: Kubernetes ${version}, context ${contextOf(c.kc)}${user ? `, user ${user}` : ""}` });
        } catch (e) {
            R({
                cluster, check: "api server", subject: server, status: "fail", detail: `not reachable with ${key}: ${apiError("read /version", e).message}`,
                fix: `check ${key} and the network: kubectl --context ${contextOf(c.kc)} get --raw /version must answer (the ${cluster} checks are skipped until it does)`,
            });
        }
    }

    const src = reach.source;
    const dst = reach.destination;
    const sourceNamespaces = plan.namespaces.map((n) => n.source);
    const targetNamespaces = plan.namespaces.map((n) => n.target);

    // ---------------------------------------------------------------- source
    if (src) {
        await guarded(ctx, "source", "permissions", () => permissions(ctx, "source", src.kc, sourceNamespaces, src.user));
        let nsObjects = new Map<string, KubeObject | undefined>();
        await guarded(ctx, "source", "namespaces", async () => {
            nsObjects = await readNamespaces(src.kc, sourceNamespaces);
        });
        for (const ns of plan.namespaces) {
            const o = nsObjects.get(ns.source);
            if (!nsObjects.has(ns.source)) continue;
            if (!o) {
                R({ cluster: "source", check: "namespace", subject: ns.source, status: "fail", detail: "does not exist on the source cluster", fix: `fix or remove ${wavePath(plan, ns)}.name (dvm discover lists what exists)` });
                continue;
            }
            R(podSecurityResult("source", ns.source, o.metadata?.labels, true, plan, labelsNamespaces(plan.security)));
            await guarded(ctx, "source", "source PVCs", async () => {
                const pvcs = await list(src.kc, "pvcs", ns.source);
                let pods: KubeObject[] = [];
                try {
                    pods = (await list(src.kc, "pods", ns.source)).filter((p) => p.status?.phase === "Running");
                } catch (e) {
                    if (statusCode(e) !== 403) throw e;
                }
                for (const p of ns.pvcs) R(...sourcePvcResults(plan, ns, p, pvcs.find((x) => x.metadata?.name === p.source), pods));
            });
            await guarded(ctx, "source", "resource quota", async () => {
                const quotas = await list(src.kc, "quotas", ns.source);
                if (quotas.length === 0) return void R({ cluster: "source", check: "resource quota", subject: ns.source, status: "ok", detail: "no ResourceQuota" });
                const jobs = await list(src.kc, "jobs", ns.source, `${LABELS.role}=${ROLE_SOURCE},${LABELS.wave}=${plan.wave.name}`).catch(() => []);
                for (const r of quotaResults("source", ns.source, quotas, quotaNeeds(plan, "source", [], undefined, jobs.length > 0))) R(r);
            });
        }
    }

    // ---------------------------------------------------------------- destination
    if (dst) {
        await guarded(ctx, "destination", "permissions", () => permissions(ctx, "destination", dst.kc, targetNamespaces, dst.user));
        let classes: StorageClassInfo[] | undefined;
        await guarded(ctx, "destination", "storage classes", async () => {
            try {
                classes = await storageClasses(dst.kc);
            } catch (e) {
                R({ cluster: "destination", check: "storage class", subject: "-", status: "warn", detail: `cannot be verified: ${apiError("list storage classes", e).message}`, fix: "grant list on storageclasses.storage.k8s.io to check them, or verify by hand: kubectl get storageclass" });
                return;
            }
            R(...storageClassResults(plan, classes));
        });
        const defaultClass = classes?.find((c) => c.isDefault)?.name;
        let nsObjects = new Map<string, KubeObject | undefined>();
        await guarded(ctx, "destination", "namespaces", async () => {
            nsObjects = await readNamespaces(dst.kc, targetNamespaces);
        });
        for (const ns of plan.namespaces) {
            if (!nsObjects.has(ns.target)) continue;
            const o = nsObjects.get(ns.target);
            R(podSecurityResult("destination", ns.target, o?.metadata?.labels, !!o, plan, labelsNamespaces(plan.security)));
            if (!o) {
                for (const p of ns.pvcs) R(destinationPvcResult(plan, ns, p, undefined, classes, defaultClass));
                R({ cluster: "destination", check: "resource quota", subject: ns.target, status: "ok", detail: "the namespace is new: no ResourceQuota" });
                continue;
            }
            let existing: KubeObject[] = [];
            await guarded(ctx, "destination", "destination PVCs", async () => {
                existing = await list(dst.kc, "pvcs", ns.target);
                for (const p of ns.pvcs) R(destinationPvcResult(plan, ns, p, existing.find((x) => x.metadata?.name === p.target), classes, defaultClass));
            });
            await guarded(ctx, "destination", "resource quota", async () => {
                const quotas = await list(dst.kc, "quotas", ns.target);
                if (quotas.length === 0) return void R({ cluster: "destination", check: "resource quota", subject: ns.target, status: "ok", detail: "no ResourceQuota" });
                let already = false;
                try {
                    await dst.kc.makeApiClient(k8s().AppsV1Api).readNamespacedDeployment(transferNames(plan.wave.name, ns.target, plan.pass).server, ns.target);
                    already = true;
                } catch {
                    // not there (or not readable): count the transfer objects as new
                }
                const fresh = ns.pvcs.filter((p) => !existing.some((x) => x.metadata?.name === p.target));
                for (const r of quotaResults("destination", ns.target, quotas, quotaNeeds(plan, "destination", fresh, defaultClass, already))) R(r);
            });
        }
        await guarded(ctx, "destination", "endpoint", () => endpointCheck(ctx, dst.kc, src?.kc));
    }
    return ctx.results;
}

function sourcePvcResults(plan: Plan, ns: NamespacePlan, p: PvcPlan, o: KubeObject | undefined, runningPods: KubeObject[]): CheckResult[] {
    const base = { cluster: "source" as const, check: "source PVC", subject: `${ns.source}/${p.source}` };
    if (!o) return [{ ...base, status: "fail", detail: "does not exist", fix: `fix or remove ${wavePath(plan, ns, p, "name")} (dvm discover lists the namespace's PVCs)` }];
    const phase = o.status?.phase;
    if (phase !== "Bound") return [{ ...base, status: "fail", detail: `is ${phase ?? "in no phase"}, not Bound: there is no volume to copy`, fix: `wait until it is Bound, or remove ${wavePath(plan, ns, p)}` }];
    if (o.spec?.volumeMode === "Block") return [{ ...base, status: "fail", detail: "volumeMode Block: rsync copies file systems, not raw block devices", fix: `remove ${wavePath(plan, ns, p)}` }];
    const out: CheckResult[] = [];
    const cap = o.status?.capacity?.storage as string | undefined;
    const modes: string[] = o.spec?.accessModes ?? o.status?.accessModes ?? [];
    if (cap && (parseQuantity(String(cap)) ?? 0) > (parseQuantity(p.capacity) ?? 0)) {
        out.push({ ...base, status: "warn", detail: `the destination PVC (${p.capacity}) is smaller than the source volume (${cap}): the copy fits only if the used bytes do`, fix: `set ${wavePath(plan, ns, p, "capacity")}: ${cap}` });
    }
    const mounting = runningPods.filter((pod) => claimsOfPodSpec(pod.spec).includes(p.source));
    const nodes = [...new Set(mounting.map((pod) => pod.spec?.nodeName).filter(Boolean))] as string[];
    const rwoOnly = modes.some((m) => m === "ReadWriteOnce" || m === "ReadWriteOncePod") && !modes.some((m) => m === "ReadWriteMany" || m === "ReadOnlyMany");
    if (modes.includes("ReadWriteOncePod") && mounting.length) {
        out.push({ ...base, status: "warn", detail: `ReadWriteOncePod and mounted by ${mounting.map((x) => x.metadata?.name).join(", ")}: the transfer pod cannot start while it runs`, fix: "quiesce the workload first (a cutover)" });
    } else if (rwoOnly && nodes.length === 1 && ns.nodeName !== nodes[0]) {
        out.push({ ...base, status: "warn", detail: `ReadWriteOnce and mounted on node ${nodes[0]} (pod ${mounting[0].metadata?.name}): the transfer pod must run there`, fix: `set ${wavePath(plan, ns, undefined, "nodeName")}: ${nodes[0]}` });
    } else if (rwoOnly && nodes.length > 1) {
        out.push({ ...base, status: "warn", detail: `ReadWriteOnce and mounted on several nodes (${nodes.join(", ")})`, fix: "quiesce the workloads first (a cutover)" });
    }
    if (out.length === 0) out.push({ ...base, status: "ok", detail: `Bound, ${cap ?? "?"}, ${modes.join(", ") || "no access modes"}` });
    return out;
}

function storageClassResults(plan: Plan, classes: StorageClassInfo[]): CheckResult[] {
    const names = classes.map((c) => c.name);
    const uses = new Map<string, string[]>();
    const paths = new Map<string, string[]>();
    for (const ns of plan.namespaces) for (const p of ns.pvcs) {
        const key = p.storageClass ?? "";
        uses.set(key, [...(uses.get(key) ?? []), `${ns.target}/${p.target}`]);
        paths.set(key, [...(paths.get(key) ?? []), wavePath(plan, ns, p, "storageClass")]);
    }
    const out: CheckResult[] = [];
    const known = names.length ? names.join(", ") : "none";
    for (const [cls, pvcs] of uses) {
        const where = paths.get(cls)!;
        if (cls === "") {
            const d = classes.find((c) => c.isDefault);
            out.push(d
                ? { cluster: "destination", check: "storage class", subject: `${d.name} (default)`, status: "ok", detail: `the destination's default, for ${pvcs.join(", ")} (no storageClass in the wave)` }
                : { cluster: "destination", check: "storage class", subject: "(default)", status: "fail", detail: `${pvcs.join(", ")} name no storage class and the destination has no default class (it has: ${known})`, fix: `set ${where[0]}${where.length > 1 ? ` (and ${where.length - 1} more)` : ""} to one of: ${known}, or the wave's top-level storageClass` });
            continue;
        }
        const c = classes.find((x) => x.name === cls);
        out.push(c
            ? { cluster: "destination", check: "storage class", subject: cls, status: "ok", detail: `exists (provisioner ${c.provisioner}), for ${pvcs.join(", ")}` }
            : {
                cluster: "destination", check: "storage class", subject: cls, status: "fail", detail: `does not exist on the destination (it has: ${known}); needed by ${pvcs.join(", ")}`,
                fix: `set ${where[0]}${where.length > 1 ? ` (and ${where.length - 1} more)` : ""} to one of: ${known} (dvm discover proposes one), or create storage class ${cls} on the destination`,
            });
    }
    return out;
}

function destinationPvcResult(plan: Plan, ns: NamespacePlan, p: PvcPlan, o: KubeObject | undefined, classes: StorageClassInfo[] | undefined, defaultClass: string | undefined): CheckResult {
    const base = { cluster: "destination" as const, check: "destination PVC", subject: `${ns.target}/${p.target}` };
    const wantClass = p.storageClass ?? defaultClass;
    if (!o) return { ...base, status: "ok", detail: `will be created: ${p.capacity}, ${p.accessModes.join(", ")}, class ${wantClass ?? "(the default)"}` };
    const problems: string[] = [];
    const fixes: string[] = [];
    const haveClass: string | undefined = o.spec?.storageClassName || undefined;
    if (wantClass !== undefined && haveClass !== wantClass) {
        problems.push(`its storage class is ${haveClass ?? "(none)"}, the wave asks for ${wantClass} (a PVC's class cannot change)`);
        fixes.push(`set ${wavePath(plan, ns, p, "storageClass")}: ${haveClass ?? '""'}`);
    }
    const haveModes: string[] = o.spec?.accessModes ?? [];
    const missingModes = p.accessModes.filter((m) => !haveModes.includes(m));
    if (missingModes.length) {
        problems.push(`it has access modes ${haveModes.join(", ") || "none"}, the wave asks for ${missingModes.join(", ")} (they cannot change)`);
        fixes.push(`set ${wavePath(plan, ns, p, "accessModes")}: [${haveModes.join(", ")}]`);
    }
    const have = bytes(o.status?.capacity?.storage) ?? bytes(o.spec?.resources?.requests?.storage) ?? 0;
    const want = parseQuantity(p.capacity) ?? 0;
    let expand = "";
    if (have < want) {
        const c = classes?.find((x) => x.name === haveClass);
        if (c?.allowVolumeExpansion) expand = `; dvm grows it from ${formatBytes(have)} to ${p.capacity} (class ${c.name} allows expansion)`;
        else {
            problems.push(`it holds ${formatBytes(have)}, less than the wave's ${p.capacity}, and its class ${haveClass ?? "(none)"} does not allow expansion`);
            fixes.push(`use another destination name (${wavePath(plan, ns, p, "targetName")}), or delete the destination PVC once you know it holds nothing you need`);
        }
    }
    if (o.status?.phase === "Lost") problems.push("it is Lost (its volume is gone)");
    const ours = o.metadata?.labels?.[LABELS.managedBy] === MANAGED_BY;
    if (problems.length) return { ...base, status: "fail", detail: `exists and does not fit: ${problems.join("; ")}`, fix: fixes.join("; ") || "delete or rename it" };
    if (!ours) {
        return {
            ...base, status: "warn",
            detail: `exists and was not created by dvm${plan.rsync.delete ? ": rsync --delete makes its content equal to the source's (files only it holds are deleted)" : ": the copy lands on top of what it holds"}${expand}`,
            fix: `make sure it holds nothing you need, or copy into a new PVC (${wavePath(plan, ns, p, "targetName")})`,
        };
    }
    return { ...base, status: "ok", detail: `exists (created by dvm${o.metadata?.labels?.[LABELS.wave] ? `, wave ${o.metadata.labels[LABELS.wave]}` : ""}), ${o.status?.phase ?? "?"}, fits${expand}` };
}

async function endpointCheck(ctx: Ctx, kc: KubeConfig, sourceKc: KubeConfig | undefined): Promise<void> {
    const e = ctx.plan.destination.endpoint;
    const base = { cluster: "destination" as const, check: "endpoint", subject: e.type };
    const other = "pulumi config set --path dvm:destination.endpoint.type loadBalancer   (or ingress, nodePort; see docs/configuration.md)";
    switch (e.type) {
        case "route": {
            const ok = await servesGroupVersion(kc, "route.openshift.io", "v1");
            ctx.results.push(ok
                ? { ...base, status: "ok", detail: `the Route API (route.openshift.io/v1) is served; hosts *.${e.subdomain}` }
                : { ...base, status: "fail", detail: "the destination serves no Route API (route.openshift.io/v1): it is not OpenShift", fix: other });
            return;
        }
        case "ingress": {
            const list = await ingressClasses(kc);
            const names = list.map((c) => c.name).join(", ") || "none";
            const c = e.ingressClass ? list.find((x) => x.name === e.ingressClass) : list.find((x) => x.isDefault);
            if (!c) {
                ctx.results.push({
                    ...base, status: "fail",
                    detail: e.ingressClass ? `IngressClass ${e.ingressClass} does not exist (classes: ${names})` : `no IngressClass is the default (classes: ${names})`,
                    fix: list.length ? `pulumi config set --path dvm:destination.endpoint.ingressClass ${list[0].name}` : `install ingress-nginx with --enable-ssl-passthrough, or: ${other}`,
                });
                return;
            }
            const nginx = c.controller === "k8s.io/ingress-nginx";
            ctx.results.push({
                ...base, status: nginx ? "ok" : "warn",
                detail: `IngressClass ${c.name}${e.ingressClass ? "" : " (the default)"}, controller ${c.controller}${nginx ? "; its --enable-ssl-passthrough flag cannot be seen from the API" : ": the SSL-passthrough annotation dvm sets is ingress-nginx's"}`,
                ...(nginx ? {} : { fix: `use an ingress-nginx class (dvm:destination.endpoint.ingressClass), or: ${other}` }),
            });
            return;
        }
        case "nodePort": {
            if (e.nodePort === undefined) {
                ctx.results.push({ ...base, status: "ok", detail: `a NodePort Service; the source dials ${e.nodeAddress} on the port Kubernetes allocates` });
                return;
            }
            const server = transferNames(ctx.plan.wave.name, "", ctx.plan.pass).server;
            const targets = ctx.plan.namespaces.map((n) => n.target);
            const svcs = (await kc.makeApiClient(k8s().CoreV1Api).listServiceForAllNamespaces()).body.items;
            const taken = svcs.find((s) => (s.spec?.ports ?? []).some((p) => p.nodePort === e.nodePort) && !(s.metadata?.name === server && targets.includes(s.metadata?.namespace ?? "")));
            ctx.results.push(taken
                ? { ...base, status: "fail", detail: `node port ${e.nodePort} is taken by Service ${taken.metadata?.namespace}/${taken.metadata?.name}`, fix: "pulumi config rm --path dvm:destination.endpoint.nodePort (Kubernetes picks a free port), or choose another" }
                : { ...base, status: "ok", detail: `node port ${e.nodePort} is free; the source dials ${e.nodeAddress}:${e.nodePort}` });
            return;
        }
        case "loadBalancer":
            ctx.results.push({ ...base, status: "ok", detail: "a LoadBalancer Service: its address comes from the cluster's load balancer controller once it exists (not checkable before)" });
            return;
        case "clusterIP": {
            const same = sourceKc && sourceKc.getCurrentCluster()?.server === kc.getCurrentCluster()?.server;
            ctx.results.push(same
                ? { ...base, status: "ok", detail: "source and destination are the same cluster: the Service's cluster DNS name is reachable" }
                : { ...base, status: "warn", detail: "a ClusterIP Service is only reachable from the same cluster or clusters with one routed pod/service network", fix: `if the source pods cannot resolve and reach <service>.<namespace>.svc.cluster.local on the destination: ${other}` });
            return;
        }
    }
}
