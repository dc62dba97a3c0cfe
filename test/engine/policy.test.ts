// The CrossGuard pack (policies/) run by the real engine against the program in render mode:
// the default (non-root) example stack passes; a root stack that does not label its namespaces for PSA is blocked.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { copyProject, PROJECT_ENTRIES as PROGRAM_ENTRIES, pulumi, pulumiOk, removeWorkDir, repoRoot, workDir } from "../support/engine";

const PROJECT_ENTRIES = [...PROGRAM_ENTRIES, "stacks"];
const pack = path.join(repoRoot, "policies");

/** The example stack that runs non-root with the default endpoint (route), else the first non-root one. */
function defaultStack(): string | undefined {
    const dir = path.join(repoRoot, "stacks");
    if (!fs.existsSync(dir)) return undefined;
    const stacks = fs.readdirSync(dir).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter((s): s is string => !!s).sort();
    const nonRoot = stacks.filter((s) => !/runAsRoot:\s*true/.test(fs.readFileSync(path.join(dir, `Pulumi.${s}.yaml`), "utf8")));
    return nonRoot.find((s) => /type:\s*route/.test(fs.readFileSync(path.join(dir, `Pulumi.${s}.yaml`), "utf8"))) ?? nonRoot[0];
}

describe("policy pack under the engine", function () {
    let work = "";
    let project = "";
    const base = defaultStack();

    before(function () {
        const missing = [
            [path.join(repoRoot, "index.ts"), "the program entry index.ts is missing"],
            [path.join(pack, "PulumiPolicy.yaml"), "the policy pack (policies/PulumiPolicy.yaml) is missing"],
            [path.join(pack, "node_modules"), "the policy pack's packages are not installed (make deps)"],
        ].find(([p]) => !fs.existsSync(p));
        assert.ok(!missing, missing?.[1]);
        assert.ok(base, "no non-root example stack under stacks/ (the default stack these tests start from)");
        work = workDir("policy");
        project = copyProject(work, PROJECT_ENTRIES);
    });

    after(function () {
        if (work) removeWorkDir(work);
    });

    /** A stack named `name` with the config of the default example stack, rendering into the work dir. */
    function stackFromBase(name: string): void {
        if (name !== base) {
            fs.copyFileSync(path.join(project, "stacks", `Pulumi.${base}.yaml`), path.join(project, "stacks", `Pulumi.${name}.yaml`));
        }
        pulumiOk(work, project, ["stack", "init", name]);
        pulumiOk(work, project, ["config", "set", "--stack", name, "dvm:render", path.join(work, "rendered", name)]);
    }

    it("the default stack passes every mandatory policy", function () {
        stackFromBase(base!);
        const r = pulumi(work, project, ["preview", "--stack", base!, "--policy-pack", pack]);
        assert.equal(r.code, 0, r.output);
        assert.match(r.output, /Policies:[\s\S]*dvm/, `no sign the pack ran:\n${r.output}`);
    });

    it("a root stack without PSA namespace labels is blocked by root-needs-privileged-namespace", function () {
        stackFromBase("root-no-psa");
        pulumiOk(work, project, ["config", "set", "--stack", "root-no-psa", "--path", "dvm:security.runAsRoot", "true"]);
        pulumiOk(work, project, ["config", "set", "--stack", "root-no-psa", "--path", "dvm:security.podSecurityLabels", "false"]);
        const r = pulumi(work, project, ["preview", "--stack", "root-no-psa", "--policy-pack", pack,
            "--policy-pack-config", path.join(pack, "config", "root.json")]);
        assert.notEqual(r.code, 0, `preview passed:\n${r.output}`);
        assert.match(r.output, /root-needs-privileged-namespace/);
    });

    it("the same root stack passes once the wave labels its namespaces (the block is about PSA, not root)", function () {
        stackFromBase("root-psa");
        pulumiOk(work, project, ["config", "set", "--stack", "root-psa", "--path", "dvm:security.runAsRoot", "true"]);
        pulumiOk(work, project, ["config", "set", "--stack", "root-psa", "--path", "dvm:security.podSecurityLabels", "true"]);
        const r = pulumi(work, project, ["preview", "--stack", "root-psa", "--policy-pack", pack,
            "--policy-pack-config", path.join(pack, "config", "root.json")]);
        assert.equal(r.code, 0, r.output);
    });
});
