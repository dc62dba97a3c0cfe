// What the program does to each cluster: one row per resource kind, with the verbs `pulumi up` needs for it (the
// Kubernetes provider applies with server-side apply - a PATCH that creates, so create and patch; replacing and
// removing a wave deletes and then watches the object go; its await logic lists and watches what it waits for) and
// the verbs the progress reader uses. `dvm check` asks each cluster (SelfSubjectAccessReview) for every verb of every
// row that applies to the plan. test/unit/access.test.ts renders the components under mocks and fails when they
// declare a kind on a cluster that has no row here, or a row names a kind nothing declares.
//
// Pure data and small functions: the CLI loads it (no Pulumi packages).
import type { EndpointType, MigrationMode, SecurityOptions } from "../config/plan";

export type Verb = "get" | "list" | "watch" | "create" | "patch" | "update" | "delete";
export type Cluster = "source" | "destination";

export interface AccessRow {
    cluster: Cluster;
    /** API group, "" for the core group. */
    group: string;
    /** Plural resource name, `<resource>/<subresource>` for a subresource. */
    resource: string;
    /** Pulumi type tokens of the declared resources this row covers; none for reads outside the engine's resources. */
    types?: string[];
    /** `namespaced`: asked in each namespace of the plan on that cluster. `namespace-object`: the Namespace objects
     * of the plan themselves (cluster-scoped, asked by name). `cluster`: cluster-wide. */
    scope: "namespaced" | "namespace-object" | "cluster";
    /** Verbs `pulumi up` fails without. */
    verbs: Verb[];
    /** Verbs whose absence only costs information (the provider's warning events, the PVC binding-mode lookup). */
    optional?: Verb[];
    /** Who uses it, for what: shown next to a missing permission. */
    why: string;
    /** When the row applies (default: always), and the same in words for the reference. */
    applies?(p: AccessPlan): boolean;
    when?: string;
}

/** The part of a plan that decides which rows apply. */
export interface AccessPlan {
    security: SecurityOptions;
    destination: { endpoint: { type: EndpointType } };
    /** dvm:migration (stage when absent). */
    migration?: MigrationMode;
}

/** Objects dvm creates, updates, replaces and removes again (removal waits for them to go). */
const MANAGED: Verb[] = ["get", "list", "watch", "create", "patch", "delete"];

/** Whether the wave's namespaces get the privileged Pod Security labels - a patch on both clusters, removed with the
 * wave (components/security.ts podSecurityLabels; test/unit/access.test.ts keeps the two in step). */
export function labelsNamespaces(s: SecurityOptions): boolean {
    return s.podSecurityLabels && (s.runAsRoot || s.superPrivileged);
}

const endpointIs = (...types: EndpointType[]) => (p: AccessPlan) => types.includes(p.destination.endpoint.type);
const quiesces = (p: AccessPlan) => p.migration === "cutover" || p.migration === "rollback";

/** The workloads the program reads in each source namespace before it declares anything (components/quiesce: where
 * an RWO volume is in use; what a cutover stops), and that a cutover and a rollback patch. On a stage pass a failed
 * read only costs the placement next to an RWO volume in use (a warning), so the verb is optional there. Jobs have
 * their own row (the transfer Job). */
const WORKLOAD_ROWS: AccessRow[] = ([
    ["apps", "deployments"], ["apps", "statefulsets"], ["apps", "replicasets"], ["apps", "daemonsets"], ["", "replicationcontrollers"],
    ["batch", "cronjobs"],
] as const).flatMap(([group, resource]): AccessRow[] => [
    {
        cluster: "source", group, resource, scope: "namespaced", verbs: [], optional: ["list"], applies: (p) => !quiesces(p), when: "dvm:migration stage",
        why: "the program reads the source namespace's workloads (the transfer pod goes next to an RWO volume in use)",
    },
    {
        cluster: "source", group, resource, scope: "namespaced", verbs: ["list", "patch"], applies: quiesces, when: "dvm:migration cutover or rollback",
        why: "the cutover scales the workloads that use the wave's PVCs to zero (saving their values); the rollback restores them",
    },
]);

export const ACCESS: readonly AccessRow[] = [
    // ------------------------------------------------------------------------------------------------ source
    {
        cluster: "source", group: "", resource: "namespaces", scope: "namespace-object", verbs: ["get", "patch"],
        types: ["kubernetes:core/v1:NamespacePatch"], applies: (p) => labelsNamespaces(p.security), when: "runAsRoot or superPrivileged, with podSecurityLabels",
        why: "Pod Security labels on the source namespace for root/privileged transfer pods (removed with the wave)",
    },
    { cluster: "source", group: "", resource: "secrets", scope: "namespaced", verbs: MANAGED, types: ["kubernetes:core/v1:Secret"], why: "the source transfer pod's credentials Secret" },
    { cluster: "source", group: "", resource: "configmaps", scope: "namespaced", verbs: MANAGED, types: ["kubernetes:core/v1:ConfigMap"], why: "the source transfer pod's scripts and stunnel config" },
    { cluster: "source", group: "batch", resource: "jobs", scope: "namespaced", verbs: MANAGED, types: ["kubernetes:batch/v1:Job"], why: "the source transfer Job (replaced on every pass; the progress reader reads it)" },
    { cluster: "source", group: "", resource: "pods", scope: "namespaced", verbs: ["list"], why: "the progress reader finds the transfer Job's pods" },
    { cluster: "source", group: "", resource: "pods/log", scope: "namespaced", verbs: ["get"], why: "the progress reader reads the rsync container's log" },
    { cluster: "source", group: "", resource: "events", scope: "namespaced", verbs: [], optional: ["list", "watch"], why: "the provider shows the warning events of what it creates" },
    {
        cluster: "source", group: "", resource: "persistentvolumeclaims", scope: "namespaced", verbs: [], optional: ["list"], applies: (p) => !quiesces(p), when: "dvm:migration stage",
        why: "the program reads the source namespace's PVCs (the transfer pod goes next to an RWO volume in use)",
    },
    {
        cluster: "source", group: "", resource: "persistentvolumeclaims", scope: "namespaced", verbs: ["list"], applies: quiesces, when: "dvm:migration cutover or rollback",
        why: "the cutover finds what mounts the wave's PVCs",
    },
    ...WORKLOAD_ROWS,
    {
        cluster: "source", group: "apps.openshift.io", resource: "deploymentconfigs", scope: "namespaced", verbs: [], optional: ["list", "patch"], applies: quiesces,
        when: "dvm:migration cutover or rollback, on OpenShift", why: "the cutover scales DeploymentConfigs too (only where apps.openshift.io/v1 is served)",
    },
    // ------------------------------------------------------------------------------------------------ destination
    {
        cluster: "destination", group: "", resource: "namespaces", scope: "namespace-object", verbs: ["get", "create", "patch"],
        types: ["kubernetes:core/v1:Namespace"], why: "the destination namespace (created when missing, never deleted)",
    },
    {
        cluster: "destination", group: "", resource: "namespaces", scope: "namespace-object", verbs: ["get", "patch"],
        types: ["kubernetes:core/v1:NamespacePatch"], applies: (p) => labelsNamespaces(p.security), when: "runAsRoot or superPrivileged, with podSecurityLabels",
        why: "Pod Security labels on the destination namespace for root/privileged transfer pods (removed with the wave)",
    },
    {
        cluster: "destination", group: "", resource: "persistentvolumeclaims", scope: "namespaced", verbs: ["get", "list", "watch", "create", "patch"],
        types: ["kubernetes:core/v1:PersistentVolumeClaim", "kubernetes:core/v1:PersistentVolumeClaimPatch"],
        why: "the destination PVCs (never deleted; the provider waits for them to bind) and their completion marker annotation",
    },
    { cluster: "destination", group: "", resource: "secrets", scope: "namespaced", verbs: MANAGED, types: ["kubernetes:core/v1:Secret"], why: "the destination transfer pod's credentials Secret" },
    { cluster: "destination", group: "", resource: "configmaps", scope: "namespaced", verbs: MANAGED, types: ["kubernetes:core/v1:ConfigMap"], why: "the destination transfer pod's scripts, rsyncd and stunnel config" },
    { cluster: "destination", group: "apps", resource: "deployments", scope: "namespaced", verbs: MANAGED, types: ["kubernetes:apps/v1:Deployment"], why: "the destination transfer Deployment (rsyncd + stunnel server)" },
    { cluster: "destination", group: "apps", resource: "replicasets", scope: "namespaced", verbs: ["list", "watch"], why: "the provider waits for the Deployment's ReplicaSet" },
    { cluster: "destination", group: "", resource: "pods", scope: "namespaced", verbs: ["list", "watch"], why: "the provider waits for the Deployment's pod" },
    { cluster: "destination", group: "", resource: "services", scope: "namespaced", verbs: MANAGED, types: ["kubernetes:core/v1:Service"], why: "the Service in front of the stunnel server" },
    {
        cluster: "destination", group: "networking.k8s.io", resource: "networkpolicies", scope: "namespaced", verbs: MANAGED,
        types: ["kubernetes:networking.k8s.io/v1:NetworkPolicy"], why: "the destination transfer pod's NetworkPolicy (the stunnel port only, no egress)",
    },
    {
        cluster: "destination", group: "", resource: "endpoints", scope: "namespaced", verbs: ["list", "watch"], applies: endpointIs("loadBalancer", "ingress"), when: "endpoint loadBalancer or ingress",
        why: "the provider waits for the load balancer's or the Ingress's Service endpoints",
    },
    {
        cluster: "destination", group: "networking.k8s.io", resource: "ingresses", scope: "namespaced", verbs: MANAGED, applies: endpointIs("ingress"), when: "endpoint ingress",
        types: ["kubernetes:networking.k8s.io/v1:Ingress"], why: "the SSL-passthrough Ingress of the `ingress` endpoint",
    },
    {
        cluster: "destination", group: "route.openshift.io", resource: "routes", scope: "namespaced", verbs: MANAGED, applies: endpointIs("route"), when: "endpoint route",
        types: ["kubernetes:route.openshift.io/v1:Route"], why: "the passthrough Route of the `route` endpoint",
    },
    { cluster: "destination", group: "", resource: "events", scope: "namespaced", verbs: [], optional: ["list", "watch"], why: "the provider shows the warning events of what it creates" },
    { cluster: "destination", group: "storage.k8s.io", resource: "storageclasses", scope: "cluster", verbs: [], optional: ["get"], why: "the provider reads a PVC's storage class to know when it counts as bound" },
];

/** The rows that apply to a plan, on one cluster. */
export function accessRows(plan: AccessPlan, cluster: Cluster): AccessRow[] {
    return ACCESS.filter((r) => r.cluster === cluster && (!r.applies || r.applies(plan)));
}

/** `resource.group` as kubectl and RBAC rules spell it (`secrets`, `deployments.apps`, `pods/log`). */
export function resourceName(r: Pick<AccessRow, "group" | "resource">): string {
    const [res, sub] = r.resource.split("/");
    return `${res}${r.group ? `.${r.group}` : ""}${sub ? `/${sub}` : ""}`;
}

/** RBAC rules granting a plan's rows on one cluster (required and optional verbs), for a Role or ClusterRole. */
export function rbacRules(plan: AccessPlan, cluster: Cluster): { apiGroups: string[]; resources: string[]; verbs: Verb[] }[] {
    return accessRows(plan, cluster).map((r) => ({ apiGroups: [r.group], resources: [r.resource], verbs: [...r.verbs, ...(r.optional ?? [])] }));
}

/** The reference table of docs/cli.md (`make docs` writes it; test/unit/access.test.ts fails while it is stale). */
export function accessTable(): string {
    const rows = ACCESS.map((r) => `| ${r.cluster} | \`${resourceName(r)}\` | ${r.scope === "cluster" ? "cluster" : r.scope === "namespace-object" ? "the wave's namespaces" : "each namespace of the wave"} | ${r.verbs.join(", ") || "-"} | ${r.optional?.join(", ") ?? "-"} | ${r.when ?? "always"} | ${r.why} |`);
    return ["| cluster | resource | where | verbs | optional verbs | when | for |", "|---|---|---|---|---|---|---|", ...rows].join("\n");
}

/** `page` with its `<!-- BEGIN GENERATED: access -->` block replaced by accessTable(). */
export function regenerateAccess(page: string): string {
    const begin = "<!-- BEGIN GENERATED: access -->";
    const end = "<!-- END GENERATED: access -->";
    const i = page.indexOf(begin);
    const j = page.indexOf(end);
    if (i === -1 || j < i) throw new Error(`docs/cli.md: markers ${begin} ... ${end} missing or out of order`);
    return `${page.slice(0, i + begin.length)}\n${accessTable()}\n${page.slice(j)}`;
}
