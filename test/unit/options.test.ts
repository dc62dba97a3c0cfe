// The option tables (config/options.ts) drive validation, rsync's argv, the extras reservations and the generated
// configuration reference: each of those is checked here against the table itself.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ConfigError } from "../../config/errors";
import { DEFAULT_RSYNC, ENDPOINT_KINDS, regenerate, RSYNC_KEYS, RSYNC_OPTIONS } from "../../config/options";
import { rsyncExtraError } from "../../config/rules";
import { validateStackConfig } from "../../config/stack";
import { rsyncOptionArgs } from "../../components/transfer/rsync";
import { endpoints } from "../../components/endpoint";

const PAGE = path.join(__dirname, "..", "..", "docs", "configuration.md");
const base = (over: Record<string, unknown> = {}) => ({
    source: { context: "src" }, destination: { context: "dst", endpoint: { type: "route", subdomain: "apps.dst.example.com" } }, wave: "waves/w.yaml", ...over,
});
const problemsOf = (raw: Record<string, unknown>) => {
    try {
        validateStackConfig(raw);
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
    return [];
};

describe("option tables", () => {
    it("docs/configuration.md holds exactly what `make docs` generates from them", () => {
        const page = fs.readFileSync(PAGE, "utf8");
        assert.strictEqual(page, regenerate(page), "docs/configuration.md is stale: run `make docs`");
    });

    it("the generated reference has one row per rsync option and per endpoint kind", () => {
        const page = fs.readFileSync(PAGE, "utf8");
        for (const k of RSYNC_KEYS) assert.ok(page.includes(`| \`dvm:rsync.${k}\` |`), `row for dvm:rsync.${k}`);
        for (const k of ENDPOINT_KINDS) assert.ok(page.includes(`| \`${k.type}\``), `row for endpoint kind ${k.type}`);
    });

    it("every rsync row with a key reads its value, defaults it, and names the key with the row's example on bad input", () => {
        assert.deepStrictEqual(validateStackConfig(base()).rsync, DEFAULT_RSYNC);
        for (const row of RSYNC_OPTIONS.filter((r) => r.key && r.key !== "extras")) {
            const problems = problemsOf(base({ rsync: { [row.key!]: { not: "a value" } } }));
            const mine = problems.find((p) => p.where === `dvm:rsync.${row.key}`);
            assert.ok(mine, `a bad dvm:rsync.${row.key} is reported at its key`);
            assert.strictEqual(mine!.example, row.example, `dvm:rsync.${row.key} shows its row's example`);
            assert.ok(/^pulumi config set --path dvm:rsync\./.test(row.example), `the example of ${row.key} is a command`);
        }
        const unknown = problemsOf(base({ rsync: { nope: 1 } }));
        assert.match(unknown[0].what, new RegExp(`known keys: ${RSYNC_KEYS.join(", ")}`));
    });

    it("argv is the rows' words in table order", () => {
        const words = RSYNC_OPTIONS.flatMap((r) => r.argv(DEFAULT_RSYNC));
        assert.deepStrictEqual(rsyncOptionArgs(DEFAULT_RSYNC), words);
        assert.ok(words.includes("--numeric-ids"));
    });

    it("an extra may not set what a row sets", () => {
        for (const row of RSYNC_OPTIONS.filter((r) => r.reserves)) {
            for (const name of row.reserves!) assert.match(rsyncExtraError(`--${name}`) ?? "", new RegExp(`set by dvm from dvm:rsync\\.${row.key}`), `--${name}`);
            for (const letter of row.reservesShort ?? []) assert.match(rsyncExtraError(`-a${letter}`) ?? "", new RegExp(`dvm:rsync\\.${row.key}`), `-${letter}`);
        }
    });

    it("every endpoint kind is implemented, validated and has its required keys enforced", () => {
        assert.deepStrictEqual(Object.keys(endpoints).sort(), ENDPOINT_KINDS.map((k) => k.type).sort());
        for (const k of ENDPOINT_KINDS) {
            const problems = problemsOf(base({ destination: { context: "dst", endpoint: { type: k.type } } }));
            assert.deepStrictEqual(problems.map((p) => p.where), k.requires.map((r) => `dvm:destination.endpoint.${r.key}`), `required keys of ${k.type}`);
        }
        const typo = problemsOf(base({ destination: { context: "dst", endpoint: { type: "nodeport" } } }));
        assert.match(typo[0].what, /did you mean 'nodePort'/);
    });
});
