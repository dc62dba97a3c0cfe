// Cluster-wide facts `dvm discover` and `dvm check` read (never write): the server's version and API groups, storage
// and ingress classes, namespaces, who the kubeconfig's user is and what it may do (SelfSubjectAccessReview), and the
// kubelet's volume statistics through the API server's node proxy. @kubernetes/client-node is required lazily, as in
// kube/index.ts; nothing here keeps module-level state.
import * as http from "http";
import * as https from "https";
import type { KubeConfig } from "@kubernetes/client-node";
import { statusCode } from ".";
import type { KubeObject } from "./workloads";

type K8s = typeof import("@kubernetes/client-node");
const k8s = (): K8s => require("@kubernetes/client-node") as K8s;
const plain = <T>(x: T): KubeObject => JSON.parse(JSON.stringify(x)) as KubeObject;

/** The Kubernetes annotations that mark a default storage class or ingress class. */
export const DEFAULT_CLASS_ANNOTATIONS = {
    storage: ["storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"],
    ingress: ["ingressclass.kubernetes.io/is-default-class"],
} as const;

const isDefault = (o: KubeObject, keys: readonly string[]) => keys.some((k) => o.metadata?.annotations?.[k] === "true");

export interface StorageClassInfo {
    name: string;
    provisioner: string;
    isDefault: boolean;
    allowVolumeExpansion: boolean;
    volumeBindingMode?: string;
}

export async function storageClasses(kc: KubeConfig): Promise<StorageClassInfo[]> {
    const res = await kc.makeApiClient(k8s().StorageV1Api).listStorageClass();
    return res.body.items.map((c) => ({
        name: c.metadata?.name ?? "",
        provisioner: c.provisioner,
        isDefault: isDefault(plain(c), DEFAULT_CLASS_ANNOTATIONS.storage),
        allowVolumeExpansion: c.allowVolumeExpansion === true,
        ...(c.volumeBindingMode ? { volumeBindingMode: c.volumeBindingMode } : {}),
    })).sort((a, b) => a.name.localeCompare(b.name));
}

export interface IngressClassInfo {
    name: string;
    controller: string;
    isDefault: boolean;
}

export async function ingressClasses(kc: KubeConfig): Promise<IngressClassInfo[]> {
    const res = await kc.makeApiClient(k8s().NetworkingV1Api).listIngressClass();
    return res.body.items.map((c) => ({
        name: c.metadata?.name ?? "",
        controller: c.spec?.controller ?? "",
        isDefault: isDefault(plain(c), DEFAULT_CLASS_ANNOTATIONS.ingress),
    }));
}

/** The server's gitVersion (GET /version: any authenticated or anonymous user may read it). */
export async function serverVersion(kc: KubeConfig): Promise<string> {
    const res = await kc.makeApiClient(k8s().VersionApi).getCode();
    return res.body.gitVersion;
}

/** Whether the server serves `group/version` (GET /apis). */
export async function servesGroupVersion(kc: KubeConfig, group: string, version: string): Promise<boolean> {
    const res = await kc.makeApiClient(k8s().ApisApi).getAPIVersions();
    return res.body.groups.some((g) => g.name === group && g.versions.some((v) => v.version === version));
}

/** The namespaces by name; undefined for one that does not exist. */
export async function readNamespaces(kc: KubeConfig, names: string[]): Promise<Map<string, KubeObject | undefined>> {
    const core = kc.makeApiClient(k8s().CoreV1Api);
    const out = new Map<string, KubeObject | undefined>();
    for (const name of names) {
        try {
            out.set(name, plain((await core.readNamespace(name)).body));
        } catch (e) {
            if (statusCode(e) !== 404) throw e;
            out.set(name, undefined);
        }
    }
    return out;
}

/** Names of the namespaces a label selector matches. */
export async function namespacesMatching(kc: KubeConfig, selector: string): Promise<string[]> {
    const res = await kc.makeApiClient(k8s().CoreV1Api).listNamespace(undefined, undefined, undefined, undefined, selector);
    return res.body.items.map((n) => n.metadata?.name ?? "").filter(Boolean).sort();
}

/** One SelfSubjectAccessReview question. */
export interface AccessQuestion {
    verb: string;
    group: string;
    resource: string;
    subresource?: string;
    namespace?: string;
    name?: string;
}

/** Asks the API server whether the kubeconfig's user may do `q` (SelfSubjectAccessReview; creates nothing). */
export async function canI(kc: KubeConfig, q: AccessQuestion): Promise<{ allowed: boolean; reason?: string }> {
    const api = kc.makeApiClient(k8s().AuthorizationV1Api);
    const res = await api.createSelfSubjectAccessReview({
        apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview",
        spec: { resourceAttributes: { ...q } },
    });
    const st = res.body.status;
    return { allowed: !!st?.allowed && !st?.denied, ...(st?.reason ? { reason: st.reason } : {}) };
}

/** The user name the API server sees (SelfSubjectReview); undefined where the API is not served or refused. */
export async function whoAmI(kc: KubeConfig): Promise<string | undefined> {
    try {
        const res = await kc.makeApiClient(k8s().AuthenticationV1Api).createSelfSubjectReview({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" });
        return res.body.status?.userInfo?.username || undefined;
    } catch {
        return undefined;
    }
}

/** GET of a raw API path (for what the generated client cannot address, e.g. a node proxy path with slashes). */
export async function getRaw(kc: KubeConfig, apiPath: string, timeoutMs = 15000): Promise<{ status: number; body: string }> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("the kubeconfig's current context names no cluster");
    // keep a path prefix of the server URL (API servers behind a proxy path)
    const url = new URL(`${cluster.server.replace(/\/+$/, "")}${apiPath}`);
    const opts: https.RequestOptions = { method: "GET", headers: { accept: "application/json" }, timeout: timeoutMs };
    await kc.applyToHTTPSOptions(opts);
    const mod = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
        const req = mod.request(url, opts, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d) => { body += d; });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)));
        req.on("error", reject);
        req.end();
    });
}

/** What the kubelet reports for one PVC-backed volume of a running pod. */
export interface VolumeStats {
    usedBytes?: number;
    capacityBytes?: number;
}

/**
 * The kubelet's stats summary of one node (GET /api/v1/nodes/<node>/proxy/stats/summary, needs `get nodes/proxy`):
 * `<namespace>/<pvc>` -> the volume's used and capacity bytes. Throws with the HTTP status when it is not readable.
 */
export async function volumeStats(kc: KubeConfig, node: string): Promise<Map<string, VolumeStats>> {
    const r = await getRaw(kc, `/api/v1/nodes/${encodeURIComponent(node)}/proxy/stats/summary`);
    if (r.status !== 200) {
        let message = r.body.trim().slice(0, 200);
        try {
            message = JSON.parse(r.body).message ?? message;
        } catch {
            // not a Status object: keep the text
        }
        throw new Error(`HTTP ${r.status}: ${message}`);
    }
    const summary = JSON.parse(r.body) as { pods?: { volume?: { usedBytes?: number; capacityBytes?: number; pvcRef?: { name?: string; namespace?: string } }[] }[] };
    const out = new Map<string, VolumeStats>();
    for (const pod of summary.pods ?? []) {
        for (const v of pod.volume ?? []) {
            if (!v.pvcRef?.name || !v.pvcRef.namespace) continue;
            out.set(`${v.pvcRef.namespace}/${v.pvcRef.name}`, {
                ...(typeof v.usedBytes === "number" ? { usedBytes: v.usedBytes } : {}),
                ...(typeof v.capacityBytes === "number" ? { capacityBytes: v.capacityBytes } : {}),
            });
        }
    }
    return out;
}
