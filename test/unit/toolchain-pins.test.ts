// The engine tier runs the pair users run: the Kubernetes SDK the program is built against is the release of the
// provider plugin the toolchain builds (otherwise every `pulumi` run warns "resource plugin kubernetes is expected to
// have version >=<sdk>, but has <plugin>" and the tests prove a pair nobody installs).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");

describe("toolchain pins", () => {
    it("@pulumi/kubernetes (package.json, the lock file, the installed SDK's plugin version) = the provider hack/toolchain.sh builds", () => {
        const release = /^K8S_RELEASE=(\S+)$/m.exec(fs.readFileSync(path.join(ROOT, "hack", "toolchain.sh"), "utf8"))?.[1];
        assert.ok(release, "hack/toolchain.sh sets K8S_RELEASE");
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.strictEqual(pkg.dependencies["@pulumi/kubernetes"], release);
        const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
        assert.strictEqual(lock.packages["node_modules/@pulumi/kubernetes"].version, release);
        // what the engine compares the plugin against
        const sdk = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "@pulumi", "kubernetes", "package.json"), "utf8"));
        assert.strictEqual(sdk.pulumi?.version, release);
    });
});
