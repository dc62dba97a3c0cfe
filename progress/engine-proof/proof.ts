// Real-engine proof of the TransferProgress dynamic provider: the real `pulumi` CLI, language host and dynamic-provider
// host serialize the provider, run it, and record its result. A local fake Kubernetes API (fake-api.ts) serves the
// REAL captured rsync logs. Checks, in order:
//   1. pass 1, a complete transfer        -> `up` succeeds, stack output `migration` has Succeeded records
//   2. the state                          -> kubeconfig only as ciphertext, never in plain text, no kubeconfig output
//   3. pass 2, a full destination         -> `up` fails naming namespace, PVC, NoSpaceLeft and the last rsync lines;
//                                            the records stay in the state with the serialized provider
//   4. `up` again without a new pass      -> fails again (the record is unfinished, so it is read again)
//   5. pass 3, a retried transfer         -> replaces the failed record, `up` succeeds (attempts 2)
//   6. `dvm status`                       -> the table from the stack output
//   7. render mode                        -> Rendered, no request to the cluster
// Usage: node -r ts-node/register/transpile-only progress/engine-proof/proof.ts
// (needs `pulumi`, `pulumi-language-nodejs` and `pulumi-resource-pulumi-nodejs` on PATH, e.g. eval "$(bash
// hack/toolchain-env.sh)"; `make progress-engine` does that).
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startFakeApi } from "../../test/support/fake-api";

const repo = path.resolve(__dirname, "..", "..");
const fixture = (name: string) => fs.readFileSync(path.join(repo, "test", "fixtures", "rsync", name), "utf8");
const TOKEN = `proof-token-${process.pid}-never-in-state`;

async function main(): Promise<void> {
    const started = Date.now();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-progress-proof-"));
    const project = path.join(work, "project");
    fs.mkdirSync(project);
    for (const f of ["Pulumi.yaml", "index.ts"]) fs.copyFileSync(path.join(__dirname, "project", f), path.join(project, f));
    fs.symlinkSync(path.join(repo, "node_modules"), path.join(project, "node_modules"));
    fs.copyFileSync(path.join(repo, "tsconfig.json"), path.join(project, "tsconfig.json"));
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PULUMI_")) env[k] = v;
    Object.assign(env, {
        PULUMI_HOME: path.join(work, "home"),
        PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "dvm-progress-proof-only",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_SKIP_CONFIRMATIONS: "true",
        PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
        NO_COLOR: "1",
        DVM_PROGRESS_RESOURCE: path.join(repo, "progress", "resource.ts"),
    });
    fs.mkdirSync(path.join(work, "state"));
    // asynchronous on purpose: the fake API server lives in this process and must keep answering while pulumi runs
    const run = (cmd: string, args: string[]) => new Promise<{ code: number; out: string; stdout: string }>((resolve, reject) => {
        const t = Date.now();
        const child = spawn(cmd, args, { cwd: project, env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => { stdout += d; });
        child.stderr.on("data", (d) => { stderr += d; });
        const timer = setTimeout(() => child.kill("SIGTERM"), 600_000);
        child.on("error", reject);
        child.on("close", (code) => {
            clearTimeout(timer);
            const shown = args.map((a, i) => (args[i - 1] === "kubeconfig" || a.includes("\n") ? "***" : a));
            console.log(`proof: ${cmd} ${shown.join(" ")} -> exit ${code} (${((Date.now() - t) / 1000).toFixed(1)}s)`);
            resolve({ code: code ?? -1, out: stdout + stderr, stdout });
        });
    });
    const pulumi = (...args: string[]) => run("pulumi", [...args, "--non-interactive"]);
    const ok = async (p: Promise<{ code: number; out: string; stdout: string }>) => {
        const r = await p;
        if (r.code !== 0) throw new Error(`expected success:\n${r.out}`);
        return r;
    };
    const api = await startFakeApi({ token: TOKEN, jobName: "dvm-wave-1-billing-p1", pairs: ["postgresql:postgresql", "uploads:uploads-new"] });
    try {
        await ok(pulumi("stack", "init", "proof"));
        await ok(pulumi("config", "set", "--secret", "kubeconfig", api.kubeconfig()));
        await ok(pulumi("config", "set", "jobName", "dvm-wave-1-billing-p1"));
        const up = () => pulumi("up", "--yes", "--skip-preview");
        const migration = async () => JSON.parse((await ok(pulumi("stack", "output", "--json", "migration"))).stdout);
        const state = async () => (await ok(pulumi("stack", "export"))).stdout;
        const progressState = (text: string) => JSON.parse(text).deployment.resources.find((r: { type: string }) => r.type === "pulumi-nodejs:dynamic/progress:TransferProgress");

        // 1. a complete transfer
        await ok(pulumi("config", "set", "pass", "1"));
        api.setLog(fixture("local-complete.log"));
        api.setJobDone(true);
        await ok(up());
        let m = await migration();
        assert.strictEqual(m.namespaces.billing.phase, "Succeeded");
        assert.strictEqual(m.namespaces.billing.pvcs.postgresql.totalProgressPercentage, 100);
        assert.ok(m.namespaces.billing.pvcs.uploads.transferredBytes > 3 << 20);
        console.log("proof: 1 ok - complete transfer recorded");

        // 2. the kubeconfig in the state
        let st = await state();
        assert.ok(!st.includes(TOKEN), "the kubeconfig token is not in the state in plain text");
        let res = progressState(st);
        assert.ok(res.inputs.kubeconfig.ciphertext, "the kubeconfig input is a secret");
        assert.strictEqual(res.outputs.kubeconfig, undefined, "no kubeconfig output");
        assert.ok(res.outputs.__provider.includes("exports.handler") && !res.outputs.__provider.includes(TOKEN));
        console.log("proof: 2 ok - kubeconfig only as ciphertext; the serialized provider holds none");

        // 3. a failed transfer fails `up` with the details, and is kept in the state
        await ok(pulumi("config", "set", "pass", "2"));
        api.setLog(fixture("local-failed-nospace.log"));
        api.setJobDone(false);
        let r = await up();
        assert.notStrictEqual(r.code, 0);
        for (const want of [/transfer failed in namespace billing \(Job dvm-wave-1-billing-p1, wave wave-1, pass 2\)/,
            /PVC postgresql: NoSpaceLeft after 1 attempt\(s\), exit 11/, /last rsync lines:/, /No space left on device \(28\)/,
            /PVC uploads -> uploads-new: NotStarted/, /pulumi config set dvm:pass/]) {
            assert.match(r.out, want);
        }
        assert.ok(!r.out.includes(TOKEN));
        st = await state();
        res = progressState(st);
        assert.strictEqual(res.outputs.phase, "Failed");
        assert.strictEqual(res.outputs.pvcs.postgresql.reason, "NoSpaceLeft");
        assert.ok(res.outputs.__provider, "the failed record keeps the serialized provider");
        assert.ok((res.initErrors ?? []).length === 1);
        console.log("proof: 3 ok - failure names namespace, PVC, reason, last rsync lines; records kept in the state");

        // 4. the same pass again: still failed
        r = await up();
        assert.notStrictEqual(r.code, 0);
        assert.match(r.out, /PVC postgresql: NoSpaceLeft/);
        console.log("proof: 4 ok - the unfinished record is read again (and fails again)");

        // 5. a new pass: replaced, succeeds after a retry
        await ok(pulumi("config", "set", "pass", "3"));
        api.setLog(fixture("local-retried.log"));
        api.setJobDone(true);
        r = await ok(up());
        assert.match(r.out, /replace/);
        m = await migration();
        assert.strictEqual(m.namespaces.billing.phase, "Succeeded");
        assert.strictEqual(m.namespaces.billing.pvcs.postgresql.attempts, 2);
        console.log("proof: 5 ok - a new pass replaces the failed record and succeeds");

        // 6. dvm status from the stack output
        r = await ok(run("node", [path.join(repo, "bin", "dvm.js"), "status", "--stack", "proof"]));
        assert.match(r.stdout, /^wave: wave-1 \(pass 3\)$/m);
        assert.match(r.stdout, /^billing\s+postgresql\s+Succeeded\s+2\s+100%/m);
        console.log("proof: 6 ok - dvm status\n" + r.stdout.replace(/^/gm, "    "));

        // 7. render mode touches no cluster
        const before = api.requests.length;
        await ok(pulumi("config", "set", "render", "true"));
        await ok(up());
        assert.strictEqual((await migration()).namespaces.billing.phase, "Rendered");
        assert.strictEqual(api.requests.length, before, "no API request in render mode");
        console.log("proof: 7 ok - render mode records Rendered without a cluster");
        console.log(`proof: all passed in ${((Date.now() - started) / 1000).toFixed(0)}s`);
    } finally {
        await api.close();
        if (!process.env.DVM_PROOF_KEEP) fs.rmSync(work, { recursive: true, force: true });
        else console.log(`proof: kept ${work}`);
    }
}

main().catch((e) => {
    console.error(`proof: FAILED: ${e instanceof Error ? e.message : e}`);
    process.exitCode = 1;
});
