// The engine toolchain on its own: a tiny TypeScript program (test/engine/fixtures/toolchain) through the real CLI,
// the language host, the Kubernetes provider in render mode and a dynamic provider, with a passphrase-encrypted
// secret. If this fails, the dvm program tests cannot tell anything.

import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { copyProject, listFiles, pulumi, pulumiOk, readManifests, removeWorkDir, workDir } from "../support/engine";

describe("engine toolchain (fixture program)", function () {
    let work = "";
    let project = "";
    let rendered = "";
    const token = `tok-${crypto.randomBytes(8).toString("hex")}`;

    before(function () {
        work = workDir("smoke");
        project = copyProject(work, ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts"], path.join(__dirname, "fixtures", "toolchain"));
        rendered = path.join(work, "rendered");
        pulumiOk(work, project, ["stack", "init", "smoke"]);
        pulumiOk(work, project, ["config", "set", "renderDir", rendered]);
        pulumiOk(work, project, ["config", "set", "label", "wave"]);
        pulumiOk(work, project, ["config", "set", "--secret", "token", token]);
    });

    after(function () {
        if (work) removeWorkDir(work);
    });

    it("pulumi is the version-stamped v3.248.0 build", function () {
        const r = pulumiOk(work, project, ["version"]);
        assert.equal(r.stdout.trim(), "v3.248.0");
    });

    it("the stack file holds the secret encrypted, never in plain text", function () {
        const stackFile = fs.readFileSync(path.join(project, "Pulumi.smoke.yaml"), "utf8");
        assert.match(stackFile, /secure:/);
        assert.ok(!stackFile.includes(token), "plain token in Pulumi.smoke.yaml");
    });

    it("preview plans every resource and writes nothing", function () {
        const r = pulumiOk(work, project, ["preview", "--diff"]);
        for (const t of ["kubernetes:core/v1:Namespace", "kubernetes:core/v1:Secret", "kubernetes:core/v1:ConfigMap", "pulumi-nodejs:dynamic:Resource"]) {
            assert.ok(r.output.includes(t), `preview does not mention ${t}:\n${r.output}`);
        }
        assert.deepEqual(listFiles(rendered), [], "preview must not render manifests");
    });

    it("up renders the manifests and runs the dynamic provider", function () {
        const r = pulumiOk(work, project, ["up", "--yes", "--skip-preview"]);
        assert.match(r.output, /\d+ created/, r.output);

        const docs = readManifests(rendered);
        const kinds = docs.map((d) => d.kind).sort();
        assert.deepEqual(kinds, ["ConfigMap", "Namespace", "Secret"]);
        const cm = docs.find((d) => d.kind === "ConfigMap")!;
        assert.equal(cm.metadata.namespace, "engine-smoke");
        assert.deepEqual(cm.data, { label: "wave", secretName: "token" });
        for (const d of docs.filter((x) => x.kind === "ConfigMap")) {
            assert.ok(!JSON.stringify(d).includes(token), `secret in ConfigMap ${d.__file}`);
        }
    });

    it("dynamic provider outputs reach `pulumi stack output --json`; secrets stay secret", function () {
        const out = JSON.parse(pulumiOk(work, project, ["stack", "output", "--json"]).stdout);
        assert.equal(out.repeated, "wave-wave-wave");
        assert.equal(out.repeatedLength, 14);
        assert.equal(out.configMapName, "settings");
        assert.equal(out.tokenOut, "[secret]");
        const shown = JSON.parse(pulumiOk(work, project, ["stack", "output", "--json", "--show-secrets"]).stdout);
        assert.equal(shown.tokenOut, token);
    });

    it("the state carries the serialized provider and no plain secret", function () {
        const exported = pulumiOk(work, project, ["stack", "export"]).stdout;
        const state = JSON.parse(exported);
        const dyn = state.deployment.resources.find((r: any) => r.type === "pulumi-nodejs:dynamic:Resource");
        assert.ok(dyn, "no dynamic resource in the state");
        assert.equal(typeof dyn.inputs.__provider, "string");
        assert.match(dyn.inputs.__provider, /repeated/, "serialized provider does not contain the create function");
        for (const f of listFiles(path.join(work, "state"))) {
            const text = fs.readFileSync(path.join(work, "state", f), "utf8");
            assert.ok(!text.includes(token), `plain token in state file ${f}`);
        }
    });

    it("a second preview sees no changes", function () {
        const r = pulumi(work, project, ["preview", "--expect-no-changes"]);
        assert.equal(r.code, 0, r.output);
    });

    it("a missing plugin fails the preview instead of being downloaded", function () {
        // PATH with everything but the Kubernetes provider; PULUMI_HOME's plugin cache is empty
        const bin = fs.mkdtempSync(path.join(work, "bin-"));
        for (const b of ["pulumi", "pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"]) {
            fs.symlinkSync(path.join(process.env.DVM_TOOLCHAIN_BIN!, b), path.join(bin, b));
        }
        const pathWithout = [bin, ...(process.env.PATH ?? "").split(path.delimiter).filter((d) => !fs.existsSync(path.join(d, "pulumi-resource-kubernetes")))].join(path.delimiter);
        const r = pulumi(work, project, ["preview"], { PATH: pathWithout });
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, /no resource plugin 'pulumi-resource-kubernetes' found/);
        assert.ok(!/Downloading plugin|downloading provider/i.test(r.output), `the engine tried to download:\n${r.output}`);
        const plugins = path.join(work, "pulumi-home", "plugins");
        const cached = fs.existsSync(plugins) ? fs.readdirSync(plugins) : [];
        assert.deepEqual(cached.filter((f) => f.includes("kubernetes")), [], "a kubernetes plugin landed in the plugin cache");
    });

    it("destroy removes the rendered manifests", function () {
        pulumiOk(work, project, ["destroy", "--yes", "--skip-preview", "--stack", "smoke"]);
        assert.deepEqual(listFiles(rendered).filter((f) => f.endsWith(".yaml")), []);
    });
});
