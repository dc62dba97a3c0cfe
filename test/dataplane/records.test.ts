// Honest records and transfers that heal (issue 16) on real rsync and stunnel between two network-namespace hosts:
// live progress lines, a restarting rsyncd, rsyncd's refusals, symlinks a non-root daemon rewrites, a flood of idle
// connections against the stunnel server, a FIFO in the empty-destination check, and dvm:debugHold.
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as L from "../../contract";
import { parseEvent, parseTransferLogs } from "../../progress/parser";
import {
    clientArgs, DestinationPod, dvmLines, findProcess, generateCredentials, inNetns, listening, NET, netDown, netUp, pvc, Rendered, sh,
    sleep, SourcePod, SourceRun, stopAll, tempDir, waitFor,
} from "../support/dataplane";
import { diff, snapshot, stampTimes } from "../support/dataset";

function explain(run: SourceRun): string {
    return `rsync exit ${run.rsyncExit}, stunnel exit ${run.stunnelExit}\n--- rsync container ---\n${run.log.slice(-4000)}\n--- stunnel container ---\n${run.stunnelLog.slice(-2000)}`;
}

/** Bytes under a directory (what has arrived so far). */
function bytesUnder(dir: string): number {
    let n = 0;
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.isFile()) n += fs.statSync(p).size;
        }
    };
    if (fs.existsSync(dir)) walk(dir);
    return n;
}

/** Resident memory of a process (all its threads), in bytes. */
function rss(pid: number): number {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
}

// Opens `count` TCP connections to host:port that never send a byte, opens a new one whenever the server drops one,
// and reports {open, dropped, refusedQuickly} once a second (a refusal: the server closed it within 200 ms).
const FLOODER = `
const net = require("net");
const [host, port, count] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
let open = 0, dropped = 0, quick = 0;
function one() {
    const t = Date.now();
    const s = net.connect(port, host);
    s.on("connect", () => { open++; });
    s.on("error", () => {});
    s.on("close", (hadError) => { if (s.connecting === false) { open--; dropped++; if (Date.now() - t < 200) quick++; } setTimeout(one, 20); });
}
for (let i = 0; i < count; i++) setTimeout(one, i);
setInterval(() => console.log(JSON.stringify({ open, dropped, quick })), 1000);
`;

describe("data plane: records and healing (real rsync and stunnel)", function () {
    this.timeout(10 * 60 * 1000);
    let work: string;
    let logs: string;
    const creds = generateCredentials();
    const src: Record<string, string> = {};
    const dst: Record<string, string> = {};
    let rendered: Rendered;
    let dest: DestinationPod;
    const children: ChildProcess[] = [];

    before(async function () {
        if (process.getuid?.() !== 0) throw new Error("the data-plane tests need root (network namespaces, mounts, owners)");
        work = tempDir("records");
        logs = path.join(work, "logs");
        fs.mkdirSync(logs);
        netUp();
        // "stream": three 8 MiB files, a few seconds' copy under a bandwidth limit
        src.stream = path.join(work, "src", "stream");
        fs.mkdirSync(src.stream, { recursive: true });
        for (const n of ["a", "b", "c"]) fs.writeFileSync(path.join(src.stream, `${n}.bin`), randomBytes(8 << 20));
        // "fifosrc": a FIFO and a socket-less tree at the volume root
        src.fifosrc = path.join(work, "src", "fifosrc");
        fs.mkdirSync(path.join(src.fifosrc, "dir"), { recursive: true });
        fs.writeFileSync(path.join(src.fifosrc, "dir", "file"), "content\n");
        sh("mkfifo", [path.join(src.fifosrc, "pipe")]);
        stampTimes(src.stream);
        stampTimes(src.fifosrc);
        for (const m of ["live", "restart", "flood", "fifo"]) {
            dst[m] = path.join(work, "dst", m);
            fs.mkdirSync(dst[m], { recursive: true });
        }
        rendered = new Rendered(path.join(work, "ns-records"), { creds, modules: Object.keys(dst), runAsRoot: true });
        dest = await new DestinationPod(rendered, dst, { runAsRoot: true, logDir: logs }).start();
    });

    after(async function () {
        for (const c of children) c.kill("SIGKILL");
        await stopAll();
        netDown();
        if (process.env.DVM_DATAPLANE_KEEP !== "1" && work) fs.rmSync(work, { recursive: true, force: true });
        else if (work) console.log(`      kept ${work}`);
    });

    const source = (name: string, args: string[], env: Record<string, string | number> = {}) =>
        new SourcePod(rendered, src, args, { runAsRoot: true, logDir: logs, name, env });
    // plain copies: no sparse scan, no empty-destination dry run (one rsync session per attempt)
    const plain = { sparse: false, inplace: false } as const;

    it("live progress: the container log gets a line per progress update while rsync runs, and the record moves", async function () {
        const pod = source("live", clientArgs({ ...plain, bwlimit: 4096 }, [pvc("stream", "live")])).start();
        const inLog = new Set<number>();
        const inRecord = new Set<number>();
        while (pod.rsync.exitCode === undefined) {
            const log = pod.rsync.log();
            // only complete lines: what a container runtime (which cuts log entries at \n) would have logged by now
            const logged = log.slice(0, log.lastIndexOf("\n") + 1);
            if (!logged.includes("dvm: pvc-end")) {
                for (const m of logged.matchAll(/^\s+[\d,]+\s+(\d+)%/gm)) inLog.add(Number(m[1]));
                const r = parseTransferLogs(logged, { pvcs: ["stream"] }).pvcs.stream;
                if (r.phase === "Running") inRecord.add(r.totalProgressPercentage);
            }
            await sleep(300);
        }
        const run = await pod.wait();
        assert.equal(run.rsyncExit, 0, explain(run));
        const between = (s: Set<number>) => [...s].filter((p) => p >= 1 && p <= 99).sort((a, b) => a - b);
        assert.ok(between(inLog).length >= 3, `percentages logged while rsync ran: ${between(inLog)}`);
        assert.ok(between(inRecord).length >= 3, `percentages of the record while it ran: ${between(inRecord)}`);
        assert.deepEqual(diff(snapshot(src.stream), snapshot(dst.live), { owners: true }), []);
        console.log(`      live: ${run.seconds.toFixed(1)} s, logged ${between(inLog).join(" ")}%, record ${between(inRecord).join(" ")}%`);
    });

    it("rsyncd restarting behind a running stunnel: exit 5 without a greeting is retried, the copy completes", async function () {
        const pod = source("restart", clientArgs({ ...plain, bwlimit: 4096 }, [pvc("stream", "restart")]),
            { DVM_BACKOFF_LIMIT: 8, DVM_RETRY_BASE_SECONDS: 1, DVM_RETRY_MAX_SECONDS: 1 }).start();
        try {
            await waitFor("the copy under way", () => bytesUnder(dst.restart) > 2 << 20, 60000, 200);
            // the daemon crashes (an OOM kill, say); the stunnel server stays up and keeps accepting
            dest.rsyncd.kill("SIGKILL");
            await dest.rsyncd.exited;
            await waitFor("an attempt refused without a greeting (exit 5)", () => dvmLines(pod.rsync.log(), "pvc-end").some((e) => e.exit === "5"), 60000, 200);
            assert.ok(listening(NET.dst, L.STUNNEL_PORT).length > 0, "the stunnel server still listens");
        } finally {
            dest.startRsyncd();
            await waitFor("rsyncd back", () => listening(NET.dst, L.RSYNCD_PORT).length > 0);
        }
        const run = await pod.wait();
        assert.equal(run.rsyncExit, 0, explain(run));
        const ends = dvmLines(run.log, "pvc-end").map((e) => `${e.exit} ${e.result}`);
        assert.ok(ends.includes("5 retry"), ends.join(", "));
        assert.equal(ends[ends.length - 1], "0 ok");
        assert.match(run.log, /did not see server greeting/);
        assert.deepEqual(diff(snapshot(src.stream), snapshot(dst.restart), { owners: true }), []);
        console.log(`      restart: ${ends.join(", ")} in ${run.seconds.toFixed(1)} s`);
    });

    it("rsyncd's refusals stay fatal: an unknown module fails at once (exit 5), not retried", async function () {
        const run = await source("unknown-module", clientArgs(plain, [pvc("stream", "no-such-module")]), { DVM_BACKOFF_LIMIT: 3 }).start().wait();
        assert.equal(run.rsyncExit, 5, explain(run));
        assert.deepEqual(dvmLines(run.log, "pvc-end").map((e) => `${e.attempt} ${e.result}`), ["1 fatal"]);
        assert.match(run.log, /@ERROR: Unknown module 'no-such-module'/);
    });

    it("a FIFO at the source's top level: an empty destination is still empty (in place), and the FIFO arrives", async function () {
        const run = await source("fifo", clientArgs({ sparse: false }, [pvc("fifosrc", "fifo")])).start().wait();
        assert.equal(run.rsyncExit, 0, explain(run));
        const [start] = dvmLines(run.log, "pvc-start");
        assert.equal(`${start.inplace} ${start.destination}`, "on empty", run.log.slice(0, 600));
        assert.ok(fs.lstatSync(path.join(dst.fifo, "pipe")).isFIFO());
        assert.deepEqual(diff(snapshot(src.fifosrc), snapshot(dst.fifo), { owners: true }), []);
    });

    it("dvm:debugHold: the failed container stays up with its tunnel, then exits with the failure's code", async function () {
        const hold = 8;
        const pod = source("hold", clientArgs(plain, [pvc("stream", "no-such-module")]), { DVM_BACKOFF_LIMIT: 0, DVM_DEBUG_HOLD_SECONDS: hold }).start();
        await waitFor("the hold", () => dvmLines(pod.rsync.log(), "debug-hold").length > 0, 60000, 200);
        await sleep(1000);
        assert.equal(pod.stunnel.exitCode, undefined, "the stunnel container still runs");
        assert.ok(!fs.existsSync(path.join(pod.ipc, L.DONE_FILE)), "no done-file during the hold");
        // what an admin does after `kubectl exec`: the tunnel answers, with the rsync daemon's greeting
        const greeting = inNetns(NET.src, ["timeout", "10", "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${L.TUNNEL_PORT}; head -c 8 <&3`], { allowFail: true });
        assert.equal(greeting.out, "@RSYNCD:", greeting.err);
        const run = await pod.wait();
        assert.equal(run.rsyncExit, 5, explain(run));
        assert.ok(run.seconds >= hold, `held ${run.seconds} s`);
        assert.ok(run.doneFile);
        assert.equal(run.stunnelExit, 0);
        assert.deepEqual(dvmLines(run.log, "debug-hold").map((e) => [e.seconds, e.exit]), [[String(hold), "5"]]);
    });

    it("a flood of idle connections: the stunnel server caps them and drops them after TIMEOUTbusy, memory stays low, the copy finishes", async function () {
        const pod = source("flood", clientArgs({ ...plain, bwlimit: 3072 }, [pvc("stream", "flood")])).start();
        let flooder: ChildProcess | undefined;
        let stats = { open: 0, dropped: 0, quick: 0 };
        let baseline = 0;
        let peak = 0;
        try {
            await waitFor("the copy under way", () => bytesUnder(dst.flood) > 1 << 20, 60000, 200);
            const stunnelPid = findProcess(dest.stunnel.pid, (c) => /^stunnel /.test(c));
            assert.ok(stunnelPid, "found the stunnel server process");
            baseline = peak = rss(stunnelPid);
            flooder = spawn("ip", ["netns", "exec", NET.src, process.execPath, "-e", FLOODER, NET.dstIp, String(L.STUNNEL_PORT), "1500"], { stdio: ["ignore", "pipe", "inherit"] });
            children.push(flooder);
            flooder.stdout!.on("data", (b: Buffer) => {
                const last = b.toString().trim().split("\n").pop();
                if (last) stats = JSON.parse(last);
            });
            while (pod.rsync.exitCode === undefined) {
                peak = Math.max(peak, rss(stunnelPid));
                await sleep(200);
            }
        } finally {
            flooder?.kill("SIGKILL");
        }
        const run = await pod.wait();
        assert.equal(run.rsyncExit, 0, explain(run));
        assert.deepEqual(diff(snapshot(src.stream), snapshot(dst.flood), { owners: true }), []);
        assert.ok(run.seconds > 6, "the flood ran during a copy of several seconds");
        assert.ok(stats.quick > 0 && /too many clients/.test(dest.stunnel.log()), `connections beyond the cap are refused: ${JSON.stringify(stats)}`);
        assert.ok(peak - baseline < 24 << 20, `stunnel grew by ${((peak - baseline) / 1048576).toFixed(1)} MiB under the flood (${JSON.stringify(stats)})`);
        console.log(`      flood: stunnel ${(baseline / 1048576).toFixed(1)} -> ${(peak / 1048576).toFixed(1)} MiB, ${JSON.stringify(stats)}; copy ${run.seconds.toFixed(1)} s`);

        // one idle connection on its own: dropped once TIMEOUTbusy has passed
        await sleep(1000);
        const t = inNetns(NET.src, ["timeout", "60", "bash", "-c",
            `s=$(date +%s%N); exec 3<>/dev/tcp/${NET.dstIp}/${L.STUNNEL_PORT}; cat <&3 >/dev/null; echo $(( ($(date +%s%N) - s) / 1000000 ))`], { allowFail: true });
        const ms = Number(t.out.trim());
        assert.ok(ms >= (L.STUNNEL_BUSY_TIMEOUT_SECONDS - 1) * 1000 && ms < (L.STUNNEL_BUSY_TIMEOUT_SECONDS + 5) * 1000, `an idle connection was held ${ms} ms (${t.err})`);
    });

    describe("a non-root destination daemon (no chroot) and unsafe symlinks", () => {
        let app: string;
        let nr: Rendered;
        let pod2: DestinationPod;
        const nrDst = (m: string) => path.join(work, "dst-nonroot", m);
        const LINKS: [string, string][] = [
            ["abs", "/var/lib/pgsql/tablespace"], ["up", "../outside"], ["deep/sub/too-far", "../../../x"], ["deep/sub/ok", "../../file"],
            ["dot", "./file"], ["double-slash", "deep//sub"], ["safe", "file"], ["sub-safe", "deep/sub"], ["odd name \"q\"", "/tmp/x"],
        ];
        before(async function () {
            app = path.join(work, "src-nonroot", "app");
            fs.mkdirSync(path.join(app, "deep", "sub"), { recursive: true });
            fs.writeFileSync(path.join(app, "file"), "data\n");
            for (const [name, target] of LINKS) fs.symlinkSync(target, path.join(app, name));
            sh("chown", ["-hR", "1000:2000", app]);
            stampTimes(app);
            for (const m of ["links", "refused"]) {
                fs.mkdirSync(nrDst(m), { recursive: true });
                sh("chown", ["1000:2000", nrDst(m)]);
            }
            nr = new Rendered(path.join(work, "ns-nonroot"), { creds: generateCredentials(), modules: ["links", "refused"], runAsRoot: false, secretGid: 2000 });
            await dest.stop();
            pod2 = await new DestinationPod(nr, { links: nrDst("links"), refused: nrDst("refused") }, { runAsRoot: false, user: "1000:1000:2000", logDir: path.join(work, "ns-nonroot") }).start();
        });
        after(async function () {
            await pod2?.stop();
            await dest.start();
        });
        const nonRoot = (name: string, o: Parameters<typeof clientArgs>[0], target: string) =>
            new SourcePod(nr, { app }, clientArgs({ ...plain, ...o }, [pvc("app", target)]), { runAsRoot: false, user: "1000:1000:2000", logDir: path.join(work, "ns-nonroot"), name });

        it("the count before the copy is exactly the links the daemon rewrote", async function () {
            const run = await nonRoot("links", {}, "links").start().wait();
            assert.equal(run.rsyncExit, 0, explain(run));
            const rewritten = LINKS.filter(([name, target]) => fs.readlinkSync(path.join(nrDst("links"), name)) !== target);
            // the control: rsync really does rewrite them without chroot (else the count would prove nothing)
            assert.ok(rewritten.length >= 5, `rewritten: ${rewritten.map(([n]) => n).join(", ")}`);
            assert.equal(fs.readlinkSync(path.join(nrDst("links"), "abs")), "var/lib/pgsql/tablespace");
            const start = parseEvent(run.log.split("\n").find((l) => l.startsWith("dvm: pvc-start"))!)!.fields;
            assert.equal(start["unsafe-links"], String(rewritten.length), `${run.log.slice(0, 800)}\nrewritten: ${rewritten.map(([n, t]) => `${n} -> ${t}`).join(", ")}`);
            assert.ok(rewritten.some(([n, t]) => start["unsafe-link"] === `${n} -> ${t}`), start["unsafe-link"]);
            assert.deepEqual(dvmLines(run.log, "pvc-end").map((e) => [e.result, e["unsafe-links"]]), [["ok", String(rewritten.length)]]);
            const rec = parseTransferLogs(run.log, { pvcs: ["app"] }).pvcs.app;
            assert.equal(rec.phase, "Succeeded");
            assert.equal(rec.unsafeSymlinks, rewritten.length);
            assert.equal(rec.reason, "UnsafeSymlinks");
            console.log(`      unsafe symlinks: ${rewritten.length} rewritten, counted ${start["unsafe-links"]} in ${start["links-ms"]} ms`);
        });

        it("dvm:rsync.unsafeSymlinks fail: the PVC fails before its copy, nothing arrives", async function () {
            const run = await nonRoot("refused", { unsafeSymlinks: "fail" }, "refused").start().wait();
            assert.equal(run.rsyncExit, L.EXIT_CODES.unsafeLinks, explain(run));
            assert.deepEqual(fs.readdirSync(nrDst("refused")), []);
            assert.ok(run.doneFile);
            assert.equal(run.stunnelExit, 0);
            const rec = parseTransferLogs(run.log, { pvcs: ["app"] }).pvcs.app;
            assert.equal(rec.phase, "Failed");
            assert.equal(rec.reason, "UnsafeSymlinks");
        });
    });
});
