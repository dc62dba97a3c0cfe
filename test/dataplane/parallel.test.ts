// dvm:rsync.parallel on real rsync and stunnel between two network-namespace hosts: the PVCs of one source pod copied
// at the same time (rsync-client.sh --dvm-parallel=<n>), every rsync output line prefixed with its PVC, and the parser
// keeping every record right from the real interleaved log. Retries, fail-fast and the done-file keep their contract.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as L from "../../contract";
import { parseTransferLogs } from "../../progress/parser";
import {
    clientArgs, DestinationPod, dvmLines, generateCredentials, netDown, netUp, pvc, Rendered, SourcePod, SourceRun, stopAll, tempDir,
} from "../support/dataplane";
import { diff, generate, snapshot } from "../support/dataset";

function explain(run: SourceRun): string {
    return `rsync exit ${run.rsyncExit}, stunnel exit ${run.stunnelExit}\n--- rsync container ---\n${run.log.slice(-5000)}`;
}

/** The most PVCs between their pvc-start and pvc-end at any point of the log. */
function mostOpen(log: string): number {
    const open = new Set<string>();
    let most = 0;
    for (const m of log.matchAll(/^dvm: pvc-(start|end) pvc=(\S+)/gm)) {
        if (m[1] === "start") open.add(m[2]);
        else open.delete(m[2]);
        most = Math.max(most, open.size);
    }
    return most;
}

describe("data plane: PVCs of a pod copied at the same time (dvm:rsync.parallel)", function () {
    this.timeout(10 * 60 * 1000);
    const names = ["alpha", "beta", "gamma", "delta"];
    let work: string;
    let logs: string;
    const src: Record<string, string> = {};
    const dst: Record<string, string> = {};
    const creds = generateCredentials();
    let rendered: Rendered;
    let dest: DestinationPod;

    before(async function () {
        if (process.getuid?.() !== 0) throw new Error("the data-plane tests need root (network namespaces, mounts, owners)");
        work = tempDir("parallel");
        logs = path.join(work, "logs");
        fs.mkdirSync(logs);
        netUp();
        names.forEach((n, i) => {
            src[n] = path.join(work, "src", n);
            generate(src[n], { smallFiles: 400 + 200 * i, largeMiB: 6, owners: true, sparseMiB: 102 }, 1);
        });
        // a non-root destination pod (uid 1000, fsGroup 2000): one module it cannot write, for retries and fail-fast
        for (const m of [...names, "readonly"]) {
            dst[m] = path.join(work, "dst", m);
            fs.mkdirSync(dst[m], { recursive: true });
            fs.chownSync(dst[m], m === "readonly" ? 0 : 1000, 2000);
            fs.chmodSync(dst[m], m === "readonly" ? 0o555 : 0o2775);
        }
        rendered = new Rendered(path.join(work, "ns"), { creds, modules: Object.keys(dst), runAsRoot: false, secretGid: 2000 });
        dest = await new DestinationPod(rendered, dst, { runAsRoot: false, user: "1000:1000:2000", logDir: logs }).start();
    });

    after(async function () {
        await dest?.stop();
        await stopAll();
        netDown();
        if (process.env.DVM_DATAPLANE_KEEP !== "1" && work) fs.rmSync(work, { recursive: true, force: true });
    });

    const source = (name: string, args: string[], env: Record<string, string | number> = {}) =>
        new SourcePod(rendered, src, args, { runAsRoot: true, logDir: logs, name, env });

    it("3 at a time of 4 PVCs: all arrive exactly, output lines carry their PVC, the parser keeps every record right", async function () {
        const args = clientArgs({ parallel: 3, inplace: false }, names.map((n) => pvc(n)));
        assert.ok(args.includes(`${L.SCRIPT_OPTIONS.parallel}=3`), args.join(" "));
        const run = await source("parallel-ok", args).start().wait();
        assert.equal(run.rsyncExit, 0, explain(run));
        assert.ok(run.doneFile, "done-file written");
        assert.equal(run.stunnelExit, 0);
        for (const n of names) {
            // an rsync daemon without chroot (a non-root pod) rewrites absolute symlinks: that is its own, not parallel's
            const d = diff(snapshot(src[n], ["lost+found"]), snapshot(dst[n]), { owners: false }).filter((x) => !x.startsWith('"links/absolute"'));
            assert.deepEqual(d.slice(0, 10), [], `${n} differs (${d.length} differences)`);
        }
        const most = mostOpen(run.log);
        assert.ok(most >= 2 && most <= 3, `PVCs open at once: ${most} (at most 3, and more than one)`);
        // every line is the script's own or one of a PVC's rsync output, prefixed
        const between = run.log.slice(run.log.indexOf("dvm: tunnel-up"), run.log.lastIndexOf("dvm: done"));
        const stray = between.split(/[\r\n]/).filter((l) => l.trim() !== "" && !l.startsWith(L.LOG_PREFIX) && !/^\[(alpha|beta|gamma|delta)\] /.test(l));
        assert.deepEqual(stray.slice(0, 5), [], "rsync output without its PVC's prefix");
        for (const n of names) assert.match(run.log, new RegExp(`^\\[${n}\\] .*(xfr#|Number of files)`, "m"), `${n}'s rsync output is there, prefixed`);
        const parsed = parseTransferLogs(run.log, { pvcs: names, now: Date.now() });
        for (const n of names) {
            const r = parsed.pvcs[n];
            assert.equal(r.phase, "Succeeded", `${n}: ${JSON.stringify(r)}`);
            assert.equal(r.totalProgressPercentage, 100, n);
            const bytes = [...snapshot(src[n]).values()].filter((e) => e.type === "file").reduce((a, e) => a + e.size, 0);
            // rsync counts what it sends; the sparse file's holes and lost+found are not sent
            assert.ok(r.transferredBytes > 6 * 2 ** 20 && r.transferredBytes <= bytes, `${n}: ${r.transferredBytes} bytes of ${bytes}`);
        }
        const distinct = new Set(names.map((n) => parsed.pvcs[n].transferredBytes));
        assert.equal(distinct.size, names.length, "each PVC has its own byte count (the data sets differ in size)");
    });

    it("a PVC that cannot be written is retried, then fails: the others are stopped, the pod exits with its code, done-file", async function () {
        const pairs = [pvc("alpha"), pvc("beta", "readonly"), pvc("gamma")];
        // slow enough that alpha and gamma are still copying when beta gives up
        const args = clientArgs({ parallel: 3, inplace: false, bwlimit: 1500, backoffLimit: 1 }, pairs);
        // empty again (the directories themselves are the destination pod's mounts)
        for (const m of ["alpha", "gamma"]) for (const e of fs.readdirSync(dst[m])) fs.rmSync(path.join(dst[m], e), { recursive: true, force: true });
        const run = await source("parallel-fail", args, { DVM_BACKOFF_LIMIT: 1, DVM_RETRY_BASE_SECONDS: 1 }).start().wait();
        const codes = [...run.log.matchAll(/^\[beta\] rsync error: .* \(code ([0-9]+)\)/gm)].map((m) => Number(m[1]));
        assert.ok(codes.length >= 2, `beta's rsync errors, prefixed, one per attempt: ${explain(run)}`);
        assert.notEqual(run.rsyncExit, 0, explain(run));
        assert.equal(run.rsyncExit, codes[codes.length - 1], "the pod exits with the failed PVC's rsync code");
        const ends = dvmLines(run.log, "pvc-end");
        assert.deepEqual(ends.filter((e) => e.pvc === "beta").map((e) => e.result), ["retry", "fatal"], "retried up to the backoff limit");
        for (const n of ["alpha", "gamma"]) {
            const e = ends.filter((x) => x.pvc === n);
            assert.equal(e.length, 1, `${n} ended once: ${JSON.stringify(e)}`);
            assert.equal(e[0].result, "fatal");
            assert.match(e[0].reason, /stopped: another PVC of this pod failed/);
        }
        assert.deepEqual(dvmLines(run.log, "done"), [{ exit: String(run.rsyncExit) }]);
        assert.ok(run.doneFile, "done-file written");
        assert.equal(run.stunnelExit, 0, "the stunnel container stopped on the done-file");
        const parsed = parseTransferLogs(run.log, { pvcs: pairs.map((p) => p.source), now: Date.now() });
        assert.equal(parsed.pvcs.beta.phase, "Failed");
        assert.equal(parsed.pvcs.beta.attempts, 2);
        assert.equal(parsed.pvcs.beta.exitCode, run.rsyncExit);
        for (const n of ["alpha", "gamma"]) assert.equal(parsed.pvcs[n].phase, "Failed", `${n}: ${JSON.stringify(parsed.pvcs[n])}`);
    });
});
