// The one contract (contract/index.ts) against every consumer that cannot import it - the container scripts and
// PROTOCOL.md - and against copies in the TypeScript that could: a value changed in one place only fails here.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import * as C from "../../contract";
import { scriptFiles } from "../../components/scripts";
import { DEFAULTS, DEFAULT_RSYNC } from "../../config/defaults";

const ROOT = path.join(__dirname, "..", "..");
const files = scriptFiles();
const script = (name: string) => files[name];
const protocol = fs.readFileSync(path.join(ROOT, "contract", "PROTOCOL.md"), "utf8");
const allScripts = () => Object.entries(files);

/** `${VAR:-default}` words of a script. */
function envDefaults(text: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const m of text.matchAll(/\$\{(DVM_[A-Z_]+):-([^}]*)\}/g)) out.set(m[1], m[2]);
    return out;
}

/** The `dvm: <event>` names a script prints (log "event ..." or printf 'dvm: event ...'). */
function printedEvents(text: string): Set<string> {
    const out = new Set<string>();
    for (const m of text.matchAll(/\blog "([a-z][a-z-]*)\b/g)) out.add(m[1]);
    for (const m of text.matchAll(/printf '\s*dvm: ([a-z][a-z-]*)\b/g)) out.add(m[1]);
    return out;
}

describe("contract: the container scripts", () => {
    it("default to the values of the contract", () => {
        const c = script(C.SCRIPT_FILES.rsyncClient);
        const pvc = script(C.SCRIPT_FILES.rsyncClientPvc);
        const def = (v: string) => new RegExp(`\\$\\{${v}:-([^}]*)\\}`).exec(c)?.[1];
        assert.equal(def("DVM_TUNNEL_PORT"), String(C.TUNNEL_PORT));
        assert.equal(def("DVM_IPC_DIR"), C.IPC_DIR);
        assert.equal(def("DVM_SOURCE_ROOT"), C.SOURCE_ROOT);
        assert.equal(def("DVM_SECRET_DIR"), C.SECRET_DIR);
        assert.ok(c.includes(`done_file="$ipc_dir/${C.DONE_FILE}"`));
        assert.ok(c.includes(`password_file="$secret_dir/${C.SECRET_KEYS.rsyncPassword}"`));
        assert.ok(c.includes(`rsync_user=${C.RSYNC_USER}\n`));
        assert.ok(c.includes(`EXIT_TUNNEL_DOWN=${C.EXIT_CODES.tunnelDown} EXIT_USAGE=${C.EXIT_CODES.usage}`));
        assert.ok(pvc.includes(`case $1 in ${C.RSYNC_FATAL_EXIT_CODES.join(" | ")}) return 0`));
        for (const [name, conf] of [[C.SCRIPT_FILES.stunnelClient, C.CONFIG_FILES.stunnelClient], [C.SCRIPT_FILES.stunnelServer, C.CONFIG_FILES.stunnelServer], [C.SCRIPT_FILES.rsyncd, C.CONFIG_FILES.rsyncd]]) {
            assert.ok(files[name].includes(`config=\${DVM_CONFIG_DIR:-${C.CONFIG_DIR}}/${conf}`), `${name} reads ${C.CONFIG_DIR}/${conf}`);
        }
        assert.ok(files[C.SCRIPT_FILES.stunnelClient].includes(`done_file="$ipc_dir/${C.DONE_FILE}"`));
    });

    it("read every DVM_* variable with the contract's default, and every contract variable is read", () => {
        const seen = new Set<string>();
        for (const [name, text] of allScripts()) {
            for (const [v, d] of envDefaults(text)) {
                assert.ok(v in C.SCRIPT_ENV, `${name} reads \${${v}:-...}, which is not in the contract's SCRIPT_ENV`);
                assert.strictEqual(d, C.SCRIPT_ENV[v as keyof typeof C.SCRIPT_ENV], `${name}: default of ${v}`);
                seen.add(v);
            }
        }
        assert.deepStrictEqual([...seen].sort(), Object.keys(C.SCRIPT_ENV).sort(), "every SCRIPT_ENV variable is read by a script");
    });

    it("the defaults that come from dvm:* config equal the program's defaults", () => {
        assert.strictEqual(C.SCRIPT_ENV.DVM_STUNNEL_WAIT_SECONDS, String(DEFAULTS.stunnelWaitSeconds));
        assert.strictEqual(C.SCRIPT_ENV.DVM_BACKOFF_LIMIT, String(DEFAULT_RSYNC.backoffLimit));
        assert.strictEqual(C.SCRIPT_ENV.DVM_RETRY_BASE_SECONDS, String(DEFAULT_RSYNC.retryDelaySeconds));
        assert.strictEqual(C.SCRIPT_ENV.DVM_RETRY_MAX_SECONDS, String(DEFAULT_RSYNC.retryMaxDelaySeconds));
    });

    it("print exactly the log events the contract lists for each of them", () => {
        for (const [name, events] of Object.entries(C.LOG_EVENTS)) {
            assert.ok(files[name], `LOG_EVENTS names ${name}, which is not a script`);
            // a script prints what the files it sources print (`# shellcheck source=.../<file>` before each `.`)
            const sourced = [...script(name).matchAll(/# shellcheck source=\S*\/([a-z-]+\.sh)/g)].map((m) => script(m[1]));
            const text = [script(name), ...sourced].join("\n");
            assert.deepStrictEqual([...printedEvents(text)].sort(), [...events].sort(), `events of ${name}`);
        }
        for (const e of Object.values(C.EVENTS)) {
            assert.ok((C.LOG_EVENTS[C.SCRIPT_FILES.rsyncClient] as readonly string[]).includes(e), `EVENTS.${e} is printed by rsync-client.sh`);
        }
    });

    it("use the contract's exit codes, rsync codes, results and script options", () => {
        const c = script(C.SCRIPT_FILES.rsyncClient);
        const pvc = script(C.SCRIPT_FILES.rsyncClientPvc);
        assert.ok(c.includes(`trap 'on_signal ${C.EXIT_CODES.terminated}' TERM`));
        assert.ok(c.includes(`trap 'on_signal ${C.EXIT_CODES.interrupted}' INT`));
        assert.ok(pvc.includes(`[ "$rc" -eq ${C.RSYNC_EXIT.vanished} ]`));
        assert.ok(pvc.includes(`[ "$rc" -eq ${C.RSYNC_EXIT.partial} ]`));
        for (const r of Object.values(C.PVC_RESULTS)) assert.ok(c.includes(`result=${r}`), `rsync-client.sh ends a PVC with result=${r}`);
        for (const o of Object.values(C.SCRIPT_OPTIONS)) assert.ok(c.includes(`        ${o}) `), `rsync-client.sh handles ${o}`);
        assert.ok(c.includes(`${C.SCRIPT_OPTION_PREFIX}*) usage "unknown script option`));
        assert.ok(c.includes(`[ "$1" != "${C.PVC_PAIRS_SEPARATOR}" ]`));
        assert.ok(c.includes(`/${C.SCRIPT_FILES.rsyncClientPvc}"`), "rsync-client.sh sources rsync-client-pvc.sh from its own directory");
        const check = script(C.SCRIPT_FILES.imageCheck);
        assert.ok(check.includes(`readonly EXIT_IMAGE_UNFIT=${C.EXIT_CODES.imageUnfit}\n`), "image-check.sh exits with the contract's imageUnfit");
        assert.ok(check.includes(`(${C.TRANSFER_IMAGE_KEY})`), `image-check.sh names ${C.TRANSFER_IMAGE_KEY}`);
        for (const name of [C.SCRIPT_FILES.rsyncClient, C.SCRIPT_FILES.rsyncd, C.SCRIPT_FILES.stunnelServer, C.SCRIPT_FILES.stunnelClient]) {
            assert.ok(script(name).includes(`/${C.SCRIPT_FILES.imageCheck}"`), `${name} sources ${C.SCRIPT_FILES.imageCheck}`);
        }
        for (const name of [C.SCRIPT_FILES.rsyncd, C.SCRIPT_FILES.stunnelServer, C.SCRIPT_FILES.stunnelClient]) {
            assert.ok(files[name].includes(`exit ${C.EXIT_CODES.usage}`) || files[name].includes(`; exit ${C.EXIT_CODES.usage}`), `${name} exits ${C.EXIT_CODES.usage} on a usage error`);
        }
    });
});

describe("contract: PROTOCOL.md", () => {
    const documented = new Set([...protocol.matchAll(/dvm: ([a-z][a-z-]*)\b/g)].map((m) => m[1]));

    it("documents every log event, and only those", () => {
        const all = new Set<string>(Object.values(C.LOG_EVENTS).flat());
        for (const e of all) assert.ok(documented.has(e), `PROTOCOL.md documents \`dvm: ${e}\``);
        for (const e of documented) assert.ok(all.has(e), `PROTOCOL.md documents \`dvm: ${e}\`, which no script prints (contract LOG_EVENTS)`);
    });

    it("names the contract's files, paths, ports, variables, exit codes and options", () => {
        const want: [string, string][] = [
            ["SCRIPTS_DIR", C.SCRIPTS_DIR], ["CONFIG_DIR", C.CONFIG_DIR], ["SECRET_DIR", C.SECRET_DIR], ["IPC_DIR", C.IPC_DIR],
            ["DONE_FILE", C.DONE_FILE], ["SOURCE_ROOT", C.SOURCE_ROOT], ["TUNNEL_PORT", `127.0.0.1:${C.TUNNEL_PORT}`],
            ["RSYNCD_PORT", `127.0.0.1:${C.RSYNCD_PORT}`], ["STUNNEL_PORT", `0.0.0.0:${C.STUNNEL_PORT}`],
            ["RSYNC_USER", `rsync://${C.RSYNC_USER}@`], ["exit tunnelDown", `exits ${C.EXIT_CODES.tunnelDown}`],
            ["exit usage", `(exit ${C.EXIT_CODES.usage})`], ["exit terminated", `exits ${C.EXIT_CODES.terminated}`],
            ["vanished", `Exit ${C.RSYNC_EXIT.vanished}`], ["fatal codes", `exit codes ${C.RSYNC_FATAL_EXIT_CODES.slice(0, -1).join(", ")}, ${C.RSYNC_FATAL_EXIT_CODES.slice(-1)}`],
            ...Object.values(C.SCRIPT_FILES).map((f): [string, string] => [`script ${f}`, f]),
            ...Object.values(C.CONFIG_FILES).map((f): [string, string] => [`config ${f}`, f]),
            ...Object.values(C.SECRET_KEYS).map((f): [string, string] => [`secret ${f}`, f]),
            ...Object.values(C.SCRIPT_OPTIONS).map((o): [string, string] => [`option ${o}`, o]),
            ...Object.values(C.CONTAINERS).map((n): [string, string] => [`container ${n}`, `container \`${n}\``]),
        ];
        for (const [what, text] of want) assert.ok(protocol.includes(text), `PROTOCOL.md mentions ${what} as "${text}"`);
        for (const [v, d] of Object.entries(C.SCRIPT_ENV)) {
            assert.ok(protocol.includes(`\`${v}\``), `PROTOCOL.md documents ${v}`);
            if (/^DVM_(STUNNEL_WAIT|BACKOFF|RETRY)/.test(v)) assert.ok(protocol.includes(`\`${v}\` (${d}`), `PROTOCOL.md gives ${v}'s default ${d}`);
        }
    });
});

// -------------------------------------------------------------------------------------------------------------------
// TypeScript consumers import the contract; a copy of one of its values as a string literal is drift waiting to
// happen. Container names ("rsync", "stunnel") also name config keys (dvm:resources.rsync) and are left out.

const PRODUCT_DIRS = ["config", "components", "progress", "kube", "cli", "policies"];

function productFiles(): string[] {
    const out = [path.join(ROOT, "index.ts")];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            if (e.name === "node_modules") continue;
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
        }
    };
    for (const d of PRODUCT_DIRS) walk(path.join(ROOT, d));
    return out;
}

function contractStrings(): Map<string, string> {
    const out = new Map<string, string>();
    const add = (name: string, v: unknown) => {
        if (typeof v === "string") out.set(v, name);
        else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) add(`${name}.${k}`, x);
    };
    for (const k of ["SCRIPTS_DIR", "CONFIG_DIR", "SECRET_DIR", "SOURCE_ROOT", "TARGET_ROOT", "IPC_VOLUME", "IPC_DIR", "DONE_FILE", "SECRET_KEYS",
        "SCRIPT_FILES", "CONFIG_FILES", "SCRIPT_OPTIONS", "LABELS", "ROLE_DESTINATION", "ROLE_SOURCE", "JOB_NAME_LABEL", "ANNOTATIONS", "SSL_PASSTHROUGH_ANNOTATION", "PSA_LABELS"] as const) {
        add(k, C[k]);
    }
    for (const [k, e] of Object.entries(C.EVENTS)) if (e.includes("-")) add(`EVENTS.${k}`, e);
    return out;
}

/** String literals of a TypeScript file (not comments, not types), with their line numbers. */
function stringLiterals(file: string): { text: string; line: number }[] {
    const src = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
    const out: { text: string; line: number }[] = [];
    const visit = (n: ts.Node) => {
        if ((ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) && !ts.isLiteralTypeNode(n.parent) && !ts.isImportDeclaration(n.parent) && !ts.isExportDeclaration(n.parent)) {
            out.push({ text: n.text, line: src.getLineAndCharacterOfPosition(n.getStart()).line + 1 });
        }
        ts.forEachChild(n, visit);
    };
    visit(src);
    return out;
}

describe("contract: the TypeScript imports it instead of copying it", () => {
    it("no product file outside contract/ spells a contract value as a string literal", () => {
        const values = contractStrings();
        const copies: string[] = [];
        for (const f of productFiles()) {
            for (const lit of stringLiterals(f)) {
                const name = values.get(lit.text);
                if (name) copies.push(`${path.relative(ROOT, f)}:${lit.line}: "${lit.text}" (use contract ${name})`);
            }
        }
        assert.deepStrictEqual(copies, []);
    });

    it("the literal scan sees the copies it must catch", () => {
        // a copy of the role label in a fresh file is found (the scan itself is not blind)
        const tmp = path.join(ROOT, "build", "contract-scan-probe.ts");
        fs.mkdirSync(path.dirname(tmp), { recursive: true });
        fs.writeFileSync(tmp, `// "${C.LABELS.role}" in a comment is fine\nconst selector = "${C.LABELS.role}=x";\nexport const role = "${C.LABELS.role}";\ntype T = "${C.ROLE_SOURCE}";\n`);
        try {
            const hits = stringLiterals(tmp).filter((l) => contractStrings().has(l.text));
            assert.deepStrictEqual(hits, [{ text: C.LABELS.role, line: 3 }]);
        } finally {
            fs.rmSync(tmp, { force: true });
        }
    });

    it("the policy pack takes its names from the contract", () => {
        for (const f of fs.readdirSync(path.join(ROOT, "policies")).filter((x) => x.endsWith(".ts"))) {
            const text = fs.readFileSync(path.join(ROOT, "policies", f), "utf8");
            if (/\bLABELS\b|\bROLE_(SOURCE|DESTINATION)\b|\bSOURCE_ROOT\b/.test(text)) {
                assert.match(text, /from "\.\.\/contract"/, `policies/${f} uses contract names, so it imports ../contract`);
            }
        }
        assert.ok(!fs.existsSync(path.join(ROOT, "policies", "contract.ts")), "no second copy of the contract in the policy pack");
    });
});
