// The build-and-run infrastructure holds together: every script the Makefile, hack/ and .ci/run name exists (a path
// left behind by a move fails here, not twenty minutes into make test), and make help describes every target.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.join(__dirname, "..", "..");
const read = (f: string) => fs.readFileSync(path.join(root, f), "utf8");

function shellFiles(dir: string): string[] {
    return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = path.join(dir, e.name);
        return e.isDirectory() ? shellFiles(rel) : e.name.endsWith(".sh") ? [rel] : [];
    });
}

describe("hack/ and the Makefile", () => {
    it("every hack/ path the Makefile, the hack scripts and .ci/run name exists", () => {
        const files = ["Makefile", ".ci/run", ...shellFiles("hack")];
        const named: string[] = [];
        for (const f of files) {
            const text = read(f);
            for (const m of text.matchAll(/(?<![\w./-])hack\/[\w./-]*\w/g)) named.push(`${f}: ${m[0]}`);
            // files next to the script: . "$(dirname "$0")/lib.sh", bash "$(dirname "$0")/toolchain.sh"
            for (const m of text.matchAll(/"\$\(dirname "\$0"\)\/([\w.-]+)"/g)) named.push(`${f}: ${path.join(path.dirname(f), m[1])}`);
        }
        assert.ok(named.length > 40, `too few paths found (${named.length}): the patterns above no longer match the scripts`);
        // the @pulumi/command provider's wrapper module: toolchain.sh asks for it when the program first imports the package
        const notYet = /^hack\/toolchain\/command(\/go\.mod)?$/;
        const missing = named.filter((n) => !notYet.test(n.split(": ")[1]) && !fs.existsSync(path.join(root, n.split(": ")[1])));
        assert.deepEqual(missing, []);
    });

    it("no script runs from scripts/ any more", () => {
        assert.ok(!fs.existsSync(path.join(root, "scripts")), "scripts/ exists again: build-and-run scripts live in hack/");
        for (const f of ["Makefile", ".ci/run", ...shellFiles("hack")]) {
            assert.doesNotMatch(read(f), /(?<![\w/-])scripts\/[\w-]+\.sh/, f);
        }
    });

    it("make help lists every target with a one-line description", () => {
        const phony = /^\.PHONY:(.*)$/m.exec(read("Makefile"))![1].trim().split(/\s+/).filter((t) => t !== "all");
        const out = execFileSync("make", ["-s", "--no-print-directory", "help"], { cwd: root, encoding: "utf8" });
        const listed = new Map(out.split("\n").slice(1).filter(Boolean).map((l) => {
            const m = /^ {2}(\S+)\s+(.*)$/.exec(l);
            assert.ok(m, `not a 'target description' line: ${JSON.stringify(l)}`);
            return [m[1], m[2]] as [string, string];
        }));
        assert.deepEqual([...listed.keys()].sort(), [...phony].sort());
        for (const [target, description] of listed) assert.ok(description.length >= 10, `${target}: "${description}"`);
        assert.match(out.split("\n")[0], /make demo.*make test/);
    });
});
