// Stage / cutover / rollback from the configuration to the outputs: dvm:migration and dvm:quiesce, the resource graph
// of each mode under Pulumi mocks, the cutover's final pass (exit 24 fails it; its failure says how to roll back),
// the quiesce providers (diff, delete never restores, serialization), and `dvm status`.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ConfigError } from "../../config/errors";
import { validateStackConfig } from "../../config/stack";
import { parseTransferLogs } from "../../progress/parser";
import { TransferSource } from "../../progress/source";
import { TransferFailedError, TransferInputs, waitForTransfer } from "../../progress/wait";

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
