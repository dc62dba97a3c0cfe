// Honest records and transfers that heal (issue 16), the component side under Pulumi mocks: what the Job does with a
// pod ended by a signal, per-wave object names, the completion marker, rsyncd's timeout, dvm:debugHold, the unsafe
// symlink count, the stunnel server's limits. The behaviour itself: test/unit/rsync-client.test.ts (the script),
// test/dataplane/ (real rsync and stunnel), test/e2e/records.test.ts (the local clusters).
import * as assert from "assert";
import { ConfigError } from "../../config/errors";
import { Plan } from "../../config/plan";
import { validateStackConfig } from "../../config/stack";
import { renderStunnelServerConf } from "../../components/transport/stunnel";
import { declared, declaredOpts, installMocks, makePlan, ofType, promiseOf, reset, settle } from "../support/mocks";
import * as C from "../../contract";

installMocks();
const { MigrationWave } = require("../../components/wave") as typeof import("../../components/wave");

async function build(plan: Plan, ownClaims?: string[]) {
    reset();
    const wave = new MigrationWave("wave", { plan, sourceKubeconfig: "apiVersion: v1\nkind: Config\n", destinationKubeconfig: "apiVersion: v1\nkind: Config\n", ownClaims });
    await promiseOf(wave.migration);
    await settle();
}
const jobs = () => ofType("kubernetes:batch/v1:Job");
const rsyncContainer = (job: { inputs: any }) => job.inputs.spec.template.spec.containers.find((c: any) => c.name === C.CONTAINERS.rsync);
const env = (job: { inputs: any }, name: string) => rsyncContainer(job).env.find((e: any) => e.name === name)?.value;
const onSide = (side: "source" | "destination") => declared.filter((d) => d.provider?.includes(`::${side}::`));

/** The Job controller's reading of a podFailurePolicy: the first rule that matches the failed pod decides. */
function jobAction(rules: any[], pod: { rsyncExit: number; conditions?: string[] }): string {
    for (const r of rules) {
        if (r.onPodConditions?.some((c: any) => pod.conditions?.includes(c.type))) return r.action;
        const e = r.onExitCodes;
        if (e && e.containerName === C.CONTAINERS.rsync) {
            const hit = e.values.includes(pod.rsyncExit);
            if ((e.operator === "In" && hit) || (e.operator === "NotIn" && !hit)) return r.action;
        }
    }
    return "Count"; // no rule: the failure counts against backoffLimit
}

describe("records: the components", function () {
    this.timeout(30000);

    it("a pod ended by a signal (deleted: 143, killed/OOM: 137) gets a new pod within backoffLimit; rsync's own failure fails the Job", async () => {
        await build(makePlan());
        for (const job of jobs()) {
            const rules = job.inputs.spec.podFailurePolicy.rules;
            assert.strictEqual(jobAction(rules, { rsyncExit: 143 }), "Count", "kubectl delete pod");
            assert.strictEqual(jobAction(rules, { rsyncExit: 137 }), "Count", "SIGKILL, the OOM killer");
            assert.strictEqual(jobAction(rules, { rsyncExit: 143, conditions: ["DisruptionTarget"] }), "Ignore", "an eviction is not even counted");
            for (const code of [5, 11, 23, C.EXIT_CODES.tunnelDown, C.EXIT_CODES.unsafeLinks]) {
                assert.strictEqual(jobAction(rules, { rsyncExit: code }), "FailJob", `rsync-client.sh gave up with ${code}`);
            }
            assert.ok(job.inputs.spec.backoffLimit >= 1, "room for the next pod");
        }
    });

    it("two waves in one namespace share no object name, on either cluster", async () => {
        const wave = (name: string, pvc: string) => ({ name, namespaces: [{ name: "billing", pvcs: [{ name: pvc, capacity: "1Gi" }] }] });
        const names = (side: "source" | "destination") => onSide(side)
            .filter((d) => d.inputs?.metadata?.namespace !== undefined && !d.type.endsWith("Patch") && d.type !== "kubernetes:core/v1:PersistentVolumeClaim")
            .map((d) => `${d.type} ${d.inputs.metadata.namespace}/${d.inputs.metadata.name}`);
        await build(makePlan({}, wave("split-a", "postgresql")));
        const a = { source: names("source"), destination: names("destination") };
        const nsA = ofType("kubernetes:core/v1:Namespace").map((n) => n.inputs.metadata);
        await build(makePlan({}, wave("split-b", "uploads")));
        const b = { source: names("source"), destination: names("destination") };
        const nsB = ofType("kubernetes:core/v1:Namespace").map((n) => n.inputs.metadata);
        for (const side of ["source", "destination"] as const) {
            assert.ok(a[side].length >= 3 && b[side].length >= 3, `${side}: ${a[side].join(", ")}`);
            assert.deepStrictEqual(a[side].filter((n) => b[side].includes(n)), [], `${side}: names both waves use`);
        }
        // the destination namespace both waves declare: the same labels (server-side apply: co-owners, no conflict)
        assert.deepStrictEqual(nsA, nsB);
        assert.strictEqual(nsA[0].labels[C.LABELS.wave], undefined, "no wave label on a namespace two waves share");
    });

    it("root waves patch the source namespace's PSA labels under a per-wave annotation key", async () => {
        await build(makePlan({ security: { runAsRoot: true } }));
        const patches = ofType("kubernetes:core/v1:NamespacePatch");
        assert.ok(patches.length > 0);
        for (const p of patches) assert.deepStrictEqual(Object.keys(p.inputs.metadata.annotations), [`${C.ANNOTATIONS.psaPatchedBy}.wave-1`]);
    });

    it("every object of the wave names its stack (dvm.io/stack), so a clash with another stack can say whose", async () => {
        await build(makePlan());
        const kinds = ["Secret", "ConfigMap", "Job", "Deployment", "Service", "PersistentVolumeClaim"];
        const objects = declared.filter((d) => kinds.some((k) => d.type === `kubernetes:${k === "Job" ? "batch" : k === "Deployment" ? "apps" : "core"}/v1:${k}`));
        assert.ok(objects.length >= 10);
        for (const o of objects) assert.strictEqual(o.inputs.metadata.annotations?.[C.ANNOTATIONS.stack], "dvm/unit", `${o.type} ${o.name}`);
    });

    it("a destination PVC this stack made earlier (kept by a rollback or a removed wave) is re-adopted with a forced apply; no other is", async () => {
        await build(makePlan(), ["inventory-west/mysql", "inventory/mysql", "elsewhere/data"]);
        const force = Object.fromEntries(ofType("kubernetes:core/v1:PersistentVolumeClaim")
            .map((p) => [`${p.inputs.metadata.namespace}/${p.inputs.metadata.name}`, p.inputs.metadata.annotations["pulumi.com/patchForce"]]));
        assert.ok(Object.keys(force).length >= 2, JSON.stringify(force));
        for (const [pvc, v] of Object.entries(force)) assert.strictEqual(v, pvc === "inventory-west/mysql" ? "true" : undefined, pvc);
        await build(makePlan());
        for (const p of ofType("kubernetes:core/v1:PersistentVolumeClaim")) assert.strictEqual(p.inputs.metadata.annotations["pulumi.com/patchForce"], undefined);
    });

    it("the completion marker: copy-started on the PVCs before the Job; copy-succeeded patches after the progress resource, kept on delete", async () => {
        await build(makePlan({ pass: 3 }));
        const pvcs = ofType("kubernetes:core/v1:PersistentVolumeClaim");
        for (const p of pvcs) assert.strictEqual(p.inputs.metadata.annotations[C.ANNOTATIONS.copyStarted], "wave-1 pass 3");
        const patches = ofType("kubernetes:core/v1:PersistentVolumeClaimPatch");
        assert.deepStrictEqual(patches.map((p) => `${p.inputs.metadata.namespace}/${p.inputs.metadata.name}`).sort(),
            pvcs.map((p) => `${p.inputs.metadata.namespace}/${p.inputs.metadata.name}`).sort());
        const progress = declared.filter((d) => d.type === "pulumi-nodejs:dynamic/progress:TransferProgress");
        for (const p of patches) {
            assert.strictEqual(p.inputs.metadata.annotations[C.ANNOTATIONS.copySucceeded], "wave-1 pass 3");
            assert.match(p.provider!, /::destination::/);
            const opts = declaredOpts.get(p.name)!;
            assert.ok(opts.retainOnDelete, "removing the wave keeps the marker");
            const ns = p.inputs.metadata.namespace === "inventory-west" ? "inventory" : p.inputs.metadata.namespace;
            const mine = progress.find((r) => r.inputs.namespace === ns)!;
            assert.ok(opts.dependencies.some((urn) => urn.endsWith(`::${mine.name}`)), `${p.name} waits for ${mine.name}: ${opts.dependencies.join(", ")}`);
        }
        await build({ ...makePlan(), render: "/tmp/dvm-render-records" });
        assert.strictEqual(ofType("kubernetes:core/v1:PersistentVolumeClaimPatch").length, 0, "render mode copies nothing, marks nothing");
    });

    it("rsyncd.conf's timeout is dvm:rsync.timeout", async () => {
        const conf = () => ofType("kubernetes:core/v1:ConfigMap").map((c) => c.inputs.data?.[C.CONFIG_FILES.rsyncd]).filter((x) => x);
        for (const [timeout, want] of [[900, "timeout = 900"], [0, "timeout = 0"], [undefined, "timeout = 600"]] as const) {
            await build(makePlan(timeout === undefined ? {} : { rsync: { timeout } }));
            assert.strictEqual(conf().length, 2);
            for (const c of conf()) assert.deepStrictEqual(c.split("\n").filter((l: string) => l.startsWith("timeout")), [want]);
        }
    });

    it("dvm:debugHold reaches the rsync container (true: until the Job's deadline; minutes)", async () => {
        for (const [hold, seconds] of [[undefined, "0"], [false, "0"], [true, String(1440 * 60)], [30, "1800"]] as const) {
            await build(makePlan(hold === undefined ? {} : { debugHold: hold }));
            for (const j of jobs()) assert.strictEqual(env(j, "DVM_DEBUG_HOLD_SECONDS"), seconds, `dvm:debugHold ${hold}`);
        }
        await build(makePlan({ debugHold: 30, transferTimeoutMinutes: 10 }));
        assert.strictEqual(env(jobs()[0], "DVM_DEBUG_HOLD_SECONDS"), "600", "never beyond the Job's deadline");
    });

    it("unsafe symlinks: counted for a non-root destination daemon, refused with unsafeSymlinks fail, nothing as root", async () => {
        const words = () => rsyncContainer(jobs()[0]).args.filter((a: string) => a.startsWith("--dvm-") && a.includes("unsafe"));
        await build(makePlan());
        assert.deepStrictEqual(words(), [C.SCRIPT_OPTIONS.countUnsafeLinks]);
        await build(makePlan({ rsync: { unsafeSymlinks: "fail" } }));
        assert.deepStrictEqual(words(), [C.SCRIPT_OPTIONS.refuseUnsafeLinks]);
        await build(makePlan({ rsync: { unsafeSymlinks: "fail" }, security: { runAsRoot: true } }));
        assert.deepStrictEqual(words(), [], "a chrooted daemon keeps every link as it is");
    });

    it("the destination Deployment and Service are replaced delete-first (RWO volumes, a fixed nodePort)", async () => {
        await build(makePlan());
        for (const t of ["kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service"]) {
            for (const d of ofType(t)) assert.ok(declaredOpts.get(d.name)?.deleteBeforeReplace, `${t} ${d.name}`);
        }
    });
});

describe("records: config and the stunnel server", () => {
    const base = (over: Record<string, unknown>) => ({
        source: { context: "s" }, destination: { context: "d", endpoint: { type: "route", subdomain: "apps.example.com" } }, wave: "w.yaml", ...over,
    });
    it("dvm:debugHold: true, false or minutes; anything else names the key with an example", () => {
        assert.strictEqual(validateStackConfig(base({})).debugHoldSeconds, 0);
        assert.strictEqual(validateStackConfig(base({ debugHold: 5 })).debugHoldSeconds, 300);
        for (const bad of ["soon", -1, 1.5, { minutes: 5 }]) {
            try {
                validateStackConfig(base({ debugHold: bad }));
                assert.fail(`accepted ${JSON.stringify(bad)}`);
            } catch (e) {
                assert.ok(e instanceof ConfigError, String(e));
                assert.deepStrictEqual(e.problems.map((p) => p.where), ["dvm:debugHold"]);
                assert.match(e.problems[0].example ?? "", /pulumi config set dvm:debugHold 30/);
            }
        }
    });

    it("the stunnel server drops connections that do not finish their handshake within TIMEOUTbusy", () => {
        const lines = renderStunnelServerConf().split("\n");
        assert.ok(lines.includes(`TIMEOUTbusy = ${C.STUNNEL_BUSY_TIMEOUT_SECONDS}`), lines.join("\n"));
        assert.ok(C.STUNNEL_BUSY_TIMEOUT_SECONDS <= 30 && C.STUNNEL_MAX_CLIENTS >= 32 && C.STUNNEL_MAX_CLIENTS <= 256);
    });
});

describe("records: what the clusters already hold (preflight, pure)", () => {
    const { assertNoClash, checkClusters, clashProblems, ownClaims, removedWaveWarnings } = require("../../components/preflight") as typeof import("../../components/preflight");
    const { transferNames } = require("../../components/names") as typeof import("../../components/names");
    const plan = () => makePlan();
    const obj = (kind: string, namespace: string, name: string, stack: string | undefined, labels: Record<string, string> = {}, annotations: Record<string, string> = {}) => ({
        kind, namespace, name, labels: { [C.LABELS.managedBy]: C.MANAGED_BY, ...labels },
        annotations: { ...(stack ? { [C.ANNOTATIONS.stack]: stack } : {}), ...annotations },
    });
    const names = transferNames("wave-1", "billing", 1);

    it("another stack's objects under this wave's names are a clash naming both stacks, the wave and the fix", () => {
        const problems = clashProblems(plan(), "dvm/east", [obj("Secret", "billing", names.credentials, "dvm/west", { [C.LABELS.wave]: "wave-1" })], []);
        assert.strictEqual(problems.length, 1);
        assert.strictEqual(problems[0].where, "waves/w.yaml: name");
        assert.match(problems[0].what, /wave "wave-1" cannot use namespace "billing" on the source cluster: Secret billing\/dvm-transfer-credentials-wave-1 belongs to stack dvm\/west/);
        assert.strictEqual(problems[0].example, "name: wave-1-b");
        assert.throws(() => assertNoClash(plan(), "dvm/east", [], [obj("Deployment", "billing", names.server, "dvm/west")]), /destination cluster: Deployment billing\/dvm-rsyncd-wave-1 belongs to stack dvm\/west/);
        const pvc = clashProblems(plan(), "dvm/east", [], [obj("PersistentVolumeClaim", "inventory-west", "mysql", "dvm/west", { [C.LABELS.wave]: "w-9" }, { [C.ANNOTATIONS.sourcePvc]: "inventory/mysql-data" })]);
        assert.deepStrictEqual(pvc.map((p) => p.where), ["waves/w.yaml: namespaces[1].pvcs[0].targetName"]);
        assert.match(pvc[0].what, /destination PVC inventory-west\/mysql is already the copy of stack dvm\/west \(wave w-9, source inventory\/mysql-data\)/);
    });

    it("no clash: own objects, another wave's names in the same namespace, objects without a stack annotation", () => {
        const others = [
            obj("Secret", "billing", names.credentials, "dvm/east"),
            obj("Secret", "billing", transferNames("wave-2", "billing", 1).credentials, "dvm/west"),
            obj("Job", "billing", names.job, undefined),
        ];
        assert.deepStrictEqual(clashProblems(plan(), "dvm/east", others, others), []);
    });

    it("warns when this run removes a wave of this stack whose copy did not succeed, naming the PVCs", () => {
        const mark = (started: string, succeeded?: string) => ({ [C.ANNOTATIONS.copyStarted]: started, ...(succeeded ? { [C.ANNOTATIONS.copySucceeded]: succeeded } : {}) });
        const dst = [
            obj("Deployment", "app", "dvm-rsyncd-old", "dvm/east", { [C.LABELS.role]: C.ROLE_DESTINATION, [C.LABELS.wave]: "old" }),
            obj("PersistentVolumeClaim", "app", "data", "dvm/east", { [C.LABELS.wave]: "old" }, mark("old pass 2", "old pass 1")),
            obj("PersistentVolumeClaim", "app", "logs", "dvm/east", { [C.LABELS.wave]: "old" }, mark("old pass 2", "old pass 2")),
            obj("PersistentVolumeClaim", "app", "cache", "dvm/east", { [C.LABELS.wave]: "old" }, mark("old pass 1")),
            // done long ago (its Deployment is gone) and another stack's: not this run's business
            obj("PersistentVolumeClaim", "app", "older", "dvm/east", { [C.LABELS.wave]: "older" }, mark("older pass 1")),
            obj("Deployment", "x", "dvm-rsyncd-w", "dvm/west", { [C.LABELS.role]: C.ROLE_DESTINATION, [C.LABELS.wave]: "w" }),
            obj("PersistentVolumeClaim", "x", "p", "dvm/west", { [C.LABELS.wave]: "w" }, mark("w pass 1")),
        ];
        const w = removedWaveWarnings({ wave: { name: "wave-1", file: "waves/w.yaml" } }, "dvm/east", dst);
        assert.strictEqual(w.length, 1, w.join("\n"));
        assert.match(w[0], /removes wave "old" \(dvm:wave now names wave "wave-1"\), but its transfer did not succeed for 2 destination PVC\(s\): app\/cache \(started: old pass 1, succeeded: never\), app\/data \(started: old pass 2, succeeded: old pass 1\)/);
        assert.deepStrictEqual(removedWaveWarnings({ wave: { name: "old", file: "w" } }, "dvm/east", dst), [], "the wave itself is not being removed");
    });

    it("own claims: this stack's destination PVCs only (what a later pass may re-adopt with a forced apply)", () => {
        const dst = [
            obj("PersistentVolumeClaim", "app", "data", "dvm/east"),
            obj("PersistentVolumeClaim", "app", "west", "dvm/west"),
            obj("PersistentVolumeClaim", "app", "unmarked", undefined),
            obj("Secret", "app", "dvm-transfer-credentials-w", "dvm/east"),
            { ...obj("PersistentVolumeClaim", "app", "not-dvm", "dvm/east"), labels: {} },
            obj("PersistentVolumeClaim", "other", "cache", "dvm/east"),
        ];
        assert.deepStrictEqual(ownClaims("dvm/east", dst), ["app/data", "other/cache"]);
        assert.deepStrictEqual(ownClaims("dvm/north", dst), []);
    });

    it("checkClusters reads each kind once per cluster and combines both checks", async () => {
        const asked: string[] = [];
        const reader = (side: string, objects: ReturnType<typeof obj>[]) => ({
            list: async (kind: string) => { asked.push(`${side} ${kind}`); return objects.filter((o) => o.kind === kind); },
        });
        const { warnings, ownClaims: own } = await checkClusters(plan(), "dvm/east", reader("src", []), reader("dst", [
            obj("Deployment", "app", "d", "dvm/east", { [C.LABELS.role]: C.ROLE_DESTINATION, [C.LABELS.wave]: "old" }),
            obj("PersistentVolumeClaim", "app", "data", "dvm/east", { [C.LABELS.wave]: "old" }, { [C.ANNOTATIONS.copyStarted]: "old pass 1" }),
        ]));
        assert.strictEqual(warnings.length, 1);
        assert.deepStrictEqual(own, ["app/data"]);
        assert.deepStrictEqual(asked.sort(), ["dst ConfigMap", "dst Deployment", "dst PersistentVolumeClaim", "dst Secret", "dst Service", "src ConfigMap", "src Job", "src Secret"]);
        await assert.rejects(checkClusters(plan(), "dvm/east", reader("src", [obj("ConfigMap", "billing", names.scripts, "dvm/west")]), reader("dst", [])), /belongs to stack dvm\/west/);
    });
});
