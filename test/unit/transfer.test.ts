import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { PvcPlan, RsyncOptions } from "../../config/plan";
import { pvcPairArgs, rsyncClientArgs, rsyncOptionArgs } from "../../components/transfer/rsync";
import { renderRsyncdConf } from "../../components/transfer/rsyncd";
import { scriptFiles } from "../../components/scripts";
import * as L from "../../contract";

const MTC_INFO = "COPY2,DEL2,REMOVE2,SKIP2,FLIST2,PROGRESS2,STATS2";
const defaults = (): RsyncOptions => ({
    archive: true, delete: true, hardLinks: true, partial: true, bwlimit: 0, info: MTC_INFO, extras: [], backoffLimit: 20, retryDelaySeconds: 5, retryMaxDelaySeconds: 60, verify: false,
});
const pvc = (source: string, target = source, verify = false): PvcPlan => ({ source, target, capacity: "1Gi", accessModes: ["ReadWriteOnce"], verify });

/** rsyncd.conf as {global: {k: v}, modules: {name: {k: v}}}, parsed the way rsyncd reads it (key = value). */
function parseIni(text: string): { global: Record<string, string>; modules: Record<string, Record<string, string>> } {
    const out = { global: {} as Record<string, string>, modules: {} as Record<string, Record<string, string>> };
    let cur = out.global;
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
        const sec = /^\[(.+)\]$/.exec(line);
        if (sec) { cur = out.modules[sec[1]] = {}; continue; }
        const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
        assert.ok(kv, `not a key = value line: ${line}`);
        assert.equal(cur[kv[1]], undefined, `duplicate key ${kv[1]}`);
        cur[kv[1]] = kv[2];
    }
    return out;
}

describe("rsync client arguments", () => {
    it("renders the MTC defaults as separate option words in a stable order", () => {
        assert.deepEqual(rsyncOptionArgs(defaults()), [
            "--archive", "--delete", "--hard-links", "--partial", "--numeric-ids", "--dvm-sparse-if-holes", "--dvm-inplace-if-empty", "--dvm-count-unsafe-links", "--dvm-parallel=3", `--info=${MTC_INFO}`,
        ]);
    });
    it("dvm:rsync.parallel: --dvm-parallel=<n> above 1, nothing at 1, an error outside 1-16", () => {
        assert.ok(!rsyncOptionArgs({ ...defaults(), parallel: 1 }).some((a) => a.startsWith("--dvm-parallel")));
        assert.ok(rsyncOptionArgs({ ...defaults(), parallel: 16 }).includes("--dvm-parallel=16"));
        for (const bad of [0, 17, 2.5]) assert.throws(() => rsyncOptionArgs({ ...defaults(), parallel: bad }), /dvm:rsync\.parallel must be a whole number from 1 to 16.*example: parallel: 3/);
    });
    it("leaves out what is switched off and adds bwlimit, checksum and extras", () => {
        const args = rsyncOptionArgs({ ...defaults(), delete: false, hardLinks: false, partial: false, bwlimit: 2048, verify: true, extras: ["--xattrs", "--exclude=my dir"] });
        assert.deepEqual(args, ["--archive", "--bwlimit=2048", "--checksum", "--numeric-ids", "--dvm-sparse-if-holes", "--dvm-inplace-if-empty", "--dvm-count-unsafe-links", "--dvm-parallel=3", `--info=${MTC_INFO}`, "--xattrs", "--exclude=my dir"]);
        assert.ok(!args.includes("--delete"));
    });
    it("rejects values that would not be plain rsync options", () => {
        assert.throws(() => rsyncOptionArgs({ ...defaults(), extras: ["foo"] }), /dvm:rsync\.extras.*"foo".*example/);
        assert.throws(() => rsyncOptionArgs({ ...defaults(), extras: ["--"] }), /dvm:rsync\.extras/);
        assert.throws(() => rsyncOptionArgs({ ...defaults(), extras: ["--a\nb"] }), /dvm:rsync\.extras/);
        assert.throws(() => rsyncOptionArgs({ ...defaults(), info: "PROGRESS2;rm" }), /dvm:rsync\.info.*example/);
        assert.throws(() => rsyncOptionArgs({ ...defaults(), bwlimit: -1 }), /dvm:rsync\.bwlimit/);
        assert.ok(rsyncOptionArgs({ ...defaults(), timeout: 600 }).includes("--timeout=600"));
        assert.throws(() => rsyncOptionArgs({ ...defaults(), sparse: "yes" as never }), /dvm:rsync\.sparse must be auto, true or false.*example: sparse: auto/);
        assert.throws(() => rsyncOptionArgs({ ...defaults(), inplace: "on" as never }), /dvm:rsync\.inplace must be auto, true or false.*example: inplace: auto/);
        assert.ok(!rsyncOptionArgs({ ...defaults(), timeout: 0 }).some((a) => a.startsWith("--timeout")));
    });
    it("sparse and inplace: auto (default) hands the decision per PVC to the script; true/false are plain rsync", () => {
        const sparseAndInplace = (o: Partial<RsyncOptions>) => rsyncOptionArgs({ ...defaults(), ...o }).filter((a) => /sparse|inplace/.test(a));
        assert.deepEqual(sparseAndInplace({}), ["--dvm-sparse-if-holes", "--dvm-inplace-if-empty"]);
        assert.deepEqual(sparseAndInplace({ sparse: "auto", inplace: "auto" }), ["--dvm-sparse-if-holes", "--dvm-inplace-if-empty"]);
        assert.deepEqual(sparseAndInplace({ sparse: true, inplace: true }), ["--sparse", "--inplace"]);
        assert.deepEqual(sparseAndInplace({ sparse: false, inplace: false }), []);
        assert.deepEqual(sparseAndInplace({ sparse: true, inplace: false }), ["--sparse"]);
        // the script knows both of its own options and refuses any other --dvm- word (a typo must not reach rsync)
        const script = scriptFiles()[L.SCRIPT_FILES.rsyncClient];
        for (const o of ["--dvm-sparse-if-holes", "--dvm-inplace-if-empty"]) assert.ok(script.includes(`        ${o}) `), `rsync-client.sh handles ${o}`);
        assert.match(script, /--dvm-\*\) usage "unknown script option/);
    });
    it("pairs source PVC and destination module, marking verify", () => {
        assert.deepEqual(pvcPairArgs([pvc("db"), pvc("files", "files-new", true)]), ["db:db", "files:files-new:verify"]);
        assert.throws(() => pvcPairArgs([]), /at least one PVC/);
        assert.throws(() => pvcPairArgs([pvc("Bad_Name")]), /pvcs\[\]\.name.*"Bad_Name"/);
        assert.throws(() => pvcPairArgs([pvc("ok", "x:y")]), /pvcs\[\]\.targetName/);
    });
    it("puts -- between the options and the pairs", () => {
        const args = rsyncClientArgs(defaults(), [pvc("a"), pvc("b")]);
        const sep = args.indexOf("--");
        assert.deepEqual(args.slice(0, sep), rsyncOptionArgs(defaults()));
        assert.deepEqual(args.slice(sep + 1), ["a:a", "b:b"]);
    });
});

describe("rsyncd.conf", () => {
    it("binds to 127.0.0.1, authenticates, and writes nothing on the root filesystem (non-root)", () => {
        const conf = parseIni(renderRsyncdConf({ modules: ["db", "files"], runAsRoot: false }));
        assert.equal(conf.global["address"], "127.0.0.1");
        assert.equal(conf.global["port"], String(L.RSYNCD_PORT));
        assert.equal(conf.global["hosts allow"], "127.0.0.1");
        assert.equal(conf.global["use chroot"], "no");
        assert.equal(conf.global["munge symlinks"], "no");
        assert.equal(conf.global["numeric ids"], "yes");
        assert.equal(conf.global["auth users"], L.RSYNC_USER);
        assert.equal(conf.global["secrets file"], `${L.SECRET_DIR}/${L.SECRET_KEYS.rsyncdSecrets}`);
        assert.equal(conf.global["read only"], "no");
        assert.equal(conf.global["uid"], undefined, "a non-root daemon cannot switch ids");
        assert.equal(conf.global["pid file"], undefined);
        assert.ok(conf.global["lock file"].startsWith(`${L.TMP_DIR}/`));
        assert.deepEqual(Object.keys(conf.modules), ["db", "files"]);
        assert.deepEqual(conf.modules["db"], { path: `${L.TARGET_ROOT}/db`, comment: "destination PVC db" });
    });
    it("chroots and keeps owners as root", () => {
        const conf = parseIni(renderRsyncdConf({ modules: ["db"], runAsRoot: true }));
        assert.equal(conf.global["use chroot"], "yes");
        assert.equal(conf.global["uid"], "0");
        assert.equal(conf.global["gid"], "0");
    });
    it("rejects empty, duplicate and malformed module names", () => {
        assert.throws(() => renderRsyncdConf({ modules: [], runAsRoot: false }), /at least one module/);
        assert.throws(() => renderRsyncdConf({ modules: ["a", "a"], runAsRoot: false }), /"a" appears twice/);
        assert.throws(() => renderRsyncdConf({ modules: ["x]\n[y"], runAsRoot: false }), /not a DNS-1123/);
    });
});

describe("container scripts", () => {
    const files = scriptFiles();
    it("ships exactly the SCRIPT_FILES, read from the repository files", () => {
        assert.deepEqual(Object.keys(files).sort(), Object.values(L.SCRIPT_FILES).sort());
        assert.equal(files[L.SCRIPT_FILES.rsyncClient], fs.readFileSync(path.join(__dirname, "../../components/transfer/scripts/rsync-client.sh"), "utf8"));
        assert.equal(files[L.SCRIPT_FILES.stunnelClient], fs.readFileSync(path.join(__dirname, "../../components/transport/scripts/stunnel-client.sh"), "utf8"));
        for (const [name, text] of Object.entries(files)) assert.ok(text.startsWith("#!/usr/bin/env bash\n"), `${name} has a bash shebang`);
    });
    it("every waiting loop sleeps (no busy wait)", () => {
        for (const name of [L.SCRIPT_FILES.rsyncClient, L.SCRIPT_FILES.stunnelClient]) {
            const text = files[name];
            for (const m of text.matchAll(/^\s*(while :|until) .*$/gm)) {
                const body = text.slice(m.index!, text.indexOf("\ndone", m.index!));
                assert.match(body, /\bsleep [0-9"$]/, `${name}: loop "${m[0].trim()}" sleeps`);
            }
        }
    });
});

describe("rsync-client.sh exit paths (no network needed)", function () {
    this.timeout(20000);
    const { spawn, spawnSync } = require("node:child_process") as typeof import("node:child_process");
    const os = require("node:os") as typeof import("node:os");
    const script = path.join(__dirname, "../../components/transfer/scripts/rsync-client.sh");
    let dir: string;
    let env: Record<string, string>;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-rsync-client-"));
        for (const d of ["ipc", "secret", "source/data", "tmp"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
        fs.writeFileSync(path.join(dir, "secret", L.SECRET_KEYS.rsyncPassword), "pw\n");
        env = {
            PATH: process.env.PATH ?? "/usr/bin:/bin", TMPDIR: path.join(dir, "tmp"),
            DVM_IPC_DIR: path.join(dir, "ipc"), DVM_SECRET_DIR: path.join(dir, "secret"), DVM_SOURCE_ROOT: path.join(dir, "source"),
            DVM_TUNNEL_PORT: "1", DVM_STUNNEL_WAIT_SECONDS: "1",
        };
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const done = () => fs.existsSync(path.join(dir, "ipc", L.DONE_FILE));

    for (const [what, args, extraEnv, message] of [
        ["no -- separator", ["--archive", "data:data"], {}, /does not start with '-'/],
        ["no PVC pair", ["--archive", "--"], {}, /no <source-pvc>:<target-module> pair/],
        ["a malformed pair", ["--", "data;rm -rf /:x"], {}, /is not <source-pvc>:<target-module>/],
        ["a missing source PVC", ["--", "nope:nope"], {}, /source PVC directory .*nope does not exist/],
        ["a non-numeric wait", ["--", "data:data"], { DVM_STUNNEL_WAIT_SECONDS: "ten" }, /wait_seconds must be a whole number/],
    ] as [string, string[], Record<string, string>, RegExp][]) {
        it(`usage error (${L.EXIT_CODES.usage}) with the done-file for ${what}`, () => {
            const r = spawnSync("bash", [script, ...args], { env: { ...env, ...extraEnv }, encoding: "utf8" });
            assert.equal(r.status, L.EXIT_CODES.usage, r.stdout + r.stderr);
            assert.match(r.stdout, /^dvm: usage-error message=/m);
            assert.match(r.stdout, new RegExp(message.source));
            assert.match(r.stdout, new RegExp(`^dvm: done exit=${L.EXIT_CODES.usage}$`, "m"));
            assert.ok(done(), "done-file written");
        });
    }
    it(`tunnel never up: exit ${L.EXIT_CODES.tunnelDown} after the wait, with the done-file, never 0`, () => {
        const t = Date.now();
        const r = spawnSync("bash", [script, "--archive", "--", "data:data"], { env, encoding: "utf8" });
        assert.equal(r.status, L.EXIT_CODES.tunnelDown, r.stdout + r.stderr);
        assert.ok(Date.now() - t >= 1000, "waited DVM_STUNNEL_WAIT_SECONDS");
        assert.match(r.stdout, /^dvm: tunnel-down after=\d+ message="no rsync daemon answered/m);
        assert.ok(done());
        assert.equal(fs.readdirSync(path.join(dir, "tmp")).length, 0, "the private password copy is removed");
    });
    for (const [version, kept] of [["3.2.7", false], ["3.3.0", true], ["3.5.0", true]] as const) {
        it(`inplace true on a PVC with holes: --inplace ${kept ? "kept" : "dropped"} by rsync ${version} (stale data before 3.3.0)`, async () => {
            // a fake tunnel (greets like rsyncd) and a fake rsync that reports its version and records its arguments
            const net = require("node:net") as typeof import("node:net");
            const server = net.createServer((c) => c.end("@RSYNCD: 31.0\n"));
            await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
            const port = (server.address() as import("node:net").AddressInfo).port;
            const bin = path.join(dir, "bin");
            fs.mkdirSync(bin);
            fs.writeFileSync(path.join(bin, "rsync"), `#!/bin/sh\nif [ "$1" = --version ]; then echo "rsync  version ${version}  protocol version 31"; exit 0; fi\nprintf '%s\\n' "$@" >"${dir}/rsync-args"\n`, { mode: 0o755 });
            const img = path.join(dir, "source", "data", "disk.img");
            fs.writeFileSync(img, "boot");
            fs.truncateSync(img, 64 << 20);
            try {
                const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
                    const child = spawn("bash", [script, "--archive", "--inplace", "--dvm-sparse-if-holes", "--", "data:data"],
                        { env: { ...env, PATH: `${bin}:${env.PATH}`, DVM_TUNNEL_PORT: String(port) } });
                    let out = "";
                    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
                    child.on("close", (code) => resolve({ code, out }));
                });
                assert.equal(r.code, 0, r.out);
                const start = r.out.split("\n").find((l) => l.startsWith("dvm: pvc-start"))!;
                assert.match(start, / sparse=on sparse-scan=holes /, "the scan found the hole (tmpfs or a filesystem without holes?)");
                const args = fs.readFileSync(path.join(dir, "rsync-args"), "utf8").split("\n");
                assert.ok(args.includes("--sparse"));
                assert.equal(args.includes("--inplace"), kept, args.join(" "));
                if (kept) assert.match(start, / inplace=on$/);
                else assert.match(start, new RegExp(` inplace=off reason="rsync ${version.replace(/\./g, "\\.")} < 3\\.3\\.0 with --sparse"$`));
            } finally {
                server.close();
            }
        });
    }
    it("SIGTERM while waiting: exit 143 at once, with the done-file", async () => {
        const child = spawn("bash", [script, "--", "data:data"], { env: { ...env, DVM_STUNNEL_WAIT_SECONDS: "600" } });
        let out = "";
        child.stdout.on("data", (b: Buffer) => (out += b.toString()));
        while (!out.includes("tunnel-wait")) await new Promise((r) => setTimeout(r, 50));
        const t = Date.now();
        child.kill("SIGTERM");
        const code = await new Promise<number | null>((r) => child.on("close", r));
        assert.equal(code, 143, out);
        assert.ok(Date.now() - t < 3000, "stopped promptly (the sleep is interruptible)");
        assert.ok(done());
        assert.match(out, /^dvm: done exit=143$/m);
    });
});
