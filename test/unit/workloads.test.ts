// kube/workloads.ts: which workloads and pods use which PVCs, from API objects as the server returns them.
import * as assert from "assert";
import { KubeObject, unfinishedPods, statefulSetClaims, topLevelOwner, workloadsMounting, workloadsOf } from "../../kube/workloads";

const vol = (claim: string) => ({ name: `v-${claim}`, persistentVolumeClaim: { claimName: claim } });
const meta = (name: string, owner?: [string, string]) => ({ name, namespace: "app", ...(owner ? { ownerReferences: [{ kind: owner[0], name: owner[1], controller: true }] } : {}) });
const tmpl = (...claims: string[]) => ({ template: { spec: { volumes: [...claims.map(vol), { name: "tmp", emptyDir: {} }] } } });

const OBJECTS: Record<string, KubeObject[]> = {
    Deployment: [{ metadata: meta("web"), spec: tmpl("uploads") }],
    ReplicaSet: [{ metadata: meta("web-5d9", ["Deployment", "web"]), spec: tmpl("uploads") }, { metadata: meta("lonely"), spec: tmpl("cache") }],
    StatefulSet: [{ metadata: meta("db"), spec: { ...tmpl(), volumeClaimTemplates: [{ metadata: { name: "data" } }] } }],
    CronJob: [{ metadata: meta("backup"), spec: { jobTemplate: { spec: tmpl("uploads", "backups") } } }],
    Job: [{ metadata: meta("backup-28000", ["CronJob", "backup"]), spec: tmpl("uploads", "backups") }],
    DaemonSet: [{ metadata: meta("agent"), spec: tmpl("logs") }],
    ReplicationController: [{ metadata: meta("legacy-1", ["DeploymentConfig", "legacy"]), spec: tmpl("old") }],
    DeploymentConfig: [{ metadata: meta("legacy"), spec: tmpl("old") }],
    Pod: [
        { metadata: meta("web-5d9-abc", ["ReplicaSet", "web-5d9"]), spec: { nodeName: "n1", volumes: [vol("uploads")] }, status: { phase: "Running" } },
        { metadata: meta("db-0", ["StatefulSet", "db"]), spec: { nodeName: "n2", volumes: [vol("data-db-0")] }, status: { phase: "Running" } },
        { metadata: meta("backup-28000-x", ["Job", "backup-28000"]), spec: { volumes: [vol("backups")] }, status: { phase: "Succeeded" } },
        { metadata: meta("debug"), spec: { nodeName: "n1", volumes: [vol("uploads")] }, status: { phase: "Running" } },
        { metadata: meta("web-5d9-nodisk", ["ReplicaSet", "web-5d9"]), spec: { nodeName: "n2" }, status: { phase: "Pending" } },
    ],
};
const PVCS = ["uploads", "data-db-0", "data-db-1", "data-dbx-0", "backups", "cache", "logs", "old"];

describe("kube/workloads", () => {
    const w = workloadsOf("app", OBJECTS as never, PVCS);

    it("resolves a StatefulSet's claim templates against the PVCs that exist", () => {
        assert.deepStrictEqual(statefulSetClaims(OBJECTS.StatefulSet[0], PVCS), ["data-db-0", "data-db-1"]);
    });

    it("finds the top-level workloads that mount given PVCs, bare pods included, owned controllers not", () => {
        const names = (pvcs: string[]) => workloadsMounting(w, pvcs).map((x) => `${x.kind}/${x.name}`).sort();
        assert.deepStrictEqual(names(["uploads"]), ["CronJob/backup", "Deployment/web", "Pod/debug"]);
        assert.deepStrictEqual(names(["data-db-1"]), ["StatefulSet/db"]);
        assert.deepStrictEqual(names(["cache"]), ["ReplicaSet/lonely"], "a ReplicaSet without an owner is a workload of its own");
        assert.deepStrictEqual(names(["old"]), ["DeploymentConfig/legacy"]);
        assert.deepStrictEqual(names(["logs"]), ["DaemonSet/agent"]);
        assert.deepStrictEqual(names(["nothing"]), []);
    });

    it("follows unfinished pods, with or without a PVC, to their top-level workload and keeps their node", () => {
        const pods = unfinishedPods("app", OBJECTS.Pod, w);
        assert.deepStrictEqual(pods.map((p) => [p.name, p.node, `${p.owner.kind}/${p.owner.name}`, p.claims.join()]), [
            ["web-5d9-abc", "n1", "Deployment/web", "uploads"],
            ["db-0", "n2", "StatefulSet/db", "data-db-0"],
            ["debug", "n1", "Pod/debug", "uploads"],
            ["web-5d9-nodisk", "n2", "Deployment/web", ""],
        ]);
        assert.deepStrictEqual(topLevelOwner(OBJECTS.Pod[2], w), { kind: "CronJob", name: "backup" });
    });
});
