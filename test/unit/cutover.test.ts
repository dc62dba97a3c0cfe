// Stage / cutover / rollback from the configuration to the outputs: dvm:migration and dvm:quiesce, the resource graph
// of each mode under Pulumi mocks, the cutover's final pass (exit 24 fails it; its failure says how to roll back),
// the quiesce providers (diff, delete never restores, serialization), and `dvm status`.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { liveLines, statusTable } from "../../cli/format";
import { liveRows } from "../../cli/status";
import { SourceViews } from "../../components/quiesce";
import { QuiesceInputs, QuiesceOutputs, quiesceNamespace } from "../../components/quiesce/cluster";
import { diffQuiesce, makeQuiesceProvider, makeRestoreProvider } from "../../components/quiesce/provider";
import { SourceQuiesce } from "../../components/quiesce/resource";
import { ConfigError } from "../../config/errors";
import { Plan } from "../../config/plan";
import { CONTAINERS, LABELS } from "../../contract";
import { validateStackConfig } from "../../config/stack";
import { parseTransferLogs } from "../../progress/parser";
import { TransferSource } from "../../progress/source";
import { TransferFailedError, TransferInputs, waitForTransfer } from "../../progress/wait";
import { FakeNamespace, FakeObject, meta, owned, pod, template } from "../support/fake-workloads";
import { declared, declaredOpts, installMocks, isSecret, makePlan, ofType, promiseOf, reset, settle } from "../support/mocks";

const base = (over: Record<string, unknown> = {}) => ({
    source: { context: "src" }, destination: { context: "dst", endpoint: { type: "route", subdomain: "apps.example.com" } }, wave: "waves/w.yaml", ...over,
});
function problem(raw: Record<string, unknown>, where: string): { what: string; example: string } {
    try {
        validateStackConfig(raw);
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        const p = e.problems.find((x) => x.where === where);
        assert.ok(p, `no problem at ${where}: ${e.message}`);
        return p;
    }
    return assert.fail(`no ConfigError at ${where}`);
}

describe("cutover: dvm:migration and dvm:quiesce", () => {
    it("default to a stage pass quiescing the workloads of the wave's PVCs, waiting up to 600 s", () => {
        const c = validateStackConfig(base());
        assert.strictEqual(c.migration, "stage");
        assert.deepStrictEqual(c.quiesce, { scope: "pvcs", timeoutSeconds: 600 });
    });

    it("take the three MTC modes and the namespace scope", () => {
        for (const m of ["stage", "cutover", "rollback"]) assert.strictEqual(validateStackConfig(base({ migration: m })).migration, m);
        assert.deepStrictEqual(validateStackConfig(base({ quiesce: { scope: "namespace", timeoutSeconds: "120" } })).quiesce, { scope: "namespace", timeoutSeconds: 120 });
    });

    it("reject anything else with the key, a did-you-mean and a valid example", () => {
        const m = problem(base({ migration: "cutvoer" }), "dvm:migration");
        assert.match(m.what, /"cutvoer" is not a migration mode \(did you mean 'cutover'\?\); use one of stage, cutover, rollback/);
        assert.match(m.example, /pulumi config set dvm:migration cutover/);
        assert.match(problem(base({ quiesce: { scope: "all" } }), "dvm:quiesce.scope").what, /not a quiesce scope.*pvcs.*namespace/);
        assert.match(problem(base({ quiesce: { timeoutSeconds: 0 } }), "dvm:quiesce.timeoutSeconds").what, /whole number from 1 to 86400/);
        assert.match(problem(base({ quiesce: { scop: "pvcs" } }), "dvm:quiesce.scop").what, /unknown key \(did you mean 'scope'\?\)/);
    });
});

describe("cutover: the final pass", () => {
    const log = fs.readFileSync(path.join(__dirname, "..", "fixtures", "rsync", "dataplane-cutover-vanished.log"), "utf8");
    const source = (text: string): TransferSource => ({
        job: async () => ({ complete: false, active: 1 }),
        pods: async () => [{ name: "p", created: 1, phase: "Failed", rsync: { restartCount: 0, running: false, terminated: { exitCode: 24 } } }],
        log: async () => text,
    });
    const inputs = (mode?: string): TransferInputs => ({
        namespace: "shop", jobName: "dvm-rsync-wave-1-p2-cutover", wave: "wave-1", pass: 2, render: false, timeoutSeconds: 60, pollSeconds: 0,
        pvcs: [{ source: "cut", target: "cut" }], ...(mode ? { mode } : {}),
    });

    it("exit 24 (captured from the real script in cutover mode) is a failed PVC: VanishedFiles, with the script's reason", () => {
        const r = parseTransferLogs(log, { pvcs: ["cut"] }).pvcs.cut;
        assert.strictEqual(r.phase, "Failed");
        assert.strictEqual(r.reason, "VanishedFiles");
        assert.strictEqual(r.exitCode, 24);
        assert.match(r.message!, /source files vanished during the cutover pass: something still writes to the volume/);
    });

    it("fails `pulumi up` at once saying the source stays quiesced, how to run the final pass again and how to roll back", async () => {
        await assert.rejects(waitForTransfer(source(log), inputs("cutover"), { sleep: async () => undefined }), (e: TransferFailedError) => {
            assert.match(e.message, /transfer failed in namespace shop \(Job dvm-rsync-wave-1-p2-cutover, wave wave-1, pass 2, the cutover's final pass\)/);
            assert.match(e.message, /PVC cut: VanishedFiles after 1 attempt\(s\), exit 24/);
            assert.match(e.message, /The source applications stay quiesced/);
            assert.match(e.message, /run the final pass again: pulumi config set dvm:pass <n\+1> && pulumi up/);
            assert.match(e.message, /pulumi config set dvm:migration rollback && pulumi up/);
            assert.strictEqual(e.properties.mode, "cutover");
            return true;
        });
        await assert.rejects(waitForTransfer(source(log), inputs(), { sleep: async () => undefined }), (e: TransferFailedError) => {
            assert.doesNotMatch(e.message, /quiesced|rollback/, "a stage pass's failure says nothing of a cutover");
            return true;
        });
    });
});

const KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    token: kubeconfig-token-must-never-leak-7f3a\n";

/** web (Deployment, 2 replicas) mounts uploads. */
function shop(): FakeNamespace {
    return new FakeNamespace("shop", [
        { kind: "Deployment", metadata: meta("web"), spec: { replicas: 2, ...template("uploads") } },
        { kind: "ReplicaSet", metadata: owned("web-1", "Deployment", "web"), spec: { replicas: 2, ...template("uploads") } },
    ], [pod("web-1-a", ["uploads"], ["ReplicaSet", "web-1"])], ["uploads"]);
}

installMocks();
const { MigrationWave, SourceStateError } = require("../../components/wave") as typeof import("../../components/wave");

async function build(plan: Plan, sourceViews?: SourceViews) {
    reset();
    const wave = new MigrationWave("wave", { plan, sourceKubeconfig: "apiVersion: v1\nkind: Config\n", destinationKubeconfig: "apiVersion: v1\nkind: Config\n", sourceViews });
    const migration = await promiseOf(wave.migration);
    await settle();
    return migration;
}
const QUIESCE = "pulumi-nodejs:dynamic/quiesce:SourceQuiesce";
const RESTORE = "pulumi-nodejs:dynamic/quiesce:SourceRestore";
const jobs = () => ofType("kubernetes:batch/v1:Job");
const rsyncEnv = (j: { inputs: any }) => j.inputs.spec.template.spec.containers.find((c: any) => c.name === CONTAINERS.rsync).env as { name: string; value: string }[];

/** billing: Deployment pg mounts the RWO PVC postgresql on node n3; inventory: nothing runs. */
async function views(extraPods: FakeObject[] = []): Promise<SourceViews> {
    const billing = new FakeNamespace("billing", [{ kind: "Deployment", metadata: meta("pg"), spec: { replicas: 1, ...template("postgresql") } }],
        [pod("pg-1", ["postgresql"], ["Deployment", "pg"], "n3"), ...extraPods], ["postgresql", { metadata: { name: "uploads" }, spec: { accessModes: ["ReadWriteMany"] } }]);
    return { billing: await billing.read("billing"), inventory: await new FakeNamespace("inventory", [], [], ["mysql-data"]).read("inventory") };
}

describe("cutover: the resource graph per mode", function () {
    this.timeout(30000);

    it("stage (the default): no quiesce, the Job as before, outputs say stage and not quiesced", async () => {
        const m = await build(makePlan());
        assert.deepStrictEqual([...ofType(QUIESCE), ...ofType(RESTORE)], []);
        assert.deepStrictEqual(jobs().map((j) => j.inputs.metadata.name).sort(), ["dvm-rsync-wave-1-p1", "dvm-rsync-wave-1-p1"]);
        for (const j of jobs()) {
            assert.ok(!rsyncEnv(j).some((e) => e.name === "DVM_MIGRATION_MODE"), "a stage Job is what it was");
            assert.strictEqual(j.inputs.metadata.labels[LABELS.migration], undefined);
        }
        assert.strictEqual(m.mode, "stage");
        assert.deepStrictEqual([m.namespaces.billing.mode, m.namespaces.billing.quiesced, m.namespaces.billing.workloads], ["stage", false, []]);
    });

    it("stage: the source pod goes to the node of the pod that holds an RWO PVC; the wave's nodeName otherwise", async () => {
        const m = await build(makePlan(), await views());
        const billing = jobs().find((j) => j.inputs.metadata.namespace === "billing")!;
        assert.strictEqual(billing.inputs.spec.template.spec.nodeName, "n3");
        assert.deepStrictEqual(m.namespaces.billing.sourceNode, { name: "n3", why: "PVC postgresql (ReadWriteOnce) in use there by pod pg-1" });
        const inventory = jobs().find((j) => j.inputs.metadata.namespace === "inventory")!;
        assert.strictEqual(inventory.inputs.spec.template.spec.nodeName, "worker-1");
    });

    it("stage: RWO PVCs held on two nodes stop the wave before anything is declared", async () => {
        reset();
        const v = await views();
        const held = new FakeNamespace("billing", [], [pod("a", ["postgresql"], undefined, "n1"), pod("b", ["uploads"], undefined, "n2")], ["postgresql", "uploads"]);
        v.billing = await held.read("billing");
        assert.throws(() => new MigrationWave("wave", { plan: makePlan(), sourceViews: v }),
            (e: Error) => e instanceof SourceStateError && /postgresql \(ReadWriteOnce, pod a on node n1\), uploads \(ReadWriteOnce, pod b on node n2\)/.test(e.message));
        await settle();
        assert.deepStrictEqual(declared, [], "nothing was registered");
    });

    it("cutover: one SourceQuiesce per namespace before the final pass's Job, which has its own name, mode and no placement", async () => {
        const m = await build(makePlan({ migration: "cutover", pass: 3, quiesce: { scope: "namespace", timeoutSeconds: 90 } }), await views());
        const q = ofType(QUIESCE);
        assert.deepStrictEqual(q.map((r) => r.inputs.namespace).sort(), ["billing", "inventory"]);
        const bq = q.find((r) => r.inputs.namespace === "billing")!;
        assert.deepStrictEqual([bq.inputs.wave, bq.inputs.pass, bq.inputs.pvcs, bq.inputs.scope, bq.inputs.timeoutSeconds, bq.inputs.render],
            ["wave-1", 3, ["postgresql", "uploads"], "namespace", 90, false]);
        assert.ok(isSecret(bq.inputs.kubeconfig), "the kubeconfig input is a secret");
        assert.strictEqual(typeof bq.inputs.__provider, "string", "a dynamic resource with its serialized provider");
        for (const j of jobs()) {
            assert.strictEqual(j.inputs.metadata.name, "dvm-rsync-wave-1-p3-cutover");
            assert.deepStrictEqual(rsyncEnv(j).find((e) => e.name === "DVM_MIGRATION_MODE"), { name: "DVM_MIGRATION_MODE", value: "cutover" });
            assert.strictEqual(j.inputs.spec.template.metadata.labels[LABELS.migration], "cutover");
            const ns = j.inputs.metadata.namespace;
            const deps = declaredOpts.get(j.name)!.dependencies;
            assert.ok(deps.some((u) => u.endsWith(`::${ns}-quiesce`)), `the ${ns} Job waits for its namespace's quiesce: ${deps.join(", ")}`);
        }
        assert.strictEqual(jobs().find((j) => j.inputs.metadata.namespace === "billing")!.inputs.spec.template.spec.nodeName, undefined,
            "the final pass starts once no pod holds the volume: no placement next to one");
        for (const p of ofType("pulumi-nodejs:dynamic/progress:TransferProgress")) assert.strictEqual(p.inputs.mode, "cutover");
        assert.strictEqual(m.mode, "cutover");
        assert.deepStrictEqual([m.namespaces.billing.mode, m.namespaces.billing.quiesced], ["cutover", true]);
    });

    it("cutover: a bare pod on a wave PVC refuses it by name before anything is declared", async () => {
        reset();
        const v = await views([pod("debug", ["uploads"], undefined, "n3")]);
        assert.throws(() => new MigrationWave("wave", { plan: makePlan({ migration: "cutover" }), sourceViews: v }),
            /cutover refused in namespace billing[\s\S]*pod debug on node n3: a bare Pod/);
        await settle();
        assert.deepStrictEqual(declared, []);
    });

    it("rollback: one SourceRestore per namespace and no transfer objects at all (destination PVCs stay: retained)", async () => {
        const m = await build(makePlan({ migration: "rollback" }));
        assert.deepStrictEqual(ofType(RESTORE).map((r) => r.inputs.namespace).sort(), ["billing", "inventory"]);
        assert.deepStrictEqual(declared.filter((d) => d.type.startsWith("kubernetes:")).map((d) => d.type), [],
            "no Job, Deployment, Secret, ConfigMap, Service, PVC or Namespace");
        assert.deepStrictEqual(ofType(QUIESCE), []);
        assert.strictEqual(m.mode, "rollback");
        assert.deepStrictEqual([m.namespaces.billing.phase, m.namespaces.billing.pvcs, m.namespaces.billing.quiesced], ["Restored", {}, false]);
    });

    it("render mode: the quiesce resource is told not to touch a cluster", async () => {
        await build(makePlan({ migration: "cutover", render: "/tmp/dvm-render-test" }));
        for (const q of ofType(QUIESCE)) assert.strictEqual(q.inputs.render, true);
    });
});

describe("cutover: the quiesce providers", function () {
    this.timeout(30000);
    const qin = (over: Partial<QuiesceInputs> = {}): QuiesceInputs => ({
        namespace: "shop", wave: "wave-1", pass: 1, pvcs: ["data"], scope: "pvcs", timeoutSeconds: 60, render: false, pollSeconds: 0, ...over,
    });
    const olds = (over: Partial<QuiesceOutputs> = {}): QuiesceOutputs => ({
        namespace: "shop", wave: "wave-1", pass: 1, pvcs: ["data"], scope: "pvcs", mode: "cutover", phase: "Quiesced", quiesced: true, workloads: [], ...over,
    });

    it("diff: the same cutover again is a no-op; another pass, PVC set, scope or an unfinished one quiesces again", () => {
        assert.deepStrictEqual(diffQuiesce(olds(), qin({ timeoutSeconds: 5, kubeconfig: "rotated" }), "Quiesced"), { changes: false, replaces: [], deleteBeforeReplace: true });
        for (const news of [qin({ pass: 2 }), qin({ pvcs: ["data", "logs"] }), qin({ scope: "namespace" }), qin({ wave: "wave-2" })]) {
            assert.deepStrictEqual(diffQuiesce(olds(), news, "Quiesced"), { changes: true, replaces: [], deleteBeforeReplace: true }, JSON.stringify(news));
        }
        assert.strictEqual(diffQuiesce(olds({ phase: "Failed" }), qin(), "Quiesced").changes, true);
        assert.deepStrictEqual(diffQuiesce(olds(), qin({ namespace: "other" }), "Quiesced").replaces, ["namespace"]);
        assert.strictEqual(diffQuiesce(olds({ phase: "Restored", mode: "rollback" }), qin(), "Restored").changes, false, "a done rollback is not repeated");
    });

    it("delete never touches the cluster: removing a cutover (next wave, other mode, destroy) leaves the source quiesced", async () => {
        const ns = shop();
        const factory = () => ns;
        const provider = makeQuiesceProvider(factory);
        const out = await provider.create(qin({ pvcs: ["uploads"] }));
        assert.strictEqual(out.outs.phase, "Quiesced");
        const reads = ns.reads;
        const patches = ns.patches.length;
        await provider.delete();
        await makeRestoreProvider(factory).delete();
        assert.strictEqual(ns.reads, reads, "delete read nothing");
        assert.strictEqual(ns.patches.length, patches, "delete wrote nothing");
        assert.strictEqual(ns.get("Deployment", "web").spec.replicas, 0);
        // only a rollback brings it back
        const back = await makeRestoreProvider(factory).create(qin({ pvcs: ["uploads"] }));
        assert.strictEqual(back.outs.phase, "Restored");
        assert.strictEqual(ns.get("Deployment", "web").spec.replicas, 2);
    });

    it("a failed quiesce keeps the serialized provider in the state it leaves (so the next up can diff it)", async () => {
        const ns = shop();
        ns.failPatch.set("Deployment/web", [403]);
        await assert.rejects(makeQuiesceProvider(() => ns).create({ ...qin({ pvcs: ["uploads"] }), __provider: "exports.handler = x" } as QuiesceInputs),
            (e: { properties: Record<string, unknown> }) => e.properties.__provider === "exports.handler = x" && e.properties.phase === "Failed");
    });

    it("serializes without the kubeconfig and runs on its own, as the engine's dynamic-provider host runs it", async () => {
        const start = declared.length;
        new SourceQuiesce("shop-quiesce", {
            kubeconfig: pulumi.secret(KUBECONFIG), namespace: "shop", wave: "wave-1", pass: 1, pvcs: ["data"], scope: "pvcs", timeoutSeconds: 60, render: false,
        });
        await settle();
        const mine = declared.slice(start).find((d) => d.name === "shop-quiesce")!;
        assert.strictEqual(mine.type, QUIESCE);
        const text: string = mine.inputs.__provider;
        assert.ok(text.length > 1000 && text.includes("exports.handler"));
        assert.ok(!text.includes("kubeconfig-token-must-never-leak"));
        const requireFromString = require("require-from-string");
        const provider = requireFromString(text).handler();
        assert.strictEqual((await provider.diff("id", olds(), qin({ pass: 2 }))).changes, true);
        assert.strictEqual((await provider.create(qin({ render: true }))).outs.phase, "Rendered");
        await assert.rejects(provider.create(qin({ kubeconfig: "", context: "" })), /dvm:source: the cutover got neither a kubeconfig nor a context/);
    });
});

describe("cutover: dvm status", () => {
    it("shows the mode and, per namespace, whether the source is quiesced, with each workload's saved value and value now", () => {
        const t = statusTable({
            wave: "wave-1", pass: 2, mode: "cutover",
            namespaces: {
                shop: {
                    phase: "Succeeded", pvcs: { data: { phase: "Succeeded", attempts: 1, totalProgressPercentage: 100, transferredBytes: 10 } }, mode: "cutover", quiesced: true,
                    workloads: [
                        { kind: "Deployment", name: "web", field: "replicas", saved: 2, current: 0, state: "quiesced" },
                        { kind: "DaemonSet", name: "agent", field: "nodeSelector", saved: { disk: "ssd" }, current: { "dvm.io/quiesce-daemonset": "quiesced" }, state: "quiesced" },
                    ],
                },
                idle: { phase: "Succeeded", pvcs: {}, mode: "cutover", quiesced: true, workloads: [] },
            },
        });
        const lines = t.split("\n");
        assert.strictEqual(lines[0], "wave: wave-1 (pass 2, cutover)");
        const i = lines.indexOf("source workloads (as this stack's last pulumi up left them):");
        assert.ok(i > 0, t);
        assert.match(lines[i + 1], /^NAMESPACE\s+MODE\s+QUIESCED\s+KIND\s+NAME\s+FIELD\s+SAVED\s+NOW\s+STATE$/);
        assert.match(lines[i + 2], /^shop\s+cutover\s+yes\s+Deployment\s+web\s+replicas\s+2\s+0\s+quiesced$/);
        assert.match(lines[i + 3], /^shop\s+cutover\s+yes\s+DaemonSet\s+agent\s+nodeSelector\s+\{"disk":"ssd"\}\s+\{"dvm.io\/quiesce-daemonset":"quiesced"\}\s+quiesced$/);
        assert.match(lines[i + 4], /^idle\s+cutover\s+yes\s+-\s+-\s+-\s+-\s+-\s+nothing mounts a PVC of the wave$/);
        const stage = statusTable({ wave: "w", pass: 1, mode: "stage", namespaces: { shop: { phase: "Succeeded", pvcs: {}, mode: "stage", quiesced: false, workloads: [] } } });
        assert.doesNotMatch(stage, /source workloads/, "a stage pass of a source nobody quiesced shows no workload section");
    });

    it("--live lists what the source cluster holds now, wave by wave, from the annotations on the workloads", async () => {
        const ns = shop();
        await quiesceNamespace(ns, { namespace: "shop", wave: "wave-1", pass: 1, pvcs: ["uploads"], scope: "pvcs", timeoutSeconds: 60, render: false, pollSeconds: 0 },
            { sleep: async () => undefined });
        const view = await ns.read("shop");
        const rows = liveRows(view.workloads);
        assert.deepStrictEqual(rows.map((r) => [r.wave, r.namespace, r.workload.kind, r.workload.name, r.workload.saved, r.workload.state]),
            [["wave-1", "shop", "Deployment", "web", 2, "quiesced"]]);
        const lines = liveLines("stack config dvm:source", rows);
        assert.match(lines[1], /source cluster now \(stack config dvm:source\): 1 of 1 workload\(s\) dvm saved values for hold their quiesced value/);
        assert.match(lines[3], /^wave-1\s+shop\s+Deployment\s+web\s+replicas\s+2\s+0\s+quiesced$/);
        assert.match(liveLines("flags", [])[1], /nothing is quiesced by dvm/);
    });
});
