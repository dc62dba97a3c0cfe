// The progress parser on REAL rsync output: test/fixtures/rsync/local-*.log were captured by capture-local.sh from a
// real rsync daemon and the real rsync-client.sh (see local-VERSION). The expected values come from the data the
// capture script generated (file counts and sizes), not from the parser.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { classify, parseEvent, parseSize, parseTransferLogs, scrubSecrets, namespacePhase } from "../../progress/parser";

const DIR = path.join(__dirname, "..", "fixtures", "rsync");
const fixture = (name: string) => fs.readFileSync(path.join(DIR, name), "utf8");
const PVCS = ["postgresql", "uploads"];
const MiB = 1024 * 1024;

// what capture-local.sh generated: postgresql = 60 files of 1000..30999 bytes + a 6 MiB file and a hard link to it;
// uploads = 200 such files + a 3 MiB file and its hard link; 3 directories each (., data, data/sub)
const TREE = {
    postgresql: { small: 60, big: 6 * MiB },
    uploads: { small: 200, big: 3 * MiB },
};

function assertTransferredTree(rec: ReturnType<typeof parseTransferLogs>["pvcs"][string], tree: { small: number; big: number }, what: string) {
    assert.strictEqual(rec.filesTransferred, tree.small + 1, `${what}: files transferred (small files + the big one; the hard link is not sent)`);
    assert.strictEqual(rec.totalFiles, tree.small + 2 + 3, `${what}: total files (regular + hard link + 3 dirs)`);
    const minBytes = tree.big + tree.small * 1000;
    const maxBytes = tree.big + tree.small * 31000;
    assert.ok(rec.transferredBytes >= minBytes * 0.99 && rec.transferredBytes <= maxBytes * 1.01, `${what}: transferred ${rec.transferredBytes} not in [${minBytes}, ${maxBytes}]`);
    assert.ok(rec.totalBytes! >= 2 * tree.big + tree.small * 1000 - 10000 && rec.totalBytes! <= 2 * tree.big + tree.small * 31000 + 10000, `${what}: total ${rec.totalBytes}`);
}

describe("progress parser: number and event syntax", () => {
    it("reads rsync sizes in every --human-readable level", () => {
        assert.strictEqual(parseSize("7,239,988"), 7239988);
        assert.strictEqual(parseSize("7239988"), 7239988);
        assert.strictEqual(parseSize("7.24M"), 7240000);
        assert.strictEqual(parseSize("1.22K"), 1220);
        assert.strictEqual(parseSize("2.5G"), 2500000000);
        assert.ok(Number.isNaN(parseSize("lots")));
    });
    it("parses key=value and quoted values of dvm: events", () => {
        const e = parseEvent('dvm: pvc-end pvc=uploads attempt=1 exit=24 result=ok warning="some source files vanished during the copy"');
        assert.deepStrictEqual(e, { event: "pvc-end", fields: { pvc: "uploads", attempt: "1", exit: "24", result: "ok", warning: "some source files vanished during the copy" } });
        assert.strictEqual(parseEvent("sending incremental file list"), undefined);
    });
    it("scrubs credentials from log lines", () => {
        assert.strictEqual(scrubSecrets("RSYNC_PASSWORD=hunter2 rsync"), "RSYNC_PASSWORD=*** rsync");
        assert.strictEqual(scrubSecrets("psk: 0123456789abcdef0123456789abcdef01"), "psk: ***");
        assert.strictEqual(scrubSecrets("identity dvm key 0123456789abcdef0123456789abcdef"), "identity dvm key ***");
        assert.strictEqual(scrubSecrets("rsync://dvm:s3cret@127.0.0.1:2222/data/"), "rsync://dvm:***@127.0.0.1:2222/data/");
        assert.strictEqual(scrubSecrets("rsync error: error in socket IO (code 10)"), "rsync error: error in socket IO (code 10)");
    });
    it("classifies failures like MTC", () => {
        assert.strictEqual(classify(97, []).reason, "TunnelDown");
        assert.strictEqual(classify(12, ["rsync: connection unexpectedly closed (0 bytes received so far) [sender]"]).reason, "NetworkError");
        assert.strictEqual(classify(10, ["rsync: failed to connect to 10.0.0.1 (10.0.0.1): No route to host (113)"]).reason, "NetworkError");
        assert.strictEqual(classify(30, ["rsync error: timeout in data send/receive (code 30) at io.c(197)"]).reason, "Timeout");
        assert.strictEqual(classify(23, ["rsync: [receiver] mkstemp \"a\" failed: Permission denied (13)"]).reason, "Other");
    });
});

describe("progress parser on real rsync output", () => {
    it("reads pvc-start lines with the per-PVC sparse/inplace decisions the same as without them", () => {
        // rsync-client.sh logs its --dvm-sparse-if-holes / --dvm-inplace-if-empty decisions on pvc-start
        // (contract/PROTOCOL.md); a real log with and without those keys must give the same records
        const text = fixture("local-retried.log");
        const withKeys = text.replace(/^(dvm: pvc-start .*)$/gm, "$1 sparse=off sparse-scan=no-holes scan-ms=12 inplace=on destination=empty check-ms=150");
        assert.notStrictEqual(withKeys, text);
        const a = parseTransferLogs(text, { pvcs: PVCS });
        const b = parseTransferLogs(withKeys, { pvcs: PVCS });
        assert.deepStrictEqual(b, a);
        assert.strictEqual(a.pvcs.postgresql.attempts, 2);
        assert.deepStrictEqual(parseEvent("dvm: pvc-start pvc=data target=data attempt=1 max=3 sparse=on sparse-scan=holes scan-ms=40 inplace=off destination=not-empty")!.fields,
            { pvc: "data", target: "data", attempt: "1", max: "3", sparse: "on", "sparse-scan": "holes", "scan-ms": "40", inplace: "off", destination: "not-empty" });
    });

    it("complete transfer, human-readable units: both PVCs Succeeded with the generated tree's counts", () => {
        const r = parseTransferLogs(fixture("local-complete.log"), { pvcs: PVCS });
        assert.strictEqual(r.tunnel, "up");
        assert.strictEqual(r.doneExit, 0);
        for (const pvc of PVCS) {
            const rec = r.pvcs[pvc];
            assert.strictEqual(rec.phase, "Succeeded", pvc);
            assert.strictEqual(rec.attempts, 1);
            assert.strictEqual(rec.exitCode, 0);
            assert.strictEqual(rec.totalProgressPercentage, 100);
            assert.strictEqual(rec.reason, undefined);
            assertTransferredTree(rec, TREE[pvc as keyof typeof TREE], pvc);
            // --bwlimit=4m: never faster than 4 MiB/s (plus slack), and the average is positive
            assert.ok(rec.throughput! > 0 && rec.throughput! < 4 * MiB * 1.3, `throughput ${rec.throughput}`);
            assert.ok(rec.elapsedSeconds! >= 1, `elapsed ${rec.elapsedSeconds}`);
            assert.ok(rec.lastLines!.some((l) => l.startsWith(`dvm: pvc-end pvc=${pvc}`)));
        }
        assert.strictEqual(namespacePhase(r.pvcs), "Succeeded");
    });

    it("plain (comma-grouped) numbers give the same sizes as the human-readable run of the same tree", () => {
        const human = parseTransferLogs(fixture("local-complete.log"), { pvcs: PVCS }).pvcs;
        const plain = parseTransferLogs(fixture("local-complete-plain.log"), { pvcs: PVCS }).pvcs;
        for (const pvc of PVCS) {
            assert.strictEqual(plain[pvc].phase, "Succeeded");
            assert.ok(Math.abs(plain[pvc].transferredBytes - human[pvc].transferredBytes) <= 5000, `${pvc}: ${plain[pvc].transferredBytes} vs ${human[pvc].transferredBytes}`);
            assert.ok(Math.abs(plain[pvc].totalBytes! - human[pvc].totalBytes!) <= 5000);
            assert.ok(plain[pvc].transferredBytes % 10000 !== 0, "plain numbers are exact, not rounded");
            assertTransferredTree(plain[pvc], TREE[pvc as keyof typeof TREE], pvc);
        }
    });

    it("incremental pass: nothing or one new file transferred", () => {
        const r = parseTransferLogs(fixture("local-incremental.log"), { pvcs: PVCS }).pvcs;
        assert.strictEqual(r.postgresql.phase, "Succeeded");
        assert.strictEqual(r.postgresql.filesTransferred, 0);
        assert.strictEqual(r.postgresql.transferredBytes, 0);
        assert.strictEqual(r.uploads.filesTransferred, 1);
        assert.strictEqual(r.uploads.transferredBytes, 200000);
    });

    it("retried transfer: the connection was cut, the second attempt resumed and succeeded", () => {
        const text = fixture("local-retried.log");
        // real-world detail this fixture shows: the killed rsync left its progress line without a newline, so the
        // script's pvc-end event is glued to it
        assert.match(text, /%[^\n]*dvm: pvc-end pvc=postgresql attempt=1 exit=10 result=retry/);
        const r = parseTransferLogs(text, { pvcs: PVCS }).pvcs;
        assert.strictEqual(r.postgresql.phase, "Succeeded");
        assert.strictEqual(r.postgresql.attempts, 2);
        assert.strictEqual(r.postgresql.exitCode, 0);
        assert.match(r.postgresql.message!, /succeeded on attempt 2 after attempt 1: NetworkError \(exit 10\)/);
        assertTransferredTree(r.postgresql, TREE.postgresql, "postgresql");
        assert.strictEqual(r.uploads.attempts, 1);
        assert.strictEqual(r.uploads.phase, "Succeeded");
    });

    it("retried transfer seen while waiting for the retry: Running, with why the attempt failed", () => {
        const text = fixture("local-retried.log");
        const cut = text.indexOf("dvm: pvc-start pvc=postgresql target=postgresql attempt=2");
        const r = parseTransferLogs(text.slice(0, cut), { pvcs: PVCS }).pvcs;
        assert.strictEqual(r.postgresql.phase, "Running");
        assert.strictEqual(r.postgresql.attempts, 1);
        assert.strictEqual(r.postgresql.reason, "NetworkError");
        assert.match(r.postgresql.message!, /attempt 1 failed, retrying in \d+s: .*Connection reset by peer/);
        assert.ok(r.postgresql.totalProgressPercentage > 0 && r.postgresql.totalProgressPercentage < 100);
        assert.strictEqual(r.uploads.phase, "Pending");
    });

    it("a transfer in progress: percent, bytes, rate from the newest \\r progress line", () => {
        const text = fixture("local-complete.log");
        const end = text.indexOf("dvm: pvc-end pvc=postgresql");
        const line = text.slice(0, end).lastIndexOf("\n");
        // cut in the middle of the long \r-separated progress line
        const cut = line + Math.floor((end - line) / 2);
        const r = parseTransferLogs(text.slice(0, cut), { pvcs: PVCS });
        assert.strictEqual(r.current, "postgresql");
        assert.strictEqual(r.pvcs.postgresql.phase, "Running");
        assert.ok(r.pvcs.postgresql.totalProgressPercentage > 0 && r.pvcs.postgresql.totalProgressPercentage < 100);
        assert.ok(r.pvcs.postgresql.transferredBytes > 0);
        assert.ok(r.pvcs.postgresql.lastObservedTransferRate! > 0);
        assert.strictEqual(r.pvcs.uploads.phase, "Pending");
        assert.strictEqual(namespacePhase(r.pvcs), "Running");
    });

    it("failed transfer: wrong password is AuthenticationFailed, the next PVC never started", () => {
        const r = parseTransferLogs(fixture("local-failed-auth.log"), { pvcs: PVCS }).pvcs;
        assert.strictEqual(r.postgresql.phase, "Failed");
        assert.strictEqual(r.postgresql.reason, "AuthenticationFailed");
        assert.strictEqual(r.postgresql.exitCode, 5);
        assert.match(r.postgresql.message!, /auth failed on module postgresql/);
        assert.ok(r.postgresql.lastLines!.some((l) => /code 5/.test(l)));
        assert.strictEqual(r.uploads.phase, "Failed");
        assert.strictEqual(r.uploads.reason, "NotStarted");
        assert.strictEqual(r.uploads.attempts, 0);
        assert.strictEqual(namespacePhase(r), "Failed");
    });

    it("failed transfer: a full destination is NoSpaceLeft (not the connection reset that follows it)", () => {
        const r = parseTransferLogs(fixture("local-failed-nospace.log"), { pvcs: PVCS }).pvcs;
        assert.strictEqual(r.postgresql.phase, "Failed");
        assert.strictEqual(r.postgresql.reason, "NoSpaceLeft");
        assert.strictEqual(r.postgresql.exitCode, 11);
        assert.match(r.postgresql.message!, /No space left on device/);
        assert.ok(r.postgresql.totalProgressPercentage < 100);
    });

    it("vanished files: Succeeded (rsync 24), with the warning kept as the reason", () => {
        const r = parseTransferLogs(fixture("local-vanished.log"), { pvcs: ["uploads"] }).pvcs;
        assert.strictEqual(r.uploads.phase, "Succeeded");
        assert.strictEqual(r.uploads.exitCode, 24);
        assert.strictEqual(r.uploads.reason, "VanishedFiles");
        assert.match(r.uploads.message!, /vanished/);
        assert.match(r.uploads.message!, /file-1[5-9]\d\.bin/);
    });

    it("tunnel never came up: every PVC Failed with TunnelDown and the script's message", () => {
        const r = parseTransferLogs(fixture("local-tunnel-down.log"), { pvcs: PVCS });
        assert.strictEqual(r.tunnel, "down");
        for (const pvc of PVCS) {
            assert.strictEqual(r.pvcs[pvc].phase, "Failed");
            assert.strictEqual(r.pvcs[pvc].reason, "TunnelDown");
            assert.strictEqual(r.pvcs[pvc].exitCode, 97);
            assert.match(r.pvcs[pvc].message!, /127\.0\.0\.1:\d+/);
        }
    });

    it("kubectl --timestamps logs: elapsed time from the event timestamps", () => {
        const text = fixture("local-timestamps.log");
        const r = parseTransferLogs(text, { pvcs: PVCS }).pvcs;
        const ts = (re: RegExp) => Date.parse(re.exec(text)![1]);
        const start = ts(/^(\S+) dvm: pvc-start pvc=postgresql/m);
        const end = ts(/(\S+) dvm: pvc-end pvc=postgresql/);
        assert.ok(Math.abs(r.postgresql.elapsedSeconds! - (end - start) / 1000) < 0.11);
        assert.ok(r.postgresql.elapsedSeconds! > 1, "bandwidth-limited copy of > 6 MiB takes more than a second");
        assert.strictEqual(r.postgresql.throughput, Math.round(r.postgresql.transferredBytes / ((end - start) / 1000)));
        assert.strictEqual(r.uploads.phase, "Succeeded");
        // a running PVC counts elapsed time up to `now`
        const cut = text.indexOf("dvm: pvc-end pvc=postgresql");
        const running = parseTransferLogs(text.slice(0, cut), { pvcs: PVCS, now: start + 42_000 }).pvcs;
        assert.strictEqual(running.postgresql.elapsedSeconds, 42);
    });

    it("kubelet's partial-line timestamps inside a long \\r progress run are dropped", () => {
        const text = fixture("local-timestamps.log");
        // what `logs --timestamps` shows when the runtime split a long line: a stamp at each 16 KiB-ish chunk
        const split = text.split("\n").map((line) => {
            if (line.length < 400 || !line.includes("\r")) return line;
            const at = line.indexOf("\r", 200) + 7; // inside a progress fragment
            return `${line.slice(0, at)}2026-11-21T05:17:52.999999999Z ${line.slice(at)}`;
        }).join("\n");
        assert.notStrictEqual(split, text, "the fixture has long progress lines");
        const a = parseTransferLogs(text, { pvcs: PVCS }).pvcs;
        const b = parseTransferLogs(split, { pvcs: PVCS }).pvcs;
        for (const pvc of PVCS) {
            assert.strictEqual(b[pvc].phase, "Succeeded");
            assert.strictEqual(b[pvc].transferredBytes, a[pvc].transferredBytes);
            assert.strictEqual(b[pvc].filesTransferred, a[pvc].filesTransferred);
            assert.ok(!b[pvc].lastLines!.some((l) => /\d{4}-\d\d-\d\dT/.test(l)), "no stamp left in the lines");
        }
    });

    it("a pod killed mid-transfer (OOM) and the Job's next pod: attempts add up across pods", () => {
        const text = fixture("local-complete.log");
        const cut = text.indexOf("dvm: pvc-end pvc=postgresql");
        const killed = { text: text.slice(0, cut - 200), terminated: true, exitCode: 137, terminationReason: "OOMKilled" };
        const alone = parseTransferLogs([killed], { pvcs: PVCS }).pvcs;
        assert.strictEqual(alone.postgresql.phase, "Failed");
        assert.strictEqual(alone.postgresql.reason, "ContainerTerminated");
        assert.match(alone.postgresql.message!, /exit 137, OOMKilled/);
        const both = parseTransferLogs([killed, { text }], { pvcs: PVCS }).pvcs;
        assert.strictEqual(both.postgresql.phase, "Succeeded");
        assert.strictEqual(both.postgresql.attempts, 2);
        assert.strictEqual(both.uploads.attempts, 1);
    });

    it("a real Kubernetes pod log (kubectl logs --timestamps): numbers from the stats, elapsed from the stamps", () => {
        const r = parseTransferLogs(fixture("local-k8s-complete.log"), { pvcs: ["logs"] }).pvcs.logs;
        assert.strictEqual(r.phase, "Succeeded");
        assert.strictEqual(r.transferredBytes, 108216639); // "Total transferred file size: 108,216,639 bytes"
        assert.strictEqual(r.totalBytes, 108216774); // "Total file size: 108,216,774 bytes"
        assert.strictEqual(r.filesTransferred, 107);
        assert.strictEqual(r.totalFiles, 261);
        // pvc-start 05:57:49.431703473Z, pvc-end 05:57:50.984924994Z
        assert.strictEqual(r.elapsedSeconds, 1.6);
        assert.strictEqual(r.throughput, Math.round(108216639 / 1.553)); // Date.parse keeps milliseconds
    });

    it("a real Kubernetes pod log where the tunnel never came up (with the probe's noise)", () => {
        const r = parseTransferLogs(fixture("local-k8s-tunnel-down.log"), { pvcs: ["cold"] });
        assert.strictEqual(r.tunnel, "down");
        assert.strictEqual(r.doneExit, 97);
        assert.strictEqual(r.pvcs.cold.phase, "Failed");
        assert.strictEqual(r.pvcs.cold.reason, "TunnelDown");
        assert.match(r.pvcs.cold.message!, /within 20s/);
        const text = fixture("local-k8s-tunnel-down.log");
        const waiting = parseTransferLogs(text.slice(0, text.indexOf("dvm: tunnel-down")), { pvcs: ["cold"] });
        assert.strictEqual(waiting.tunnel, "waiting");
        assert.strictEqual(waiting.pvcs.cold.phase, "Pending");
        assert.match(waiting.pvcs.cold.message!, /waiting for the tunnel/);
    });

    it("the data plane's captures: an unwritable destination is Other with rsync's cause, after the backoff limit", () => {
        const r = parseTransferLogs(fixture("dataplane-failed-unwritable.log"), { pvcs: ["db"] }).pvcs.db;
        assert.strictEqual(r.phase, "Failed");
        assert.strictEqual(r.exitCode, 23);
        assert.strictEqual(r.attempts, 2);
        assert.strictEqual(r.reason, "Other");
        assert.match(r.message!, /^backoff limit reached: rsync: \[generator\] failed to set times on "\." \(in readonly\): Operation not permitted \(1\) \(rsync error: some files\/attrs were not transferred \(see previous errors\) \(code 23\)\)$/);
        const resumed = parseTransferLogs(fixture("dataplane-retry-resume.log"), { pvcs: ["data"] }).pvcs.data;
        assert.strictEqual(resumed.phase, "Succeeded");
        assert.strictEqual(resumed.attempts, 2);
        assert.match(resumed.message!, /after attempt 1: NetworkError/);
    });

    it("every captured log (ours and the data plane's) parses consistently with its done line", () => {
        const logs = fs.readdirSync(DIR).filter((f) => f.endsWith(".log"));
        assert.ok(logs.length >= 9);
        for (const f of logs) {
            const text = fixture(f);
            const r = parseTransferLogs(text);
            const done = /dvm: done exit=(\d+)/.exec(text);
            if (!done) continue;
            const phases = Object.values(r.pvcs).map((p) => p.phase);
            if (done[1] === "0") assert.ok(phases.every((p) => p === "Succeeded"), `${f}: ${phases}`);
            else if (phases.length) assert.ok(phases.includes("Failed"), `${f}: exit ${done[1]} but ${phases}`);
        }
    });
});
