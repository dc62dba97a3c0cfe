// The throw-away project copies of the engine and e2e tiers (and of bench/) hold what `pulumi up` loads: every local
// file index.ts reaches lies under PROJECT_ENTRIES, and the program loads only runtime dependencies.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_ENTRIES } from "../support/engine";
import { reachedFrom } from "../support/imports";

const ROOT = path.join(__dirname, "..", "..");

describe("the program's files", () => {
    const { files, packages } = reachedFrom(path.join(ROOT, "index.ts"));

    it("every local module index.ts loads is in PROJECT_ENTRIES (what the tiers copy)", () => {
        assert.ok(files.size > 20, "the walk follows the program");
        for (const f of files) {
            const top = path.relative(ROOT, f).split(path.sep)[0];
            assert.ok(PROJECT_ENTRIES.includes(top), `${path.relative(ROOT, f)} is loaded by the program but ${top} is not in PROJECT_ENTRIES (test/support/engine.ts)`);
        }
        for (const e of PROJECT_ENTRIES) assert.ok(fs.existsSync(path.join(ROOT, e)), `PROJECT_ENTRIES names ${e}, which does not exist`);
    });

    it("loads only runtime dependencies", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        for (const [name, file] of packages) assert.ok(pkg.dependencies[name], `${path.relative(ROOT, file)} loads ${name}, which is not in dependencies`);
    });
});
