// The TransferProgress dynamic provider through the real engine: the real `pulumi` CLI, language host and
// dynamic-provider host serialize the provider, run it, and record its result. A local fake Kubernetes API
// (test/support/fake-api.ts) in this process serves the REAL captured rsync logs, so every engine command runs
// asynchronously (the server must keep answering). The project is test/engine/fixtures/progress: one
// TransferProgress wired like components/namespace.ts wires it. The steps build on each other, in order.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { FakeApi, startFakeApi } from "../support/fake-api";
import { copyProject, ok, pulumiAsync, removeWorkDir, repoRoot, RunResult, runAsync, workDir } from "../support/engine";

const fixture = (name: string) => fs.readFileSync(path.join(repoRoot, "test", "fixtures", "rsync", name), "utf8");
const TOKEN = `proof-token-${process.pid}-never-in-state`;
const JOB = "dvm-wave-1-billing-p1";
const STACK = "proof";

describe("progress provider under the engine (fake Kubernetes API, real rsync logs)", function () {
    let work = "";
    let project = "";
    let api: FakeApi | undefined;
    let broken = "";
    const env = { DVM_PROGRESS_RESOURCE: path.join(repoRoot, "progress", "resource.ts") };
    const pulumi = (...args: string[]) => pulumiAsync(work, project, args, env);
    const pulumiOk = async (...args: string[]) => ok(await pulumi(...args), `pulumi ${args.join(" ")}`);
    const up = () => pulumi("up", "--yes", "--skip-preview");
    const migration = async () => JSON.parse((await pulumiOk("stack", "output", "--json", "migration")).stdout);
    const state = async () => (await pulumiOk("stack", "export")).stdout;
    const progressState = (text: string) => JSON.parse(text).deployment.resources
        .find((r: { type: string }) => r.type === "pulumi-nodejs:dynamic/progress:TransferProgress");

    before(async function () {
        work = workDir("progress");
        project = copyProject(work, ["Pulumi.yaml", "index.ts"], path.join(__dirname, "fixtures", "progress"));
        fs.copyFileSync(path.join(repoRoot, "tsconfig.json"), path.join(project, "tsconfig.json"));
        api = await startFakeApi({ token: TOKEN, jobName: JOB, pairs: ["postgresql:postgresql", "uploads:uploads-new"] });
        await pulumiOk("stack", "init", STACK);
        await pulumiOk("config", "set", "--secret", "kubeconfig", api.kubeconfig());
        await pulumiOk("config", "set", "jobName", JOB);
    });

    // each step starts from the state the one before left: after a failure the rest cannot tell anything
    beforeEach(function () {
        if (broken) throw new Error(`not run: the earlier step "${broken}" failed`);
    });
    afterEach(function () {
        if (this.currentTest?.state === "failed" && !broken) broken = this.currentTest.title;
    });

    after(async function () {
        await api?.close();
        if (work) removeWorkDir(work);
    });

    it("pass 1, a complete transfer: up succeeds, the stack output migration has Succeeded records", async function () {
        await pulumiOk("config", "set", "pass", "1");
        api!.setLog(fixture("local-complete.log"));
        api!.setJobDone(true);
        ok(await up(), "pulumi up");
        const m = await migration();
        assert.strictEqual(m.namespaces.billing.phase, "Succeeded");
        assert.strictEqual(m.namespaces.billing.pvcs.postgresql.totalProgressPercentage, 100);
        assert.ok(m.namespaces.billing.pvcs.uploads.transferredBytes > 3 << 20);
    });

    it("the state holds the kubeconfig only as ciphertext; no kubeconfig output; the serialized provider holds none", async function () {
        const st = await state();
        assert.ok(!st.includes(TOKEN), "the kubeconfig token is not in the state in plain text");
        const res = progressState(st);
        assert.ok(res.inputs.kubeconfig.ciphertext, "the kubeconfig input is a secret");
        assert.strictEqual(res.outputs.kubeconfig, undefined, "no kubeconfig output");
        assert.ok(res.outputs.__provider.includes("exports.handler") && !res.outputs.__provider.includes(TOKEN));
    });

    it("pass 2, a full destination: up fails naming namespace, PVC, reason and the last rsync lines; records kept", async function () {
        await pulumiOk("config", "set", "pass", "2");
        api!.setLog(fixture("local-failed-nospace.log"));
        api!.setJobDone(false);
        const r: RunResult = await up();
        assert.notStrictEqual(r.code, 0);
        for (const want of [/transfer failed in namespace billing \(Job dvm-wave-1-billing-p1, wave wave-1, pass 2\)/,
            /PVC postgresql: NoSpaceLeft after 1 attempt\(s\), exit 11/, /last rsync lines:/, /No space left on device \(28\)/,
            /PVC uploads -> uploads-new: NotStarted/, /pulumi config set dvm:pass/]) {
            assert.match(r.output, want);
        }
        assert.ok(!r.output.includes(TOKEN));
        const res = progressState(await state());
        assert.strictEqual(res.outputs.phase, "Failed");
        assert.strictEqual(res.outputs.pvcs.postgresql.reason, "NoSpaceLeft");
        assert.ok(res.outputs.__provider, "the failed record keeps the serialized provider");
        assert.ok((res.initErrors ?? []).length === 1);
    });

    it("up again without a new pass fails again: the unfinished record is read again", async function () {
        const r = await up();
        assert.notStrictEqual(r.code, 0);
        assert.match(r.output, /PVC postgresql: NoSpaceLeft/);
    });

    it("pass 3, a retried transfer: replaces the failed record, up succeeds (attempts 2)", async function () {
        await pulumiOk("config", "set", "pass", "3");
        api!.setLog(fixture("local-retried.log"));
        api!.setJobDone(true);
        const r = ok(await up(), "pulumi up");
        assert.match(r.output, /replace/);
        const m = await migration();
        assert.strictEqual(m.namespaces.billing.phase, "Succeeded");
        assert.strictEqual(m.namespaces.billing.pvcs.postgresql.attempts, 2);
    });

    it("dvm status prints the table from the stack output", async function () {
        const r = ok(await runAsync(work, project, "node", [path.join(repoRoot, "bin", "dvm.js"), "status", "--stack", STACK], env), "dvm status");
        assert.match(r.stdout, /^wave: wave-1 \(pass 3\)$/m);
        assert.match(r.stdout, /^billing\s+postgresql\s+Succeeded\s+2\s+100%/m);
    });

    it("render mode records Rendered without a request to the cluster", async function () {
        const before = api!.requests.length;
        await pulumiOk("config", "set", "render", "true");
        ok(await up(), "pulumi up");
        assert.strictEqual((await migration()).namespaces.billing.phase, "Rendered");
        assert.strictEqual(api!.requests.length, before, "no API request in render mode");
    });
});
