// The README is the front door and docs/ holds the reference: the README stays small, reaches every page of docs/,
// and no relative link in either points at a file or heading that does not exist.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const README = path.join(ROOT, "README.md");
const DOCS = path.join(ROOT, "docs");
const README_MAX_BYTES = 12 * 1024;
/** The pages the README promises (BRIEF / issue 12 target layout). */
const PAGES = ["configuration", "runbook", "progress", "policies", "security", "testing", "clusters", "toolchain", "benchmarks"];

interface Link {
    line: number;
    target: string;
}

/** The lines of a markdown text outside fenced code blocks, with their numbers. */
function outsideFences(text: string): { line: number; text: string }[] {
    const out: { line: number; text: string }[] = [];
    let fence: string | undefined;
    text.split("\n").forEach((l, i) => {
        const m = /^\s*(```+|~~~+)/.exec(l);
        if (m) {
            if (fence === undefined) fence = m[1][0];
            else if (m[1][0] === fence) fence = undefined;
            return;
        }
        if (fence === undefined) out.push({ line: i + 1, text: l });
    });
    return out;
}

/** Inline links and images `[text](target)` / `![alt](target)` and reference definitions `[x]: target`, outside code. */
function links(text: string): Link[] {
    const out: Link[] = [];
    for (const { line, text: raw } of outsideFences(text)) {
        const l = raw.replace(/`[^`]*`/g, "code");
        for (const m of l.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ line, target: m[1] });
        const def = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)/.exec(l);
        if (def) out.push({ line, target: def[1] });
    }
    return out;
}

/** GitHub's heading anchors: lower case, punctuation (backticks included) dropped, spaces as '-', repeats numbered. */
function anchors(text: string): Set<string> {
    const seen = new Map<string, number>();
    const out = new Set<string>();
    for (const { text: l } of outsideFences(text)) {
        const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(l);
        if (!m) continue;
        const base = m[1].toLowerCase().replace(/[^\p{L}\p{N}\p{M}_\- ]/gu, "").replace(/ /g, "-");
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        out.add(n === 0 ? base : `${base}-${n}`);
    }
    return out;
}

/** Why a relative link of `file` does not resolve, or undefined when it does (external links are not checked). */
function brokenLink(file: string, target: string): string | undefined {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined;
    const hash = target.indexOf("#");
    const rel = decodeURI(hash < 0 ? target : target.slice(0, hash));
    const anchor = hash < 0 ? undefined : target.slice(hash + 1);
    const dest = rel === "" ? file : path.resolve(path.dirname(file), rel);
    if (path.relative(ROOT, dest).startsWith("..")) return `points outside the repository (${dest})`;
    if (!fs.existsSync(dest)) return `no such file: ${path.relative(ROOT, dest)}`;
    if (anchor !== undefined && dest.endsWith(".md") && !anchors(fs.readFileSync(dest, "utf8")).has(anchor)) {
        return `no heading #${anchor} in ${path.relative(ROOT, dest)}`;
    }
    return undefined;
}

function markdownFiles(): string[] {
    return [README, ...fs.readdirSync(DOCS).filter((f) => f.endsWith(".md")).map((f) => path.join(DOCS, f))];
}

describe("docs: the README is the front door, docs/ the reference", () => {
    it(`README.md is under ${README_MAX_BYTES} bytes`, () => {
        const size = fs.statSync(README).size;
        assert.ok(size < README_MAX_BYTES, `README.md is ${size} bytes; move reference material to docs/ (limit ${README_MAX_BYTES})`);
    });

    it("docs/ holds every reference page and the README links to each of them", () => {
        const readme = links(fs.readFileSync(README, "utf8")).map((l) => path.normalize(l.target.split("#")[0]));
        const missing = PAGES.filter((p) => !fs.existsSync(path.join(DOCS, `${p}.md`)));
        assert.deepEqual(missing, [], `missing pages in docs/: ${missing.join(", ")}`);
        const unlinked = PAGES.filter((p) => !readme.includes(path.join("docs", `${p}.md`)));
        assert.deepEqual(unlinked, [], `README.md does not link to docs/${unlinked.join(".md, docs/")}.md`);
    });

    it("every relative link in README.md and docs/*.md resolves to an existing file (and heading)", () => {
        const broken: string[] = [];
        let checked = 0;
        for (const f of markdownFiles()) {
            for (const l of links(fs.readFileSync(f, "utf8"))) {
                checked++;
                const why = brokenLink(f, l.target);
                if (why) broken.push(`${path.relative(ROOT, f)}:${l.line}: (${l.target}) ${why}`);
            }
        }
        assert.ok(checked > 20, `only ${checked} links found: the link reader is broken`);
        assert.deepEqual(broken, [], `broken links:\n  ${broken.join("\n  ")}`);
    });

    it("configuration.md carries each generated block once, begin before end", () => {
        const t = fs.readFileSync(path.join(DOCS, "configuration.md"), "utf8");
        for (const name of ["rsync-options", "endpoint-kinds"]) {
            const begin = `<!-- BEGIN GENERATED: ${name} -->`;
            const end = `<!-- END GENERATED: ${name} -->`;
            assert.equal(t.split(begin).length - 1, 1, `${begin} must appear once`);
            assert.equal(t.split(end).length - 1, 1, `${end} must appear once`);
            assert.ok(t.indexOf(begin) < t.indexOf(end), `${name}: BEGIN after END`);
        }
    });

    it("the link checker itself: finds links outside code, rejects a missing file and a missing heading", () => {
        const text = "# Top `x`\n\nSee [a](missing.md), ![i](../README.md) and [b](#top-x).\n\n```\n[not](a-link.md)\n```\n[ref]: other.md\n";
        assert.deepEqual(links(text).map((l) => `${l.line}:${l.target}`), ["3:missing.md", "3:../README.md", "3:#top-x", "8:other.md"]);
        const file = path.join(DOCS, "x.md");
        assert.match(brokenLink(file, "missing.md")!, /no such file: docs\/missing\.md/);
        assert.equal(brokenLink(file, "../README.md"), undefined);
        assert.equal(brokenLink(file, "https://example.com/nowhere"), undefined);
        assert.match(brokenLink(file, "../../etc/passwd")!, /outside the repository/);
        assert.match(brokenLink(path.join(DOCS, "runbook.md"), "#no-such-heading")!, /no heading #no-such-heading/);
        assert.equal(brokenLink(path.join(DOCS, "runbook.md"), "#when-things-fail"), undefined);
    });
});
