// What a TypeScript entry point loads at run time: its local modules (followed) and the packages they reach.
// For the tests that keep installs and project copies complete (cli-install, program-files).
import * as fs from "fs";
import { builtinModules } from "module";
import * as path from "path";
import * as ts from "typescript";

/** Module specifiers a file loads at run time (type-only imports excluded). */
export function loads(file: string): string[] {
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
    for (const c of [`${base}.ts`, path.join(base, "index.ts"), base]) if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
    throw new Error(`${from}: cannot resolve ${spec}`);
}

/** The local files an entry point reaches, and the packages (name -> a file that loads it). */
export function reachedFrom(entry: string): { files: Set<string>; packages: Map<string, string> } {
    const files = new Set<string>();
    const packages = new Map<string, string>();
    const stack = [entry];
    while (stack.length) {
        const f = stack.pop()!;
        if (files.has(f)) continue;
        files.add(f);
        if (!f.endsWith(".ts")) continue;
        for (const spec of loads(f)) {
            if (spec.startsWith(".")) stack.push(resolveLocal(f, spec));
            else {
                const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
                if (!name.startsWith("node:") && !builtinModules.includes(name)) packages.set(name, f);
            }
        }
    }
    return { files, packages };
}
