// rsync-client.sh against a fake tunnel (a local TCP server that greets like rsyncd) and a fake rsync on PATH that
// records its arguments and plays a scripted attempt: what the script decides from rsync's output and exit codes,
// without a network. The same decisions on real rsync and stunnel: test/dataplane/.
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as L from "../../contract";

const SCRIPT = path.join(__dirname, "../../components/transfer/scripts/rsync-client.sh");

interface Run {
    code: number | null;
    out: string;
    /** stdout lines (complete, "\n"-ended) with the ms since start at which each arrived */
    lines: { at: number; text: string }[];
}

/** `dvm: <event>` lines of a run as key -> value records. */
function events(out: string, event: string): Record<string, string>[] {
    return out.split("\n").filter((l) => l.startsWith(`dvm: ${event} `)).map((l) => {
        const rec: Record<string, string> = {};
        for (const m of l.matchAll(/([a-z-]+)=("((?:[^"\\]|\\.)*)"|\S+)/g)) rec[m[1]] = m[3] ?? m[2];
        return rec;
    });
}

describe("rsync-client.sh decisions (fake tunnel, fake rsync)", function () {
    this.timeout(30000);
    let dir: string;
    let bin: string;
    let server: net.Server;
    let port: number;
    let env: Record<string, string>;
    const children = new Set<ReturnType<typeof spawn>>();

    beforeEach(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-rsync-client-"));
        bin = path.join(dir, "bin");
        for (const d of ["ipc", "secret", "source/data", "tmp", "bin", "calls"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
        fs.writeFileSync(path.join(dir, "secret", L.SECRET_KEYS.rsyncPassword), "pw\n");
        fs.writeFileSync(path.join(dir, "source", "data", "file"), "x");
        // rsync number n runs calls/<n> (or calls/default): its arguments are kept in calls/<n>.args
        fs.writeFileSync(path.join(bin, "rsync"), [
            "#!/usr/bin/env bash",
            `d=${JSON.stringify(path.join(dir, "calls"))}`,
            // image-check.sh's questions (the version, a dry run between its scratch directories) are not transfer calls
            "[ \"$1\" = --version ] && { echo 'rsync  version 3.4.1  protocol version 32'; exit 0; }",
            "case \"${*: -1}\" in */dvm-image-check.*/b/) exit 0 ;; esac",
            "n=$(( $(cat \"$d/count\" 2>/dev/null || echo 0) + 1 )); echo \"$n\" >\"$d/count\"",
            "printf '%s\\n' \"$@\" >\"$d/$n.args\"",
            "[ -f \"$d/$n\" ] && exec bash \"$d/$n\" \"$@\"",
            "exec bash \"$d/default\" \"$@\"", "",
        ].join("\n"), { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "calls", "default"), "exit 0\n");
        server = net.createServer((c) => c.end("@RSYNCD: 31.0\n"));
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        port = (server.address() as net.AddressInfo).port;
        env = {
            PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`, TMPDIR: path.join(dir, "tmp"),
            DVM_IPC_DIR: path.join(dir, "ipc"), DVM_SECRET_DIR: path.join(dir, "secret"), DVM_SOURCE_ROOT: path.join(dir, "source"),
            DVM_TUNNEL_PORT: String(port), DVM_STUNNEL_WAIT_SECONDS: "5", DVM_BACKOFF_LIMIT: "2", DVM_RETRY_BASE_SECONDS: "0", DVM_RETRY_MAX_SECONDS: "0",
        };
    });
    afterEach(() => {
        // a test that failed early leaves its script (and a sleep of its) behind: end the whole group
        for (const c of children) try { process.kill(-c.pid!, "SIGKILL"); } catch { /* gone */ }
        children.clear();
        server.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    /** The fake rsync's n-th call runs `body` (bash). */
    const attempt = (n: number | "default", body: string) => fs.writeFileSync(path.join(dir, "calls", String(n)), body);
    const calls = () => Number(fs.existsSync(path.join(dir, "calls", "count")) ? fs.readFileSync(path.join(dir, "calls", "count"), "utf8") : 0);
    const argsOf = (n: number) => fs.readFileSync(path.join(dir, "calls", `${n}.args`), "utf8").split("\n").filter((l) => l !== "");
    const done = () => fs.existsSync(path.join(dir, "ipc", L.DONE_FILE));

    function run(args: string[], extraEnv: Record<string, string> = {}, onLine?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
        return new Promise((resolve) => {
            const t0 = Date.now();
            const child = spawn("bash", [SCRIPT, ...args], { env: { ...env, ...extraEnv }, detached: true });
            children.add(child);
            let out = "";
            let partial = "";
            const lines: Run["lines"] = [];
            child.stdout.on("data", (b: Buffer) => {
                out += b.toString();
                partial += b.toString();
                let i: number;
                while ((i = partial.indexOf("\n")) !== -1) {
                    const text = partial.slice(0, i);
                    partial = partial.slice(i + 1);
                    lines.push({ at: Date.now() - t0, text });
                    onLine?.(text, child);
                }
            });
            child.stderr.on("data", (b: Buffer) => (out += b.toString()));
            child.on("close", (code) => { children.delete(child); resolve({ code, out, lines }); });
        });
    }

    it("live progress: every \\r-ended progress2 update reaches the log as a line of its own while rsync runs", async () => {
        // rsync's --info=progress2: updates separated by \r, no \n until the end of the PVC
        attempt(1, [
            "for p in 10 35 60 85; do printf '\\r     %s,000,000  %s%%    5.00MB/s    0:00:0%s  ' $p $p 1; sleep 0.4; done",
            `touch ${JSON.stringify(path.join(dir, "rsync-ended"))}`,
            "printf '\\r    100,000,000 100%%    5.00MB/s    0:00:02 (xfr#1, to-chk=0/2)\\n\\nsent 100 bytes  received 35 bytes  90.00 bytes/sec\\n'",
        ].join("\n"));
        const seenBeforeEnd: string[] = [];
        const r = await run(["--archive", "--", "data:data"], {}, (text) => {
            const m = /^\s+[\d,]+\s+(\d+)%/.exec(text);
            if (m && !fs.existsSync(path.join(dir, "rsync-ended"))) seenBeforeEnd.push(m[1]);
        });
        assert.equal(r.code, 0, r.out);
        // an update is a line once the next one begins (rsync starts each with \r): one update behind, about a second
        assert.deepEqual(seenBeforeEnd, ["10", "35", "60"], `progress lines seen while rsync ran: ${JSON.stringify(r.lines)}`);
        // every line of rsync's own output arrives, in order, before the PVC's pvc-end
        const texts = r.lines.map((l) => l.text);
        const end = texts.findIndex((t) => t.startsWith("dvm: pvc-end"));
        assert.ok(texts.indexOf("sent 100 bytes  received 35 bytes  90.00 bytes/sec") < end, texts.join("\n"));
        assert.ok(texts.some((t) => t.includes("100,000,000 100%")), texts.join("\n"));
    });

    it("a killed rsync's last (unterminated) progress update still reaches the log before the next event", async () => {
        attempt(1, "printf '\\r     5,000,000  50%%    5.00MB/s    0:00:01  '; kill -KILL $$");
        const r = await run(["--archive", "--", "data:data"], { DVM_BACKOFF_LIMIT: "0" });
        assert.equal(r.code, 137, r.out);
        const texts = r.lines.map((l) => l.text);
        const i = texts.findIndex((t) => t.includes("5,000,000  50%"));
        assert.ok(i !== -1 && i < texts.findIndex((t) => t.startsWith("dvm: pvc-end")), texts.join("\n"));
    });

    for (const [what, stderr, result] of [
        ["no greeting (rsyncd restarting behind a running stunnel)", "rsync: did not see server greeting", "retry"],
        ["max connections", "@ERROR: max connections (4) reached -- try again later", "retry"],
        ["a wrong password", "@ERROR: auth failed on module data", "fatal"],
        ["an unknown module", "@ERROR: Unknown module 'data'", "fatal"],
    ] as const) {
        it(`exit 5 after ${what}: ${result}`, async () => {
            attempt(1, `echo ${JSON.stringify(stderr)} >&2; echo 'rsync error: error starting client-server protocol (code 5) at main.c(1863) [sender=3.2.7]' >&2; exit 5`);
            const r = await run(["--archive", "--", "data:data"]);
            const ends = events(r.out, "pvc-end").map((e) => `${e.exit} ${e.result}`);
            if (result === "retry") {
                assert.equal(r.code, 0, r.out);
                assert.deepEqual(ends, ["5 retry", "0 ok"]);
            } else {
                assert.equal(r.code, 5, r.out);
                assert.deepEqual(ends, ["5 fatal"]);
                assert.equal(calls(), 1, "not retried");
            }
        });
    }

    it("exits 1, 2 and 4 stay fatal", async () => {
        for (const code of [1, 2, 4]) {
            fs.rmSync(path.join(dir, "calls", "count"), { force: true });
            attempt(1, `exit ${code}`);
            const r = await run(["--archive", "--", "data:data"]);
            assert.equal(r.code, code, r.out);
            assert.equal(calls(), 1);
        }
    });

    it("--checksum once: dvm:rsync.verify (the option) and a verify PVC (:verify) together", async () => {
        const r = await run(["--archive", "--checksum", "--", "data:data:verify"]);
        assert.equal(r.code, 0, r.out);
        assert.deepEqual(argsOf(1).filter((a) => a === "--checksum"), ["--checksum"]);
        fs.rmSync(path.join(dir, "calls", "count"));
        const only = await run(["--archive", "--", "data:data:verify"]);
        assert.equal(only.code, 0, only.out);
        assert.deepEqual(argsOf(1).filter((a) => a === "--checksum"), ["--checksum"], "a verify PVC alone still gets it");
    });

    describe("unsafe symlinks (a destination daemon without chroot)", () => {
        const links: [string, string][] = [
            ["abs", "/var/lib/pgsql/tablespace"], ["up", "../outside"], ["ok", "file"], ["sub/ok-up", "../file"],
            ["sub/too-far", "../../x"], ["dotted", "./file"], ['odd "name"\nline', "/tmp/x"],
        ];
        beforeEach(() => {
            fs.mkdirSync(path.join(dir, "source", "data", "sub"));
            fs.mkdirSync(path.join(dir, "source", "data", "lost+found"));
            fs.symlinkSync("/ignored", path.join(dir, "source", "data", "lost+found", "x"));
            for (const [name, target] of links) fs.symlinkSync(target, path.join(dir, "source", "data", name));
        });

        it("counted before the copy, on pvc-start and pvc-end; the copy runs", async () => {
            const r = await run(["--archive", "--dvm-count-unsafe-links", "--", "data:data"]);
            assert.equal(r.code, 0, r.out);
            const [start] = events(r.out, "pvc-start");
            // abs, up, sub/too-far, dotted, the odd name; not ok, sub/ok-up (stay as they are), nor lost+found
            assert.equal(start["unsafe-links"], "5", r.out);
            assert.match(start["unsafe-link"], / -> /);
            assert.match(start["links-ms"], /^\d+$/);
            assert.deepEqual(events(r.out, "pvc-end").map((e) => [e.result, e["unsafe-links"]]), [["ok", "5"]]);
            assert.equal(calls(), 1);
        });

        it("--dvm-refuse-unsafe-links: the PVC fails before its copy (exit 95), nothing reaches rsync", async () => {
            const r = await run(["--archive", "--dvm-refuse-unsafe-links", "--", "data:data"]);
            assert.equal(r.code, L.EXIT_CODES.unsafeLinks, r.out);
            const [end] = events(r.out, "pvc-end");
            assert.equal(end.result, "fatal");
            assert.equal(end.exit, String(L.EXIT_CODES.unsafeLinks));
            assert.match(end.reason, /5 symlinks would be rewritten/);
            assert.equal(calls(), 0, "rsync never ran");
            assert.ok(done());
        });

        it("not counted without the option (a destination daemon with chroot keeps them)", async () => {
            const r = await run(["--archive", "--", "data:data"]);
            assert.equal(r.code, 0, r.out);
            assert.equal(events(r.out, "pvc-start")[0]["unsafe-links"], undefined);
        });
    });

    describe("dvm:debugHold", () => {
        it("a failed container stays up (no done-file: the tunnel stays) for the hold, then exits with the failure's code", async () => {
            attempt(1, "echo 'rsync: [receiver] mkstemp failed: Permission denied (13)' >&2; exit 23");
            let doneDuringHold: boolean | undefined;
            const t0 = Date.now();
            const r = await run(["--archive", "--", "data:data"], { DVM_BACKOFF_LIMIT: "0", DVM_DEBUG_HOLD_SECONDS: "2" }, (text) => {
                if (text.startsWith("dvm: debug-hold")) setTimeout(() => (doneDuringHold = done()), 1000);
            });
            assert.equal(r.code, 23, r.out);
            assert.ok(Date.now() - t0 >= 2000, "held for the configured time");
            assert.equal(doneDuringHold, false, "no done-file during the hold");
            assert.ok(done(), "done-file after the hold");
            const [hold] = events(r.out, "debug-hold");
            assert.equal(hold.seconds, "2");
            assert.equal(hold.exit, "23");
            assert.match(hold.message, /kubectl exec/);
        });

        it("a signal ends the hold at once and keeps the failure's exit code", async () => {
            attempt(1, "exit 23");
            const t0 = Date.now();
            const r = await run(["--archive", "--", "data:data"], { DVM_BACKOFF_LIMIT: "0", DVM_DEBUG_HOLD_SECONDS: "600" }, (text, child) => {
                if (text.startsWith("dvm: debug-hold")) child.kill("SIGTERM");
            });
            assert.equal(r.code, 23, r.out);
            assert.ok(Date.now() - t0 < 5000, "stopped promptly");
            assert.ok(done());
        });

        it("no hold after a success, nor when it is 0", async () => {
            const ok = await run(["--archive", "--", "data:data"], { DVM_DEBUG_HOLD_SECONDS: "600" });
            assert.equal(ok.code, 0);
            assert.equal(events(ok.out, "debug-hold").length, 0);
            attempt("default", "exit 23");
            const off = await run(["--archive", "--", "data:data"], { DVM_BACKOFF_LIMIT: "0" });
            assert.equal(off.code, 23);
            assert.equal(events(off.out, "debug-hold").length, 0);
        });
    });
});
