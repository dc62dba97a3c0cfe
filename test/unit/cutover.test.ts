// Stage / cutover / rollback from the configuration to the outputs: dvm:migration and dvm:quiesce, the resource graph
// of each mode under Pulumi mocks, the cutover's final pass (exit 24 fails it; its failure says how to roll back),
// the quiesce providers (diff, delete never restores, serialization), and `dvm status`.
import * as assert from "assert";
import { ConfigError } from "../../config/errors";
import { validateStackConfig } from "../../config/stack";

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
