// `npm ci --omit=dev && npx dvm --help` must work: the compiled CLI may only load runtime dependencies. Follows the
// imports and require() calls from cli/main.ts through the repository's own modules and checks every package it
// reaches against package.json's dependencies (devDependencies are not installed by --omit=dev).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { builtinModules } from "module";

const ROOT = path.join(__dirname, "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

/** Module specifiers a file loads at run time (type-only imports excluded). */
function loads(file: string): string[] {
    const src = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
    const out: string[] = [];
    const visit = (n: ts.Node) => {
        if (ts.isImportDeclaration(n) && !n.importClause?.isTypeOnly && ts.isStringLiteral(n.moduleSpecifier)) out.push(n.moduleSpecifier.text);
        if (ts.isExportDeclaration(n) && !n.isTypeOnly && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) out.push(n.moduleSpecifier.text);
        if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === "require" && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) out.push(n.arguments[0].text);
        ts.forEachChild(n, visit);
    };
    visit(src);
    return out;
}

function resolveLocal(from: string, spec: string): string {
    const base = path.resolve(path.dirname(from), spec);
    for (const c of [`${base}.ts`, path.join(base, "index.ts")]) if (fs.existsSync(c)) return c;
    throw new Error(`${path.relative(ROOT, from)}: cannot resolve ${spec}`);
}

function packagesReachedFrom(entry: string): Map<string, string> {
    const seen = new Set<string>();
    const packages = new Map<string, string>();
    const stack = [entry];
    while (stack.length) {
        const f = stack.pop()!;
        if (seen.has(f)) continue;
        seen.add(f);
        for (const spec of loads(f)) {
            if (spec.startsWith(".")) stack.push(resolveLocal(f, spec));
            else {
                const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
                if (!builtinModules.includes(name.replace(/^node:/, "")) && !name.startsWith("node:")) packages.set(name, path.relative(ROOT, f));
            }
        }
    }
    return packages;
}

describe("the dvm CLI installs with npm ci --omit=dev", () => {
    it("loads only runtime dependencies", () => {
        const reached = packagesReachedFrom(path.join(ROOT, "cli", "main.ts"));
        assert.ok(reached.has("@kubernetes/client-node"), "the walk follows the CLI into kube/");
        for (const [name, where] of reached) {
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
