// `npm ci --omit=dev && npx dvm --help` must work: the compiled CLI may only load runtime dependencies. Follows the
// imports and require() calls from cli/main.ts through the repository's own modules and checks every package it
// reaches against package.json's dependencies (devDependencies are not installed by --omit=dev).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { reachedFrom } from "../support/imports";

const ROOT = path.join(__dirname, "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

describe("the dvm CLI installs with npm ci --omit=dev", () => {
    it("loads only runtime dependencies", () => {
        const reached = reachedFrom(path.join(ROOT, "cli", "main.ts")).packages;
        assert.ok(reached.has("@kubernetes/client-node"), "the walk follows the CLI into kube/");
        for (const [name, file] of reached) {
            const where = path.relative(ROOT, file);
            assert.ok(pkg.dependencies?.[name], `${where} loads ${name}, which is not in package.json dependencies (npm ci --omit=dev leaves it out)`);
        }
    });

    it("builds with what --omit=dev installs, and bin/dvm.js runs the build", () => {
        assert.ok(pkg.dependencies.typescript, "typescript is a runtime dependency: npm ci builds the CLI (prepare)");
        assert.match(pkg.scripts.prepare, /tsc -p tsconfig\.build\.json/);
        assert.strictEqual(pkg.scripts.build, pkg.scripts.prepare);
        assert.strictEqual(pkg.bin.dvm, "bin/dvm.js");
        assert.match(fs.readFileSync(path.join(ROOT, "bin", "dvm.js"), "utf8"), /build", "cli", "main\.js"/);
        const build = JSON.parse(fs.readFileSync(path.join(ROOT, "tsconfig.build.json"), "utf8"));
        assert.ok(build.include.some((i: string) => i.startsWith("cli/")), "tsconfig.build.json compiles cli/");
        for (const t of build.compilerOptions.types ?? []) assert.ok(pkg.dependencies[`@types/${t}`], `@types/${t} is a runtime dependency`);
    });
});
