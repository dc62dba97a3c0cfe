// A small in-memory Kubernetes API server for the `dvm discover` and `dvm check` unit tests: GET of objects (one,
// a namespace's list, a cluster-wide list, with equality label selectors), /version, /apis discovery, the kubelet
// summary through the node proxy, SelfSubjectAccessReview and SelfSubjectReview - each user (bearer token) with its
// own allow rule, applied to its GETs as well. Anything that would change the cluster answers 405 and is recorded in
// `writes`, so a test can prove a command created nothing. @kubernetes/client-node talks to it as to a real one.
import * as http from "http";
import type { KubeObject } from "../../kube/workloads";

export interface Attributes {
    verb: string;
    group: string;
    resource: string;
    subresource?: string;
    namespace?: string;
    name?: string;
}

export interface FakeUser {
    name: string;
    allow(a: Attributes): boolean;
}

export interface FakeClusterOptions {
    objects?: KubeObject[];
    /** token -> user; default one admin that may do everything, token "admin-token". */
    users?: Record<string, FakeUser>;
    /** API groups served besides the built-in ones, as `group/version` (e.g. route.openshift.io/v1). */
    groups?: string[];
    /** node name -> kubelet stats summary (GET /api/v1/nodes/<node>/proxy/stats/summary); other nodes answer 503. */
    summaries?: Record<string, unknown>;
    version?: string;
}

export interface FakeCluster {
    url: string;
    /** Every request, `METHOD path?query` (as the server saw it). */
    requests: string[];
    /** Requests that would have changed something (answered 405). */
    writes: string[];
    /** The access reviews asked, in order. */
    reviews: Attributes[];
    objects: KubeObject[];
    kubeconfig(token?: string, context?: string): string;
    close(): Promise<void>;
}

/** Resource name -> where it lives (group/version, namespaced) and its kind. */
const RESOURCES: Record<string, { gv: string; kind: string; namespaced: boolean }> = {
    namespaces: { gv: "v1", kind: "Namespace", namespaced: false },
    nodes: { gv: "v1", kind: "Node", namespaced: false },
    persistentvolumeclaims: { gv: "v1", kind: "PersistentVolumeClaim", namespaced: true },
    pods: { gv: "v1", kind: "Pod", namespaced: true },
    services: { gv: "v1", kind: "Service", namespaced: true },
    resourcequotas: { gv: "v1", kind: "ResourceQuota", namespaced: true },
    replicationcontrollers: { gv: "v1", kind: "ReplicationController", namespaced: true },
    secrets: { gv: "v1", kind: "Secret", namespaced: true },
    configmaps: { gv: "v1", kind: "ConfigMap", namespaced: true },
    deployments: { gv: "apps/v1", kind: "Deployment", namespaced: true },
    statefulsets: { gv: "apps/v1", kind: "StatefulSet", namespaced: true },
    replicasets: { gv: "apps/v1", kind: "ReplicaSet", namespaced: true },
    daemonsets: { gv: "apps/v1", kind: "DaemonSet", namespaced: true },
    jobs: { gv: "batch/v1", kind: "Job", namespaced: true },
    cronjobs: { gv: "batch/v1", kind: "CronJob", namespaced: true },
    storageclasses: { gv: "storage.k8s.io/v1", kind: "StorageClass", namespaced: false },
    ingressclasses: { gv: "networking.k8s.io/v1", kind: "IngressClass", namespaced: false },
    ingresses: { gv: "networking.k8s.io/v1", kind: "Ingress", namespaced: true },
    routes: { gv: "route.openshift.io/v1", kind: "Route", namespaced: true },
    deploymentconfigs: { gv: "apps.openshift.io/v1", kind: "DeploymentConfig", namespaced: true },
};
const BUILT_IN_GROUPS = ["apps/v1", "batch/v1", "storage.k8s.io/v1", "networking.k8s.io/v1", "authorization.k8s.io/v1", "authentication.k8s.io/v1"];

const apiVersionOf = (resource: string) => RESOURCES[resource].gv;

/** `k=v,k2!=v2,k3` against labels. */
function matches(selector: string | null, labels: Record<string, string> = {}): boolean {
    if (!selector) return true;
    return selector.split(",").every((term) => {
        const t = term.trim();
        const ne = /^([^!=]+)!=(.*)$/.exec(t);
        if (ne) return labels[ne[1]] !== ne[2];
        const eq = /^([^!=]+)==?(.*)$/.exec(t);
        if (eq) return labels[eq[1]] === eq[2];
        return t.startsWith("!") ? !(t.slice(1) in labels) : t in labels;
    });
}

export const ADMIN_TOKEN = "admin-token";

export async function startFakeCluster(o: FakeClusterOptions = {}): Promise<FakeCluster> {
    const objects = o.objects ?? [];
    const users = o.users ?? { [ADMIN_TOKEN]: { name: "admin", allow: () => true } };
    const requests: string[] = [];
    const writes: string[] = [];
    const reviews: Attributes[] = [];
    const resourceOf = (obj: KubeObject) => Object.entries(RESOURCES).find(([, r]) => r.kind === obj.kind)?.[0];

    const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (d) => { body += d; });
        req.on("end", () => {
            requests.push(`${req.method} ${req.url}`);
            const json = (code: number, b: unknown) => res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(b));
            const status = (code: number, reason: string, message: string) => json(code, { kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message });
            const user = users[(req.headers.authorization ?? "").replace(/^Bearer /, "")];
            if (!user) return status(401, "Unauthorized", "Unauthorized");
            const u = new URL(req.url ?? "/", "http://x");
            const pathname = decodeURIComponent(u.pathname).replace(/(.)\/+$/, "$1");

            if (req.method === "POST" && pathname === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") {
                const review = JSON.parse(body);
                const ra = review.spec?.resourceAttributes ?? {};
                const a: Attributes = { verb: ra.verb, group: ra.group ?? "", resource: ra.resource, ...(ra.subresource ? { subresource: ra.subresource } : {}), ...(ra.namespace ? { namespace: ra.namespace } : {}), ...(ra.name ? { name: ra.name } : {}) };
                reviews.push(a);
                const allowed = user.allow(a);
                return json(201, { ...review, status: { allowed, ...(allowed ? {} : { reason: "no RBAC rule allows it" }) } });
            }
            if (req.method === "POST" && pathname === "/apis/authentication.k8s.io/v1/selfsubjectreviews") {
                return json(201, { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview", status: { userInfo: { username: user.name } } });
            }
            if (req.method !== "GET") {
                writes.push(`${req.method} ${pathname}`);
                return status(405, "MethodNotAllowed", "the fake cluster is read-only");
            }
            if (pathname === "/version") return json(200, { major: "1", minor: "34", gitVersion: o.version ?? "v1.34.4" });
            if (pathname === "/apis") {
                const groups = [...BUILT_IN_GROUPS, ...(o.groups ?? [])].map((gv) => {
                    const [name, version] = gv.split("/");
                    return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
                });
                return json(200, { kind: "APIGroupList", apiVersion: "v1", groups });
            }
            const proxy = /^\/api\/v1\/nodes\/([^/]+)\/proxy\/stats\/summary$/.exec(pathname);
            if (proxy) {
                if (!user.allow({ verb: "get", group: "", resource: "nodes", subresource: "proxy", name: proxy[1] })) return status(403, "Forbidden", `nodes "${proxy[1]}" is forbidden: cannot get resource "nodes/proxy"`);
                const s = o.summaries?.[proxy[1]];
                return s ? json(200, s) : status(503, "ServiceUnavailable", `no kubelet answers for node ${proxy[1]}`);
            }
            // /api/v1[/namespaces/<ns>]/<resource>[/<name>] and /apis/<group>/<version>[/namespaces/<ns>]/<resource>[/<name>]
            const m = /^\/(?:api\/v1|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(pathname);
            if (!m) return status(404, "NotFound", `the server could not find the requested resource (${pathname})`);
            const [, group, version, ns, resource, name] = m;
            const gv = group ? `${group}/${version}` : "v1";
            const r = RESOURCES[resource];
            if (!r || r.gv !== gv || !(!group || [...BUILT_IN_GROUPS, ...(o.groups ?? [])].includes(gv))) {
                return status(404, "NotFound", `the server could not find the requested resource (${pathname})`);
            }
            // /api/v1/namespaces/<name> is the namespace itself
            const [rname, nsName, objName] = resource === "namespaces" || (!ns && !r.namespaced) ? [resource, undefined, name] : [resource, ns, name];
            const verb = objName ? "get" : "list";
            if (!user.allow({ verb, group: group ?? "", resource: rname, ...(nsName ? { namespace: nsName } : {}), ...(objName ? { name: objName } : {}) })) {
                return status(403, "Forbidden", `${rname} is forbidden: User "${user.name}" cannot ${verb} resource "${rname}"${nsName ? ` in the namespace "${nsName}"` : ""}`);
            }
            const here = objects.filter((x) => resourceOf(x) === rname && (!nsName || x.metadata?.namespace === nsName));
            if (objName) {
                const found = here.find((x) => x.metadata?.name === objName);
                return found ? json(200, { apiVersion: apiVersionOf(rname), ...found }) : status(404, "NotFound", `${rname} "${objName}" not found`);
            }
            const items = here.filter((x) => matches(u.searchParams.get("labelSelector"), x.metadata?.labels)).map((x) => ({ apiVersion: apiVersionOf(rname), ...x }));
            return json(200, { kind: `${r.kind}List`, apiVersion: r.gv, metadata: {}, items });
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    return {
        url, requests, writes, reviews, objects,
        close: () => new Promise<void>((r) => server.close(() => r())),
        kubeconfig: (token = ADMIN_TOKEN, context = "fake") => `apiVersion: v1
kind: Config
clusters:
- name: ${context}
  cluster:
    server: ${url}
users:
- name: ${context}-user
  user:
    token: ${token}
contexts:
- name: ${context}
  context: {cluster: ${context}, user: ${context}-user}
current-context: ${context}
`,
    };
}

/** Small object builders for the tests. */
export const obj = {
    namespace: (name: string, labels: Record<string, string> = {}): KubeObject => ({ kind: "Namespace", metadata: { name, labels } }),
    storageClass: (name: string, provisioner: string, isDefault = false, extra: Record<string, unknown> = {}): KubeObject => ({
        kind: "StorageClass",
        metadata: { name, ...(isDefault ? { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } } : {}) },
        provisioner, ...extra,
    } as KubeObject),
    /** `boundModes`: the access modes of the bound volume (status), when they differ from what the claim asks. */
    pvc: (ns: string, name: string, o: { capacity?: string; request?: string; modes?: string[]; boundModes?: string[]; storageClass?: string; phase?: string; volumeMode?: string; labels?: Record<string, string> } = {}): KubeObject => ({
        kind: "PersistentVolumeClaim",
        metadata: { name, namespace: ns, labels: o.labels ?? {} },
        spec: {
            accessModes: o.modes ?? ["ReadWriteOnce"], resources: { requests: { storage: o.request ?? o.capacity ?? "1Gi" } },
            ...(o.storageClass !== undefined ? { storageClassName: o.storageClass } : {}), volumeMode: o.volumeMode ?? "Filesystem",
        },
        status: { phase: o.phase ?? "Bound", ...((o.phase ?? "Bound") === "Bound" ? { capacity: { storage: o.capacity ?? "1Gi" }, accessModes: o.boundModes ?? o.modes ?? ["ReadWriteOnce"] } : {}) },
    }),
    pod: (ns: string, name: string, claims: string[], node: string, owner?: [string, string], phase = "Running"): KubeObject => ({
        kind: "Pod",
        metadata: { name, namespace: ns, ...(owner ? { ownerReferences: [{ kind: owner[0], name: owner[1], controller: true }] } : {}) },
        spec: { nodeName: node, volumes: claims.map((c) => ({ name: `v-${c}`, persistentVolumeClaim: { claimName: c } })), containers: [{ name: "app", image: "x" }] },
        status: { phase },
    }),
    deployment: (ns: string, name: string, claims: string[]): KubeObject => ({
        kind: "Deployment",
        metadata: { name, namespace: ns },
        spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image: "x" }], volumes: claims.map((c) => ({ name: `v-${c}`, persistentVolumeClaim: { claimName: c } })) } } },
    }),
    replicaSet: (ns: string, name: string, deployment: string, claims: string[]): KubeObject => ({
        kind: "ReplicaSet",
        metadata: { name, namespace: ns, ownerReferences: [{ kind: "Deployment", name: deployment, controller: true }] },
        spec: { selector: { matchLabels: { app: deployment } }, template: { spec: { containers: [{ name: "app", image: "x" }], volumes: claims.map((c) => ({ name: `v-${c}`, persistentVolumeClaim: { claimName: c } })) } } },
    }),
    /** A kubelet stats summary with one pod's PVC volumes: [namespace, pvc, usedBytes, capacityBytes]. */
    summary: (node: string, volumes: [string, string, number, number][]) => ({
        node: { nodeName: node },
        pods: volumes.map(([ns, pvc, used, cap], i) => ({
            podRef: { name: `pod-${i}`, namespace: ns, uid: `uid-${i}` },
            volume: [{ name: `v-${pvc}`, usedBytes: used, capacityBytes: cap, availableBytes: cap - used, pvcRef: { name: pvc, namespace: ns } }],
        })),
    }),
};
