// What the engine keeps: after `pulumi up` of an example stack (render mode), `pulumi stack export` must not hold any
// generated key or password - not the PSK, its identity, the rsync password, the lines built from them, nor their
// base64 - except as secrets, nor may the output of `pulumi up`; and the engine runs with the SDK/plugin pair users
// run (no plugin-version warning).

import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { copyProject, PROJECT_ENTRIES as PROGRAM_ENTRIES, pulumiOk, removeWorkDir, workDir } from "../support/engine";

const PROJECT_ENTRIES = [...PROGRAM_ENTRIES, "stacks"];
const CREDENTIALS_TYPE = "pulumi-nodejs:dynamic/transport:TunnelCredentials";

/** Every form a generated value could leak in: as is, inside the files built from it, and base64-encoded. */
function forms(values: string[], identity: string, key: string, password: string): string[] {
    const lines = [`${identity}:${key}`, `dvm:${password}`, ...values];
    return [...new Set(lines.flatMap((v) => [v, Buffer.from(v).toString("base64"), Buffer.from(`${v}\n`).toString("base64")]))];
}

describe("engine: no generated key or password in the stack's state", function () {
    let work = "";
    let project = "";

    before(function () {
        work = workDir("secrets");
        project = copyProject(work, PROJECT_ENTRIES);
    });

    after(function () {
        if (work) removeWorkDir(work);
    });

    it("`pulumi stack export` holds every key and password only as a secret, `pulumi up` prints none; no plugin-version warning", function () {
        const stack = "ocp-east-to-west";
        pulumiOk(work, project, ["stack", "init", stack]);
        pulumiOk(work, project, ["config", "set", "--stack", stack, "dvm:render", path.join(work, "rendered")]);
        const up = pulumiOk(work, project, ["up", "--yes", "--skip-preview", "--stack", stack]);
        assert.doesNotMatch(up.output, /is expected to have version/, "the SDK and the provider plugin disagree");

        const revealed = JSON.parse(pulumiOk(work, project, ["stack", "export", "--show-secrets", "--stack", stack]).stdout);
        const creds = (revealed.deployment.resources as any[]).filter((r) => r.type === CREDENTIALS_TYPE);
        assert.ok(creds.length >= 1, `no ${CREDENTIALS_TYPE} in the state`);
        const secrets: string[] = [];
        for (const c of creds) {
            // --show-secrets keeps the secret envelope and puts the JSON-encoded value in `plaintext`
            const reveal = (v: any): unknown => (v && typeof v === "object" && typeof v.plaintext === "string" ? JSON.parse(v.plaintext) : v);
            const [pskIdentity, pskKey, rsyncPassword] = ["pskIdentity", "pskKey", "rsyncPassword"].map((k) => reveal(c.outputs[k])) as string[];
            for (const v of [pskIdentity, pskKey, rsyncPassword]) assert.ok(typeof v === "string" && v.length >= 16, `${c.urn}: generated value missing: ${JSON.stringify(c.outputs).slice(0, 400)}`);
            secrets.push(...forms([pskIdentity, pskKey, rsyncPassword], pskIdentity, pskKey, rsyncPassword));
        }

        const plain = pulumiOk(work, project, ["stack", "export", "--stack", stack]).stdout;
        const state = JSON.parse(plain);
        // the credentials are there, as secrets (ciphertext), not missing altogether
        for (const c of (state.deployment.resources as any[]).filter((r) => r.type === CREDENTIALS_TYPE)) {
            for (const k of ["pskIdentity", "pskKey", "rsyncPassword"]) {
                assert.equal(c.outputs[k]?.["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270", `${c.urn}.${k} is not a secret`);
            }
        }
        // the output of `pulumi up` as users see it (not --json, --debug or -v: those print the SDK's debug log,
        // which holds every resource's outputs, secrets included - docs/security.md)
        const files = [up.output, plain, ...listStateFiles(path.join(work, "state")).map((f) => fs.readFileSync(f, "utf8"))];
        for (const text of files) {
            const leaked = secrets.filter((s) => text.includes(s));
            assert.deepEqual(leaked.map((s) => `${s.slice(0, 6)}... (${s.length} chars)`), [], "generated credentials in plain state");
        }
    });
});

function listStateFiles(dir: string): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (!e.name.endsWith(".gz")) out.push(p); // the state, its backups and history
        }
    };
    if (fs.existsSync(dir)) walk(dir);
    return out;
}
