// A fake source namespace for the quiesce tests: workload and pod objects in memory, JSON patches applied the way the
// API server applies them (a failed `test` is a 422), resourceVersions bumped on every write, and a crude controller
// that removes the pods of a workload once it is quiesced (after `podLag` reads, like pods terminating).
import { JsonPatchOp } from "../../components/quiesce/rules";
import { WorkloadApi } from "../../components/quiesce/cluster";
import { KubeObject, unfinishedPods, NamespaceView, WorkloadKind, workloadsOf } from "../../kube/workloads";
import { holdsQuiescedValue } from "../../components/quiesce/rules";

/** Applies a JSON patch to a plain object; throws like the API server (422) when a `test` fails or a path is missing. */
export function applyPatch<T>(o: T, ops: JsonPatchOp[]): T {
    const out = JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
    for (const op of ops) {
        const keys = op.path.split("/").slice(1).map((k) => k.replace(/~1/g, "/").replace(/~0/g, "~"));
        const last = keys.pop()!;
        let parent: Record<string, unknown> = out;
        for (const k of keys) {
            const next = parent[k];
            if (!next || typeof next !== "object") throw Object.assign(new Error(`patch: ${op.path}: no parent`), { statusCode: 422 });
            parent = next as Record<string, unknown>;
        }
        if (op.op === "test") {
            if (JSON.stringify(parent[last]) !== JSON.stringify(op.value)) throw Object.assign(new Error(`patch: test of ${op.path} failed`), { statusCode: 422 });
        } else if (op.op === "remove") {
            if (!(last in parent)) throw Object.assign(new Error(`patch: remove ${op.path}: no such member`), { statusCode: 422 });
            delete parent[last];
        } else {
            if (op.op === "replace" && !(last in parent)) throw Object.assign(new Error(`patch: replace ${op.path}: no such member`), { statusCode: 422 });
            parent[last] = JSON.parse(JSON.stringify(op.value));
        }
    }
    return out as T;
}

export interface FakeObject extends KubeObject {
    kind: string;
}

export class FakeNamespace implements WorkloadApi {
    objects: FakeObject[];
    pods: FakeObject[];
    pvcs: KubeObject[];
    patches: { kind: string; name: string; ops: JsonPatchOp[] }[] = [];
    reads = 0;
    private version = 100;
    /** Reads after a quiesce before the workload's pods are gone. */
    podLag = 1;
    private quiescedAt = new Map<string, number>();
    /** Called before every read (a test changes the cluster "meanwhile"). */
    onRead?: (reads: number, ns: FakeNamespace) => void;
    /** Called before a patch is applied (a test changes the object between dvm's read and its patch). */
    onPatch?: (kind: string, name: string, ns: FakeNamespace) => void;
    /** Fails the next patches of these workloads (kind/name -> status codes, consumed in order). */
    failPatch = new Map<string, number[]>();

    constructor(readonly namespace: string, objects: FakeObject[], pods: FakeObject[], pvcs: (string | KubeObject)[]) {
        this.objects = objects.map((o) => this.stamp(o));
        this.pods = pods.map((p) => this.stamp({ ...p, kind: "Pod" }));
        this.pvcs = pvcs.map((p) => (typeof p === "string" ? { metadata: { name: p, namespace }, spec: { accessModes: ["ReadWriteOnce"] } } : p));
    }

    private stamp<T extends FakeObject>(o: T): T {
        return { ...o, metadata: { namespace: this.namespace, ...o.metadata, resourceVersion: String(++this.version) } as T["metadata"] };
    }

    get(kind: string, name: string): FakeObject {
        const o = this.objects.find((x) => x.kind === kind && x.metadata?.name === name);
        if (!o) throw new Error(`no ${kind}/${name}`);
        return o;
    }

    /** An admin's (or a controller's) change: a new object version. */
    edit(kind: string, name: string, change: (o: FakeObject) => void): void {
        const i = this.objects.findIndex((x) => x.kind === kind && x.metadata?.name === name);
        const o = JSON.parse(JSON.stringify(this.objects[i])) as FakeObject;
        change(o);
        this.objects[i] = this.stamp(o);
    }

    async read(namespace: string): Promise<NamespaceView> {
        this.reads++;
        this.onRead?.(this.reads, this);
        // the Deployment controller: a Deployment's ReplicaSet follows its replicas and gets copies of its annotations
        // (added and updated, never removed)
        for (let i = 0; i < this.objects.length; i++) {
            const rs = this.objects[i];
            const ref = rs.metadata?.ownerReferences?.[0];
            if (rs.kind !== "ReplicaSet" || ref?.kind !== "Deployment") continue;
            const d = this.objects.find((x) => x.kind === "Deployment" && x.metadata?.name === ref.name);
            if (!d) continue;
            const annotations = { ...(rs.metadata?.annotations ?? {}), ...(d.metadata?.annotations ?? {}) };
            const replicas = d.spec?.replicas;
            if (JSON.stringify(annotations) !== JSON.stringify(rs.metadata?.annotations ?? {}) || replicas !== rs.spec?.replicas) {
                this.objects[i] = this.stamp({ ...rs, metadata: { ...rs.metadata, annotations }, spec: { ...rs.spec, replicas } });
            }
        }
        // the controller: pods of a workload quiesced for podLag reads are gone
        for (const o of this.objects) {
            const k = `${o.kind}/${o.metadata?.name}`;
            if (o.kind !== "Pod" && holdsQuiescedValue(o.kind as WorkloadKind, o)) {
                if (!this.quiescedAt.has(k)) this.quiescedAt.set(k, this.reads);
            } else this.quiescedAt.delete(k);
        }
        this.pods = this.pods.filter((p) => {
            const owner = p.metadata?.ownerReferences?.[0];
            if (!owner) return true;
            const top = this.topOf(owner.kind, owner.name);
            const at = top ? this.quiescedAt.get(top) : undefined;
            return at === undefined || this.reads - at < this.podLag;
        });
        const byKind: Partial<Record<WorkloadKind, KubeObject[]>> = {};
        for (const o of this.objects) (byKind[o.kind as WorkloadKind] ??= []).push(o);
        byKind.Pod = this.pods;
        const names = this.pvcs.map((p) => p.metadata?.name ?? "");
        const workloads = workloadsOf(namespace, byKind, names);
        return JSON.parse(JSON.stringify({ namespace, workloads, pods: unfinishedPods(namespace, this.pods, workloads), pvcs: this.pvcs }));
    }

    private topOf(kind: string, name: string): string | undefined {
        const o = this.objects.find((x) => x.kind === kind && x.metadata?.name === name);
        if (!o) return undefined;
        const up = o.metadata?.ownerReferences?.[0];
        const above = up ? this.topOf(up.kind, up.name) : undefined;
        // a quiesced owned controller (a CronJob's Job) stops its own pods too
        return above && this.quiescedAt.has(above) ? above : `${kind}/${name}`;
    }

    async patch(kind: WorkloadKind, _namespace: string, name: string, ops: JsonPatchOp[]): Promise<void> {
        const codes = this.failPatch.get(`${kind}/${name}`);
        if (codes && codes.length) {
            const code = codes.shift()!;
            throw Object.assign(new Error(`HTTP ${code}`), { statusCode: code });
        }
        this.onPatch?.(kind, name, this);
        const i = this.objects.findIndex((x) => x.kind === kind && x.metadata?.name === name);
        if (i < 0) throw Object.assign(new Error(`${kind} ${name} not found`), { statusCode: 404 });
        this.objects[i] = this.stamp(applyPatch(this.objects[i], ops));
        this.patches.push({ kind, name, ops });
    }
}

const vol = (claim: string) => ({ name: `v-${claim}`, persistentVolumeClaim: { claimName: claim } });
export const meta = (name: string, extra: Record<string, unknown> = {}) => ({ name, ...extra });
export const owned = (name: string, kind: string, owner: string) => meta(name, { ownerReferences: [{ kind, name: owner, controller: true }] });
export const template = (...claims: string[]) => ({ template: { spec: { volumes: claims.map(vol), containers: [{ name: "app", image: "x" }] } } });
export const pod = (name: string, claims: string[], owner?: [string, string], node = "n1", phase = "Running"): FakeObject => ({
    kind: "Pod", metadata: owner ? owned(name, owner[0], owner[1]) : meta(name), spec: { nodeName: node, volumes: claims.map(vol) }, status: { phase },
});
