// The cutover's quiesce and the rollback's restore: the annotation and restore rules as pure functions, which
// workloads a cutover stops and which pods refuse it, where a stage pass's source pod runs, and the loops on a fake
// namespace (interrupted runs, conflicts, timeouts, a CronJob's Job that starts meanwhile).
import * as assert from "assert";
import { ANNOTATIONS, LABELS, MANAGED_BY, QUIESCE_NODE_SELECTOR } from "../../contract";
import { quiesceNamespace, QuiesceFailedError, QuiesceInputs, restoreNamespace } from "../../components/quiesce/cluster";
import { canQuiesce, quiesceChange, restoreChange, workloadState } from "../../components/quiesce/rules";
import { placeSourcePod, previewLines, quiescedNow, quiescePlan } from "../../components/quiesce/select";
import { KubeObject, WorkloadKind } from "../../kube/workloads";
import { applyPatch, FakeNamespace, FakeObject, meta, owned, pod, template } from "../support/fake-workloads";

const WAVE = "wave-1";
const obj = (kind: string, name: string, spec: any, extra: Record<string, unknown> = {}): FakeObject =>
    ({ kind, metadata: { ...meta(name, extra), namespace: "shop", resourceVersion: "7" }, spec });
const annotations = (o: KubeObject) => o.metadata?.annotations ?? {};
const quiesce = (kind: WorkloadKind, o: KubeObject) => applyPatch(o, quiesceChange(kind, o, WAVE).ops);
const restore = (kind: WorkloadKind, o: KubeObject) => {
    const c = restoreChange(kind, o, WAVE);
    return c ? applyPatch(o, c.ops) : o;
};

describe("quiesce rules: what a cutover writes and a rollback writes back", () => {
    it("saves the value in dvm's annotation and writes the quiesced value, per kind", () => {
        const cases: [WorkloadKind, any, string, string, unknown, (o: any) => unknown][] = [
            ["Deployment", { replicas: 3, ...template("data") }, ANNOTATIONS.preQuiesceReplicas, "3", 0, (o) => o.spec.replicas],
            ["StatefulSet", { replicas: 2 }, ANNOTATIONS.preQuiesceReplicas, "2", 0, (o) => o.spec.replicas],
            ["ReplicaSet", { replicas: 1 }, ANNOTATIONS.preQuiesceReplicas, "1", 0, (o) => o.spec.replicas],
            ["ReplicationController", { replicas: 4 }, ANNOTATIONS.preQuiesceReplicas, "4", 0, (o) => o.spec.replicas],
            ["DeploymentConfig", { replicas: 5 }, ANNOTATIONS.preQuiesceReplicas, "5", 0, (o) => o.spec.replicas],
            ["Job", { parallelism: 2 }, ANNOTATIONS.preQuiesceParallelism, "2", 0, (o) => o.spec.parallelism],
            ["CronJob", { suspend: false }, ANNOTATIONS.preQuiesceSuspend, "false", true, (o) => o.spec.suspend],
            ["CronJob", {}, ANNOTATIONS.preQuiesceSuspend, "false", true, (o) => o.spec.suspend],
            ["DaemonSet", { template: { spec: { nodeSelector: { zone: "a", disk: "ssd" } } } }, ANNOTATIONS.preQuiesceNodeSelector,
                '{"disk":"ssd","zone":"a"}', QUIESCE_NODE_SELECTOR, (o) => o.spec.template.spec.nodeSelector],
            ["DaemonSet", { template: { spec: {} } }, ANNOTATIONS.preQuiesceNodeSelector, "{}", QUIESCE_NODE_SELECTOR, (o) => o.spec.template.spec.nodeSelector],
        ];
        for (const [kind, spec, annotation, saved, quiesced, field] of cases) {
            const o = obj(kind, "w", spec);
            const c = quiesceChange(kind, o, WAVE);
            assert.strictEqual(c.action, "quiesce");
            assert.deepStrictEqual(c.ops[0], { op: "test", path: "/metadata/resourceVersion", value: "7" }, `${kind}: the patch starts with a resourceVersion test`);
            const after = applyPatch(o, c.ops);
            assert.strictEqual(annotations(after)[annotation], saved, `${kind} ${JSON.stringify(spec)}: saved value`);
            assert.strictEqual(annotations(after)[ANNOTATIONS.quiescedBy], WAVE);
            assert.deepStrictEqual(field(after), quiesced, `${kind}: quiesced value`);
            assert.strictEqual(workloadState(kind, after)!.state, "quiesced");
        }
    });

    it("adds to existing annotations without dropping them", () => {
        const o = obj("Deployment", "web", { replicas: 2 }, { annotations: { "team": "shop", "a/b~c": "x" } });
        const after = quiesce("Deployment", o);
        assert.deepStrictEqual(annotations(after), { "team": "shop", "a/b~c": "x", [ANNOTATIONS.preQuiesceReplicas]: "2", [ANNOTATIONS.quiescedBy]: WAVE });
        assert.ok(quiesceChange("Deployment", o, WAVE).ops.some((op) => op.path === "/metadata/annotations/dvm.io~1pre-quiesce-replicas"), "JSON pointer escapes '/'");
    });

    it("a re-run (an interrupted `pulumi up`) never saves the quiesced value: the saved value stays", () => {
        const once = quiesce("Deployment", obj("Deployment", "web", { replicas: 3 }));
        const again = quiesceChange("Deployment", once, WAVE);
        assert.strictEqual(again.action, "already");
        assert.deepStrictEqual(again.ops, [], "nothing to write");
        assert.strictEqual(again.result.saved, 3);
        assert.strictEqual(annotations(quiesce("Deployment", once))[ANNOTATIONS.preQuiesceReplicas], "3");
    });

    it("a workload changed since the cutover saves its value now when quiesced again", () => {
        const once = quiesce("Deployment", obj("Deployment", "web", { replicas: 3 }));
        const scaled = { ...once, spec: { replicas: 1 } };
        const c = quiesceChange("Deployment", scaled, WAVE);
        assert.strictEqual(c.action, "again");
        const after = applyPatch(scaled, c.ops);
        assert.strictEqual(annotations(after)[ANNOTATIONS.preQuiesceReplicas], "1");
        assert.strictEqual((after.spec as any).replicas, 0);
    });

    it("restores exactly (replicas, suspend, node selectors, none), drops the annotations; twice is harmless", () => {
        const cases: [WorkloadKind, any][] = [
            ["Deployment", { replicas: 3 }], ["Job", { parallelism: 4 }], ["CronJob", { suspend: false }],
            ["CronJob", { suspend: true }], ["DaemonSet", { template: { spec: { nodeSelector: { disk: "ssd" } } } }],
            ["DaemonSet", { template: { spec: { containers: [] } } }],
        ];
        for (const [kind, spec] of cases) {
            const o = obj(kind, "w", spec, { annotations: { keep: "me" } });
            const back = restore(kind, quiesce(kind, o));
            assert.deepStrictEqual(back.spec, o.spec, `${kind} ${JSON.stringify(spec)}: restored exactly`);
            assert.deepStrictEqual(annotations(back), { keep: "me" }, `${kind}: dvm's annotations gone, others kept`);
            assert.strictEqual(restoreChange(kind, back, WAVE), undefined, `${kind}: a second restore finds nothing to do`);
        }
    });

    it("restore never overwrites an admin's change: the field keeps it, the annotations go", () => {
        const q = quiesce("Deployment", obj("Deployment", "web", { replicas: 3 }));
        const changed = { ...q, spec: { replicas: 1 } };
        assert.strictEqual(workloadState("Deployment", changed)!.state, "changed");
        const c = restoreChange("Deployment", changed, WAVE)!;
        assert.strictEqual(c.action, "keep");
        const back = applyPatch(changed, c.ops);
        assert.strictEqual((back.spec as any).replicas, 1);
        assert.deepStrictEqual(annotations(back), {});
        const ds = quiesce("DaemonSet", obj("DaemonSet", "agent", { template: { spec: { nodeSelector: { disk: "ssd" } } } }));
        const moved = JSON.parse(JSON.stringify(ds));
        moved.spec.template.spec.nodeSelector = { disk: "hdd" };
        assert.deepStrictEqual(applyPatch(moved, restoreChange("DaemonSet", moved, WAVE)!.ops).spec.template.spec.nodeSelector, { disk: "hdd" });
    });

    it("a rollback restores what its own wave quiesced, not another wave's", () => {
        const q = applyPatch(obj("Deployment", "web", { replicas: 3 }), quiesceChange("Deployment", obj("Deployment", "web", { replicas: 3 }), "wave-2").ops);
        assert.strictEqual(restoreChange("Deployment", q, WAVE), undefined);
        assert.strictEqual(restoreChange("Deployment", q, "wave-2")!.action, "restore");
    });

    it("a patch built from an old object version fails its resourceVersion test", () => {
        const o = obj("Deployment", "web", { replicas: 3 });
        const ops = quiesceChange("Deployment", o, WAVE).ops;
        const newer = { ...o, metadata: { ...o.metadata, resourceVersion: "8" } };
        assert.throws(() => applyPatch(newer, ops), (e: { statusCode?: number }) => e.statusCode === 422);
    });

    it("a saved value that is not one (edited by hand) is a clear error naming the workload and annotation", () => {
        const o = obj("Deployment", "web", { replicas: 0 }, { annotations: { [ANNOTATIONS.preQuiesceReplicas]: "three" } });
        assert.throws(() => restoreChange("Deployment", o, WAVE), /Deployment\/web in namespace shop: annotation dvm\.io\/pre-quiesce-replicas holds "three".*kubectl annotate --overwrite deployment web dvm\.io\/pre-quiesce-replicas=3/);
        assert.throws(() => quiesceChange("Deployment", o, WAVE), /pre-quiesce-replicas holds "three"/);
    });

    it("a bare Pod cannot be quiesced", () => {
        assert.strictEqual(canQuiesce("Pod"), false);
        assert.throws(() => quiesceChange("Pod", obj("Pod", "debug", {}), WAVE), /cannot quiesce a Pod/);
    });
});

/** A namespace with every kind: web (Deployment) and db (StatefulSet) and backup (CronJob, with a running Job) mount
 * wave PVCs; agent (DaemonSet) and cache (Deployment) do not; dvm's own Job mounts them read-only. */
function shop(extraPods: FakeObject[] = []): FakeNamespace {
    return new FakeNamespace("shop", [
        { kind: "Deployment", metadata: meta("web"), spec: { replicas: 2, ...template("uploads") } },
        { kind: "ReplicaSet", metadata: owned("web-5d9", "Deployment", "web"), spec: { replicas: 2, ...template("uploads") } },
        { kind: "StatefulSet", metadata: meta("db"), spec: { replicas: 1, ...template(), volumeClaimTemplates: [{ metadata: { name: "data" } }] } },
        { kind: "CronJob", metadata: meta("backup"), spec: { suspend: false, jobTemplate: { spec: template("uploads", "backups") } } },
        { kind: "Job", metadata: owned("backup-100", "CronJob", "backup"), spec: { parallelism: 1, ...template("uploads", "backups") }, status: { active: 1 } },
        { kind: "Job", metadata: owned("backup-99", "CronJob", "backup"), spec: { parallelism: 1, ...template("uploads", "backups") }, status: { conditions: [{ type: "Complete", status: "True" }] } },
        { kind: "DaemonSet", metadata: meta("agent"), spec: { template: { spec: { nodeSelector: { disk: "ssd" }, volumes: [] } } } },
        { kind: "Deployment", metadata: meta("cache"), spec: { replicas: 1, ...template("scratch") } },
        { kind: "Job", metadata: meta("dvm-rsync-wave-1-p1", { labels: { [LABELS.managedBy]: MANAGED_BY } }), spec: { parallelism: 1, ...template("uploads", "data-db-0") } },
    ], [
        pod("web-5d9-a", ["uploads"], ["ReplicaSet", "web-5d9"]),
        pod("web-5d9-b", ["uploads"], ["ReplicaSet", "web-5d9"]),
        pod("db-0", ["data-db-0"], ["StatefulSet", "db"]),
        pod("backup-100-x", ["uploads", "backups"], ["Job", "backup-100"]),
        pod("cache-1", ["scratch"], ["Deployment", "cache"]),
        pod("dvm-rsync-wave-1-p1-q", ["uploads", "data-db-0"], ["Job", "dvm-rsync-wave-1-p1"]),
        ...extraPods,
    ], ["uploads", "data-db-0", "backups", "scratch"]);
}
const WAVE_PVCS = ["uploads", "data-db-0"];
const names = (ws: { kind: string; name: string }[]) => ws.map((w) => `${w.kind}/${w.name}`);

describe("quiesce: what a cutover stops", () => {
    it("the workloads mounting a wave PVC, a suspended CronJob's running Job, never dvm's own Job", async () => {
        const view = await shop().read("shop");
        const plan = quiescePlan(view, WAVE_PVCS, "pvcs");
        assert.deepStrictEqual(names(plan.targets), ["CronJob/backup", "Deployment/web", "StatefulSet/db", "Job/backup-100"]);
        assert.deepStrictEqual(plan.refused, []);
        assert.deepStrictEqual(plan.holding.map((p) => p.name), ["web-5d9-a", "web-5d9-b", "db-0", "backup-100-x"], "dvm's own pod holds nothing");
    });

    it("scope namespace widens it to every workload of the namespace (MTC's behaviour)", async () => {
        const plan = quiescePlan(await shop().read("shop"), WAVE_PVCS, "namespace");
        assert.deepStrictEqual(names(plan.targets), ["CronJob/backup", "Deployment/cache", "Deployment/web", "StatefulSet/db", "DaemonSet/agent", "Job/backup-100"]);
    });

    it("a bare Pod or a pod of a controller dvm cannot scale, mounting a wave PVC, refuses the cutover by name", async () => {
        const ns = shop([pod("debug", ["uploads"]), pod("vm-launcher", ["data-db-0"], ["VirtualMachineInstance", "vm1"]), pod("idle", ["scratch"])]);
        const plan = quiescePlan(await ns.read("shop"), WAVE_PVCS, "pvcs");
        assert.deepStrictEqual(plan.refused.map((p) => p.name), ["debug", "vm-launcher"]);
        await assert.rejects(quiesceNamespace(ns, inputs()), (e: Error) => {
            assert.match(e.message, /cutover refused in namespace shop/);
            assert.match(e.message, /pod debug on node n1: a bare Pod \(no controller\); mounts uploads/);
            assert.match(e.message, /pod vm-launcher on node n1: owned by VirtualMachineInstance vm1, which dvm cannot scale; mounts data-db-0/);
            assert.match(e.message, /nothing was quiesced/);
            return true;
        });
        assert.deepStrictEqual(ns.patches, [], "nothing was touched");
    });

    it("the preview names each workload with its value now and the quiesced one", async () => {
        const view = await shop().read("shop");
        assert.deepStrictEqual(previewLines(quiescePlan(view, WAVE_PVCS, "pvcs"), WAVE), [
            "CronJob/backup: suspend false -> true (saved in dvm.io/pre-quiesce-suspend)",
            "Deployment/web: replicas 2 -> 0 (saved in dvm.io/pre-quiesce-replicas)",
            "StatefulSet/db: replicas 1 -> 0 (saved in dvm.io/pre-quiesce-replicas)",
            "Job/backup-100: parallelism 1 -> 0 (saved in dvm.io/pre-quiesce-parallelism)",
        ]);
    });
});

const inputs = (over: Partial<QuiesceInputs> = {}): QuiesceInputs => ({
    namespace: "shop", wave: WAVE, pass: 1, pvcs: WAVE_PVCS, scope: "pvcs", timeoutSeconds: 60, render: false, pollSeconds: 0, ...over,
});
const saved = (ns: FakeNamespace, kind: string, name: string) => annotations(ns.get(kind, name));

describe("quiesce: the cutover on a namespace", () => {
    it("quiesces, waits until no pod mounts a wave PVC, and reports the saved values", async () => {
        const ns = shop();
        ns.podLag = 3;
        const out = await quiesceNamespace(ns, inputs(), { sleep: async () => undefined });
        assert.strictEqual(out.phase, "Quiesced");
        assert.strictEqual(out.quiesced, true);
        assert.deepStrictEqual(out.workloads.map((w) => [w.kind, w.name, w.field, w.saved, w.current, w.state]), [
            ["CronJob", "backup", "suspend", false, true, "quiesced"],
            ["Deployment", "web", "replicas", 2, 0, "quiesced"],
            ["StatefulSet", "db", "replicas", 1, 0, "quiesced"],
            ["Job", "backup-100", "parallelism", 1, 0, "quiesced"],
        ]);
        assert.ok(ns.reads >= 4, `waited for the pods to go (${ns.reads} reads)`);
        const view = await ns.read("shop");
        assert.deepStrictEqual(view.pods.filter((p) => p.claims.some((c) => WAVE_PVCS.includes(c))).map((p) => p.name), ["dvm-rsync-wave-1-p1-q"]);
        assert.strictEqual(ns.get("Deployment", "cache").spec.replicas, 1, "a workload without a wave PVC runs on");
        assert.strictEqual(ns.get("Job", "dvm-rsync-wave-1-p1").spec.parallelism, 1, "dvm's own Job is never quiesced");
        assert.deepStrictEqual(quiescedNow(view, WAVE).workloads.map((w) => w.state), ["quiesced", "quiesced", "quiesced", "quiesced"]);
    });

    it("an interrupted run (Ctrl-C while waiting) run again finishes with the saved values intact", async () => {
        const ns = shop();
        ns.podLag = 50;
        let polls = 0;
        await assert.rejects(quiesceNamespace(ns, inputs(), { sleep: async () => { if (++polls === 2) throw new Error("interrupted"); } }), /interrupted/);
        assert.strictEqual(ns.get("Deployment", "web").spec.replicas, 0);
        const patchesBefore = ns.patches.length;
        ns.podLag = 1;
        const out = await quiesceNamespace(ns, inputs(), { sleep: async () => undefined });
        assert.strictEqual(out.phase, "Quiesced");
        assert.strictEqual(saved(ns, "Deployment", "web")[ANNOTATIONS.preQuiesceReplicas], "2", "not the 0 the first run wrote");
        assert.strictEqual(saved(ns, "CronJob", "backup")[ANNOTATIONS.preQuiesceSuspend], "false");
        assert.strictEqual(ns.patches.length, patchesBefore, "the second run wrote nothing: everything was quiesced already");
        assert.deepStrictEqual(out.workloads.map((w) => w.saved), [false, 2, 1, 1]);
    });

    it("an admin's change between the read and the patch is read again and decided anew", async () => {
        const ns = shop();
        let edited = false;
        ns.onPatch = (kind, name, x) => {
            if (kind !== "Deployment" || name !== "web" || edited) return;
            edited = true;
            x.edit("Deployment", "web", (o) => { o.spec.replicas = 5; });
        };
        const out = await quiesceNamespace(ns, inputs(), { sleep: async () => undefined });
        assert.ok(edited);
        assert.strictEqual(saved(ns, "Deployment", "web")[ANNOTATIONS.preQuiesceReplicas], "5", "the value after the admin's change");
        assert.strictEqual(out.workloads.find((w) => w.name === "web")!.saved, 5);
    });

    it("a Job the CronJob started while it was being suspended is quiesced too", async () => {
        const ns = shop();
        ns.podLag = 2;
        ns.onRead = (n, x) => {
            if (n !== 2) return;
            x.objects.push({ kind: "Job", metadata: { ...owned("backup-101", "CronJob", "backup"), namespace: "shop", resourceVersion: "900" }, spec: { parallelism: 1, ...template("uploads") }, status: { active: 1 } });
            x.pods.push(pod("backup-101-y", ["uploads"], ["Job", "backup-101"]));
        };
        const out = await quiesceNamespace(ns, inputs(), { sleep: async () => undefined });
        assert.strictEqual(ns.get("Job", "backup-101").spec.parallelism, 0);
        assert.ok(out.workloads.some((w) => w.name === "backup-101" && w.saved === 1));
    });

    it("pods that do not go fail it after the timeout, naming them and the rollback; the source stays quiesced", async () => {
        const ns = shop();
        ns.podLag = 1_000_000;
        let clock = 0;
        await assert.rejects(quiesceNamespace(ns, inputs({ timeoutSeconds: 30, pollSeconds: 5 }), { now: () => clock, sleep: async (ms) => { clock += ms; } }),
            (e: QuiesceFailedError) => {
                assert.match(e.message, /cutover of namespace shop \(wave wave-1\) failed: after 30s \(dvm:quiesce\.timeoutSeconds\) pods still mount a PVC of the wave: pod web-5d9-a \(Deployment web, Running on n1\)/);
                assert.match(e.message, /quiesced so far: CronJob\/backup \(suspend true, saved false\), Deployment\/web \(replicas 0, saved 2\)/);
                assert.match(e.message, /the source stays quiesced; to bring it back: pulumi config set dvm:migration rollback && pulumi up/);
                assert.strictEqual(e.properties.phase, "Failed");
                assert.strictEqual(e.properties.workloads.length, 4);
                assert.deepStrictEqual(e.reasons, [e.message]);
                return true;
            });
        assert.strictEqual(clock, 30_000);
        assert.strictEqual(ns.get("Deployment", "web").spec.replicas, 0, "left quiesced");
    });

    it("scope namespace waits for every pod of what it quiesced, with or without a PVC (an images-only namespace too)", async () => {
        for (const pvcs of [WAVE_PVCS, []]) {
            const ns = shop([pod("agent-x", [], ["DaemonSet", "agent"])]);
            ns.podLag = 4;
            let polls = 0;
            await quiesceNamespace(ns, inputs({ pvcs, scope: "namespace" }), { sleep: async () => { polls++; } });
            const left = (await ns.read("shop")).pods.map((p) => p.name);
            assert.deepStrictEqual(left, ["dvm-rsync-wave-1-p1-q"], `pvcs ${JSON.stringify(pvcs)}: only dvm's own pod is left`);
            assert.ok(polls >= 3, `pvcs ${JSON.stringify(pvcs)}: waited for the pods to go (${polls} polls)`);
        }
        const ns = shop([pod("agent-x", [], ["DaemonSet", "agent"])]);
        ns.podLag = 1_000_000;
        let clock = 0;
        await assert.rejects(quiesceNamespace(ns, inputs({ pvcs: [], scope: "namespace", timeoutSeconds: 10, pollSeconds: 5 }), { now: () => clock, sleep: async (ms) => { clock += ms; } }),
            /after 10s \(dvm:quiesce\.timeoutSeconds\) pods of the quiesced workloads or on a PVC of the wave still run: .*pod cache-1 \(Deployment cache, Running on n1\); pod agent-x \(DaemonSet agent, Running on n1\)/);
    });

    it("scope pvcs waits for no pod that mounts no PVC of the wave", async () => {
        const ns = shop([pod("agent-x", [], ["DaemonSet", "agent"])]);
        ns.podLag = 2;
        await quiesceNamespace(ns, inputs(), { sleep: async () => undefined });
        assert.deepStrictEqual((await ns.read("shop")).pods.map((p) => p.name).sort(), ["agent-x", "cache-1", "dvm-rsync-wave-1-p1-q"]);
    });

    it("a workload scaled back during the wait is named, not fought over", async () => {
        const ns = shop();
        ns.podLag = 1_000_000;
        ns.onRead = (n, x) => { if (n === 3) x.edit("Deployment", "web", (o) => { o.spec.replicas = 2; }); };
        let clock = 0;
        await assert.rejects(quiesceNamespace(ns, inputs({ timeoutSeconds: 10, pollSeconds: 5 }), { now: () => clock, sleep: async (ms) => { clock += ms; } }),
            /Deployment web no longer holds its quiesced value: something \(an admin, GitOps, an operator\) scaled it back/);
        assert.strictEqual(ns.get("Deployment", "web").spec.replicas, 2, "dvm did not scale it down again");
    });

    it("an API error other than a conflict fails it with what is quiesced so far", async () => {
        const ns = shop();
        ns.failPatch.set("Deployment/web", [403]);
        await assert.rejects(quiesceNamespace(ns, inputs(), { sleep: async () => undefined }), (e: QuiesceFailedError) => {
            assert.match(e.message, /failed: HTTP 403/);
            assert.match(e.message, /quiesced so far: CronJob\/backup/);
            return true;
        });
    });
});

describe("quiesce: the rollback on a namespace", () => {
    it("restores replicas, suspend and parallelism exactly, keeps an admin's change, and twice is harmless", async () => {
        const ns = shop();
        await quiesceNamespace(ns, inputs(), { sleep: async () => undefined });
        ns.edit("StatefulSet", "db", (o) => { o.spec.replicas = 3; });
        const out = await restoreNamespace(ns, inputs());
        assert.strictEqual(out.phase, "Restored");
        assert.strictEqual(out.quiesced, false);
        assert.deepStrictEqual(out.workloads.map((w) => [w.kind, w.name, w.state, w.current]).sort(), [
            ["CronJob", "backup", "restored", false], ["Deployment", "web", "restored", 2], ["Job", "backup-100", "restored", 1], ["StatefulSet", "db", "kept", 3],
        ]);
        assert.strictEqual(ns.get("Deployment", "web").spec.replicas, 2);
        assert.strictEqual(ns.get("CronJob", "backup").spec.suspend, false);
        assert.strictEqual(ns.get("Job", "backup-100").spec.parallelism, 1);
        assert.strictEqual(ns.get("StatefulSet", "db").spec.replicas, 3, "the admin's change survives");
        for (const o of ns.objects) {
            assert.deepStrictEqual(Object.keys(annotations(o)).filter((k) => k.startsWith("dvm.io/")), [], `${o.kind}/${o.metadata?.name}: no dvm annotation left`);
        }
        const patches = ns.patches.length;
        const again = await restoreNamespace(ns, inputs());
        assert.deepStrictEqual(again.workloads, []);
        assert.strictEqual(ns.patches.length, patches, "the second rollback wrote nothing");
    });
});

describe("placement: where a stage pass's source pod runs", () => {
    const view = (pvcs: KubeObject[], pods: FakeObject[]) => new FakeNamespace("shop", [
        { kind: "Deployment", metadata: meta("web"), spec: { replicas: 1, ...template("a") } },
        { kind: "Job", metadata: meta("dvm-rsync-w-p1", { labels: { [LABELS.managedBy]: MANAGED_BY } }), spec: template("a", "b") },
    ], pods, pvcs).read("shop");
    const pvc = (name: string, ...modes: string[]) => ({ metadata: { name }, spec: { accessModes: modes }, status: { accessModes: modes } });
    const ns = (nodeName?: string) => ({ source: "shop", nodeName, pvcs: [{ source: "a" }, { source: "b" }] });

    it("next to the running pod that mounts a ReadWriteOnce PVC of the wave; nowhere in particular otherwise", async () => {
        const v = await view([pvc("a", "ReadWriteOnce"), pvc("b", "ReadWriteOnce")], [pod("web-1", ["a"], ["Deployment", "web"], "n2"), pod("dvm-rsync-w-p1-x", ["a", "b"], ["Job", "dvm-rsync-w-p1"], "n9")]);
        assert.deepStrictEqual(placeSourcePod(ns(), v, "stage"), { nodeName: "n2", why: "PVC a (ReadWriteOnce) in use there by pod web-1" });
        const shared = await view([pvc("a", "ReadWriteMany"), pvc("b", "ReadWriteOnce")], [pod("web-1", ["a"], ["Deployment", "web"], "n2")]);
        assert.deepStrictEqual(placeSourcePod(ns(), shared, "stage"), {}, "a ReadWriteMany volume can be mounted anywhere");
        assert.deepStrictEqual(placeSourcePod(ns(), undefined, "stage"), {}, "nothing read: nothing decided");
    });

    it("RWO PVCs of one namespace in use on different nodes: a clear error naming PVCs, pods and nodes", async () => {
        const v = await view([pvc("a", "ReadWriteOnce"), pvc("b", "ReadWriteOnce")], [pod("web-1", ["a"], ["Deployment", "web"], "n1"), pod("other", ["b"], undefined, "n2")]);
        assert.throws(() => placeSourcePod(ns(), v, "stage"),
            /namespace shop: ReadWriteOnce PVCs of the wave are in use on different nodes: a \(ReadWriteOnce, pod web-1 on node n1\), b \(ReadWriteOnce, pod other on node n2\).*separate waves.*dvm:migration cutover/);
        assert.deepStrictEqual(placeSourcePod(ns(), v, "cutover"), {}, "a cutover stops those pods first: no placement");
    });

    it("the wave's nodeName wins, unless an RWO PVC is attached to another node; ReadWriteOncePod in use cannot be staged", async () => {
        const v = await view([pvc("a", "ReadWriteOnce"), pvc("b")], [pod("web-1", ["a"], ["Deployment", "web"], "n2")]);
        assert.deepStrictEqual(placeSourcePod(ns("n2"), v, "stage"), { nodeName: "n2", why: "nodeName of the wave file" });
        assert.throws(() => placeSourcePod(ns("n1"), v, "stage"), /puts the source pod on node n1, but a \(ReadWriteOnce, pod web-1 on node n2\) is attached to another node\. Fix: nodeName: n2/);
        const rwop = await view([pvc("a", "ReadWriteOncePod")], [pod("web-1", ["a"], ["Deployment", "web"], "n2")]);
        assert.throws(() => placeSourcePod(ns(), rwop, "stage"), /a \(ReadWriteOncePod, pod web-1 on node n2\) can be mounted by one pod only.*dvm:migration cutover/);
    });
});
