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

async function build(plan: Plan) {
    reset();
    const wave = new MigrationWave("wave", { plan, sourceKubeconfig: "apiVersion: v1\nkind: Config\n", destinationKubeconfig: "apiVersion: v1\nkind: Config\n" });
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
            assert.ok(opts.dependsOn.some((urn) => urn.endsWith(`::${mine.name}`)), `${p.name} waits for ${mine.name}: ${opts.dependsOn.join(", ")}`);
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
