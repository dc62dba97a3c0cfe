// What a progress record means after retries and pod restarts, on REAL rsync output: local-retried-files.log
// (capture-local.sh scenario 10: the daemon killed while the second of two large files was under way, the first one
// complete; the retry resumed) and the data plane's dataplane-retry-resume.log (stunnel killed mid-file).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { collectRows } from "../../cli/watch";
import { statusTable } from "../../cli/format";
import { EXIT_CODES } from "../../contract";
import { LogSegment, parseTransferLogs, ProgressRecord } from "../../progress/parser";
import { JobStatus, PodStatus, TransferSource } from "../../progress/source";
import { NO_POD_SETTLE_SECONDS, TransferFailedError, TransferInputs, waitForTransfer } from "../../progress/wait";

const DIR = path.join(__dirname, "..", "fixtures", "rsync");
const fixture = (name: string) => fs.readFileSync(path.join(DIR, name), "utf8");
/** What the fixture's own stats say: every file of the PVC, once (Total file size of the successful attempt). */
const MEDIA_TOTAL = 13_082_912;

/** The record after every `step`-th line of the log, in order (what successive polls of a running transfer see). */
function alongTheWay(text: string, pvc: string, step = 1): ProgressRecord[] {
    const ends: number[] = [];
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) ends.push(i + 1);
    return ends.filter((_e, i) => i % step === 0 || i === ends.length - 1).map((e) => parseTransferLogs(text.slice(0, e), { pvcs: [pvc] }).pvcs[pvc]);
}

function neverBackwards(records: ProgressRecord[], what: string): void {
    for (let i = 1; i < records.length; i++) {
        const [a, b] = [records[i - 1], records[i]];
        assert.ok(b.totalProgressPercentage >= a.totalProgressPercentage, `${what}: percentage ${a.totalProgressPercentage} -> ${b.totalProgressPercentage} at line ${i} (attempt ${b.attempts})`);
        assert.ok(b.transferredBytes >= a.transferredBytes, `${what}: bytes ${a.transferredBytes} -> ${b.transferredBytes} at line ${i} (attempt ${b.attempts})`);
    }
}

describe("progress records across retries and pods (real rsync output)", () => {
    it("a retry after whole files arrived: transferredBytes counts every file once over both attempts", () => {
        const text = fixture("local-retried-files.log");
        const r = parseTransferLogs(text, { pvcs: ["media"] }).pvcs.media;
        assert.strictEqual(r.phase, "Succeeded");
        assert.strictEqual(r.attempts, 2);
        // attempt 1 finished a-first.bin (6,291,456 bytes) before the cut; attempt 2 sent the rest
        assert.strictEqual(r.transferredBytes, MEDIA_TOTAL, JSON.stringify(r));
        assert.strictEqual(r.totalBytes, MEDIA_TOTAL);
        assert.strictEqual(r.filesTransferred, 7, "1 file in attempt 1, 6 in attempt 2");
    });

    it("while it runs: percentage and bytes never go backwards, also when the retry starts from 0", () => {
        const text = fixture("local-retried-files.log");
        const records = alongTheWay(text, "media");
        neverBackwards(records, "local-retried-files.log");
        const retryStarts = records.findIndex((r) => r.attempts === 2);
        assert.ok(retryStarts > 0);
        // rsync's own counter restarts at 0% for attempt 2; the record keeps what attempt 1 reached
        assert.ok(records[retryStarts].totalProgressPercentage >= 48, JSON.stringify(records[retryStarts]));
        const percents = new Set(records.filter((r) => r.phase === "Running").map((r) => r.totalProgressPercentage));
        assert.ok([...percents].filter((p) => p > 0 && p < 100).length >= 3, `distinct percentages while running: ${[...percents]}`);
    });

    it("the data plane's resumed transfer (stunnel killed mid-file) never goes backwards either", () => {
        const text = fixture("dataplane-retry-resume.log");
        // every progress update of this long \r-separated log, as the line it is today
        const lines = text.replace(/\r/g, "\n");
        const records = alongTheWay(lines, "data", Math.ceil(lines.split("\n").length / 150));
        neverBackwards(records, "dataplane-retry-resume.log");
        assert.strictEqual(records[records.length - 1].attempts, 2);
    });

    it("a pod stopped mid-transfer and the Job's next pod: attempts, bytes and time of both", () => {
        const text = fixture("local-retried-files.log");
        const cut = text.indexOf("dvm: pvc-start pvc=media target=media attempt=2");
        const stamp = (t: string, startMs: number) => t.split("\n").filter((l) => l !== "")
            .map((l, i) => `${new Date(startMs + i * 100).toISOString().replace("Z", "000000Z")} ${l}`).join("\n") + "\n";
        const t0 = Date.UTC(2026, 0, 1, 10, 0, 0);
        // pod 1: deleted during attempt 1 (SIGTERM: the script stops rsync and exits 143); the log ends there
        const first = text.slice(0, text.indexOf("dvm: pvc-end pvc=media attempt=1")) + `dvm: done exit=${EXIT_CODES.terminated}\n`;
        // pod 2, started 30 s later by the Job: attempts count from 1 again in a new pod
        const second = text.slice(cut).replace(/attempt=2 max=4/g, "attempt=1 max=4").replace("pvc-end pvc=media attempt=2", "pvc-end pvc=media attempt=1");
        const segments: LogSegment[] = [
            { text: stamp(first, t0), terminated: true, exitCode: EXIT_CODES.terminated, pod: "dvm-rsync-w-p1-aaaaa" },
            { text: stamp(second, t0 + 30_000), terminated: true, exitCode: 0, pod: "dvm-rsync-w-p1-bbbbb" },
        ];
        const alone = parseTransferLogs(segments.slice(0, 1), { pvcs: ["media"] }).pvcs.media;
        assert.strictEqual(alone.reason, "ContainerTerminated");
        assert.match(alone.message!, /in pod dvm-rsync-w-p1-aaaaa \(stopped by a signal: the Job's next pod resumes the copy\)/);
        // between the pods (the next one waits for its tunnel): the cut-off attempt's time does not run on with the clock
        const between = parseTransferLogs([segments[0], { text: stamp("dvm: tunnel-wait port=2222 timeout=600\n", t0 + 30_000), pod: "dvm-rsync-w-p1-bbbbb" }],
            { pvcs: ["media"], now: t0 + 3_600_000 }).pvcs.media;
        assert.strictEqual(between.phase, "Running");
        assert.ok(between.elapsedSeconds! < 60, `elapsed ${between.elapsedSeconds}s: frozen while no pod copies`);
        const both = parseTransferLogs(segments, { pvcs: ["media"] }).pvcs.media;
        assert.strictEqual(both.phase, "Succeeded");
        assert.strictEqual(both.attempts, 2, "the earlier pod's attempt counts");
        assert.strictEqual(both.message, `succeeded on attempt 2 after attempt 1: ContainerTerminated (container exit ${EXIT_CODES.terminated}, pod dvm-rsync-w-p1-aaaaa)`);
        assert.strictEqual(both.transferredBytes, MEDIA_TOTAL, "the earlier pod's finished file counts");
        const endLine = second.split("\n").filter((l) => l !== "").findIndex((l) => l.startsWith("dvm: pvc-end"));
        const startLine = first.split("\n").findIndex((l) => l.startsWith("dvm: pvc-start"));
        assert.strictEqual(both.elapsedSeconds, Math.round((30 + (endLine - startLine) * 0.1) * 10) / 10, "from the first pod's first attempt to the second pod's pvc-end");
        assert.strictEqual(both.throughput, Math.round(MEDIA_TOTAL / both.elapsedSeconds!));
    });

    it("unsafe symlinks: a Succeeded PVC says how many were rewritten; a refused one failed before its copy", () => {
        const ok = [
            "dvm: pvc-start pvc=app target=app attempt=1 max=3 unsafe-links=3 unsafe-link=\"pg/tblspc/16384 -> /var/lib/pgsql/ts\" links-ms=4 sparse=off inplace=off",
            "sent 1,000 bytes  received 35 bytes  2,070.00 bytes/sec",
            "dvm: pvc-end pvc=app attempt=1 exit=0 result=ok unsafe-links=3",
            "dvm: done exit=0", "",
        ].join("\n");
        const r = parseTransferLogs(ok, { pvcs: ["app"] }).pvcs.app;
        assert.strictEqual(r.phase, "Succeeded");
        assert.strictEqual(r.unsafeSymlinks, 3);
        assert.strictEqual(r.reason, "UnsafeSymlinks");
        assert.match(r.message!, /3 symlinks were rewritten .* \(e\.g\. pg\/tblspc\/16384 -> \/var\/lib\/pgsql\/ts\).*dvm:security\.runAsRoot/);
        const refused = [
            "dvm: pvc-start pvc=app target=app attempt=1 max=3 unsafe-links=3 links-ms=4 sparse=off inplace=off",
            `dvm: pvc-end pvc=app attempt=1 exit=${EXIT_CODES.unsafeLinks} result=fatal unsafe-links=3 reason="3 symlinks would be rewritten: ..."`,
            `dvm: done exit=${EXIT_CODES.unsafeLinks}`, "",
        ].join("\n");
        const f = parseTransferLogs(refused, { pvcs: ["app"] }).pvcs.app;
        assert.strictEqual(f.phase, "Failed");
        assert.strictEqual(f.reason, "UnsafeSymlinks");
        assert.strictEqual(f.exitCode, EXIT_CODES.unsafeLinks);
        assert.match(f.message!, /3 symlinks would be rewritten/);
        const none = parseTransferLogs(ok.replace(/unsafe-links=3/g, "unsafe-links=0").replace(/ unsafe-link="[^"]*"/, ""), { pvcs: ["app"] }).pvcs.app;
        assert.strictEqual(none.unsafeSymlinks, 0);
        assert.strictEqual(none.reason, undefined);
    });

    it("dvm:debugHold: the parse says the failed container is being held, in which pod", () => {
        const text = "dvm: pvc-start pvc=a target=a attempt=1 max=1 sparse=off inplace=off\nrsync error: some files/attrs were not transferred (code 23)\n" +
            "dvm: pvc-end pvc=a attempt=1 exit=23 result=fatal reason=\"backoff limit reached\"\ndvm: debug-hold seconds=1800 exit=23 message=\"...\"\n";
        const held = parseTransferLogs([{ text, pod: "p-1" }], { pvcs: ["a"] });
        assert.deepStrictEqual(held.hold, { seconds: 1800, pod: "p-1" });
        assert.strictEqual(held.pvcs.a.phase, "Failed");
        assert.strictEqual(parseTransferLogs([{ text: `${text}dvm: done exit=23\n`, pod: "p-1" }], { pvcs: ["a"] }).hold, undefined, "over once the script is done");
    });
});

// ---------------------------------------------------------------------------------------------------------------
// The wait (progress/wait.ts) that follows the Job while `pulumi up` runs, against a scripted source cluster.

interface PollState {
    job: JobStatus;
    /** Pods that exist at this poll, with the part of their log shown so far. */
    pods: { name: string; created: number; log: string; exitCode?: number }[];
}

/** A source cluster that shows state[i] at poll i (the last one from then on). */
class ScriptedCluster implements TransferSource {
    polls = 0;
    constructor(private states: PollState[]) {}
    private cur(): PollState { return this.states[Math.min(this.polls, this.states.length) - 1]; }
    async job() { this.polls++; return this.cur().job; }
    async pods(): Promise<PodStatus[]> {
        return this.cur().pods.map((p) => ({
            name: p.name, created: p.created, phase: p.exitCode === undefined ? "Running" : p.exitCode === 0 ? "Succeeded" : "Failed",
            rsync: { restartCount: 0, running: p.exitCode === undefined, terminated: p.exitCode === undefined ? undefined : { exitCode: p.exitCode } },
        }));
    }
    async log(_ns: string, pod: string) { return this.cur().pods.find((p) => p.name === pod)!.log; }
}

const waitInputs = (pvcs: string[]): TransferInputs => ({
    namespace: "media-ns", jobName: "dvm-rsync-w-p1", wave: "w", pass: 1, render: false, timeoutSeconds: 3600, pollSeconds: 0,
    pvcs: pvcs.map((p) => ({ source: p, target: p })),
});

describe("the wait across pods: a deleted pod, the Job's back-off, the debug hold", () => {
    const text = fixture("local-retried-files.log");
    const cut = text.indexOf("dvm: pvc-start pvc=media target=media attempt=2");
    const firstPod = text.slice(0, text.indexOf("dvm: pvc-end pvc=media attempt=1"));
    const secondPod = text.slice(cut).replace(/attempt=2 max=4/g, "attempt=1 max=4").replace("pvc-end pvc=media attempt=2", "pvc-end pvc=media attempt=1");
    const running: JobStatus = { complete: false, active: 1 };

    /** The wait over both pods: Succeeded, with the deleted pod's attempt and the file it finished. */
    async function keepsTheDeletedPod(cluster: ScriptedCluster): Promise<void> {
        const out = await waitForTransfer(cluster, waitInputs(["media"]), { sleep: async () => undefined });
        const r = out.pvcs.media;
        assert.strictEqual(r.phase, "Succeeded");
        assert.strictEqual(r.attempts, 2, "the deleted pod's attempt counts");
        assert.strictEqual(r.transferredBytes, MEDIA_TOTAL, "and the file it finished");
    }

    it("a deleted pod takes its log with it: the record keeps what was read of it (attempts, bytes)", async () => {
        const cluster = new ScriptedCluster([
            { job: running, pods: [{ name: "pod-1", created: 1, log: firstPod.slice(0, firstPod.length / 2) }] },
            { job: running, pods: [{ name: "pod-1", created: 1, log: firstPod }] },
            // kubectl delete pod: gone, log and all; the Job has not started the next one yet
            { job: { complete: false, active: 0 }, pods: [] },
            { job: running, pods: [{ name: "pod-2", created: 2, log: secondPod.slice(0, 200) }] },
            { job: { complete: true, active: 0 }, pods: [{ name: "pod-2", created: 2, log: secondPod, exitCode: 0 }] },
        ]);
        await keepsTheDeletedPod(cluster);
    });

    it("a deleted pod still listed while it terminates, whose log the runtime already removed: what was read of it counts", async () => {
        const cluster = new ScriptedCluster([
            { job: running, pods: [{ name: "pod-1", created: 1, log: firstPod }] },
            // the API answers the log request of a removed container with this text, not an error
            { job: running, pods: [{ name: "pod-1", created: 1, log: "unable to retrieve container logs for containerd://36077be716a8\n", exitCode: 143 }] },
            { job: running, pods: [{ name: "pod-2", created: 2, log: secondPod.slice(0, 200) }] },
            { job: { complete: true, active: 0 }, pods: [{ name: "pod-2", created: 2, log: secondPod, exitCode: 0 }] },
        ]);
        await keepsTheDeletedPod(cluster);
    });

    it("no active pod while the Job backs off before its next pod is not a failure (the Job decides)", async () => {
        let clock = 0;
        const gap: PollState = { job: { complete: false, active: 0 }, pods: [{ name: "pod-1", created: 1, log: `${firstPod}dvm: done exit=143\n`, exitCode: 143 }] };
        const cluster = new ScriptedCluster([
            { job: running, pods: [{ name: "pod-1", created: 1, log: firstPod }] },
            gap, gap, gap, gap, gap, gap,
            { job: running, pods: [gap.pods[0], { name: "pod-2", created: 2, log: secondPod.slice(0, 300) }] },
            { job: { complete: true, active: 0 }, pods: [gap.pods[0], { name: "pod-2", created: 2, log: secondPod, exitCode: 0 }] },
        ]);
        const seen: string[] = [];
        const out = await waitForTransfer(cluster, waitInputs(["media"]), {
            now: () => clock, sleep: async () => { clock += 10_000; },
            onPoll: (r) => seen.push(`${r.media.phase} ${r.media.reason ?? ""}`.trim()),
        });
        assert.strictEqual(out.pvcs.media.phase, "Succeeded", seen.join(", "));
        assert.ok(seen.includes("Failed ContainerTerminated"), "the gap was seen");
        assert.strictEqual(out.pvcs.media.attempts, 2);
    });

    it("...but a Job that stays without a pod far beyond its back-off fails the wait", async () => {
        let clock = 0;
        const gap: PollState = { job: { complete: false, active: 0 }, pods: [{ name: "pod-1", created: 1, log: `${firstPod}dvm: done exit=143\n`, exitCode: 143 }] };
        const cluster = new ScriptedCluster([gap]);
        await assert.rejects(waitForTransfer(cluster, waitInputs(["media"]), { now: () => clock, sleep: async () => { clock += 10_000; } }),
            (e: TransferFailedError) => /transfer Job failed/.test(e.message) && /no active pod/.test(e.message));
        assert.ok(clock >= NO_POD_SETTLE_SECONDS * 1000 && clock < (NO_POD_SETTLE_SECONDS + 30) * 1000, `gave up after ${clock / 1000}s`);
    });

    it("dvm:debugHold: `pulumi up` fails at once and says which pod is kept up and how to get in", async () => {
        const log = "dvm: tunnel-up after=0\ndvm: pvc-start pvc=media target=media attempt=1 max=1 sparse=off inplace=off\n" +
            "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338) [sender=3.2.7]\n" +
            "dvm: pvc-end pvc=media attempt=1 exit=23 result=fatal reason=\"backoff limit reached\"\ndvm: debug-hold seconds=1800 exit=23 message=\"...\"\n";
        const cluster = new ScriptedCluster([{ job: running, pods: [{ name: "dvm-rsync-w-p1-x7k2p", created: 1, log }] }]);
        await assert.rejects(waitForTransfer(cluster, waitInputs(["media"]), { sleep: async () => undefined }), (e: TransferFailedError) => {
            assert.match(e.message, /The failed source pod dvm-rsync-w-p1-x7k2p stays up for 1800s \(dvm:debugHold\).*kubectl -n media-ns exec -it dvm-rsync-w-p1-x7k2p -c rsync -- bash/);
            return true;
        });
        assert.strictEqual(cluster.polls, 1, "at once, while the pod is held");
    });
});

describe("dvm watch and dvm status: the same record", () => {
    it("dvm watch remembers a deleted pod of a Job across its polls (collectRows memory)", async () => {
        const text = fixture("local-retried-files.log");
        const firstPod = text.slice(0, text.indexOf("dvm: pvc-end pvc=media attempt=1"));
        const secondPod = text.slice(text.indexOf("dvm: pvc-start pvc=media target=media attempt=2")).replace(/attempt=2 max=4/g, "attempt=1 max=4");
        const states: PollState[] = [
            { job: { complete: false, active: 1 }, pods: [{ name: "pod-1", created: 1, log: firstPod }] },
            { job: { complete: false, active: 1 }, pods: [{ name: "pod-2", created: 2, log: secondPod.slice(0, 400) }] },
        ];
        const cluster = new ScriptedCluster(states);
        const lister = { transferJobs: async () => [{ namespace: "media-ns", name: "dvm-rsync-w-p1", wave: "w", pass: 1, pvcs: ["media"] }] };
        const memory = new Map();
        const first = await collectRows(lister, cluster, { memory });
        const seenBytes = first.rows[0].record.transferredBytes;
        assert.ok(seenBytes >= 6_291_456, `pod 1 finished a file: ${seenBytes}`);
        const second = await collectRows(lister, cluster, { memory });
        assert.strictEqual(second.rows[0].record.attempts, 2, "pod 1's attempt still counts");
        assert.ok(second.rows[0].record.transferredBytes >= seenBytes, "and its bytes");
        assert.ok(second.rows[0].record.totalProgressPercentage >= first.rows[0].record.totalProgressPercentage);
    });

    it("dvm status lists the PVCs whose symlinks were rewritten, with the count", () => {
        const t = statusTable({ wave: "w", pass: 1, namespaces: { app: { phase: "Succeeded", pvcs: {
            data: { phase: "Succeeded", attempts: 1, totalProgressPercentage: 100, transferredBytes: 10, reason: "UnsafeSymlinks", unsafeSymlinks: 3, message: "3 symlinks were rewritten by the destination's rsync daemon" },
            logs: { phase: "Succeeded", attempts: 1, totalProgressPercentage: 100, transferredBytes: 10, unsafeSymlinks: 0 },
        } } } });
        assert.match(t, /^warnings:\n  app\/data: 3 symlinks were rewritten/m);
        assert.match(t, /^app\s+data\s+Succeeded\s+1\s+100%.*UnsafeSymlinks$/m);
        assert.doesNotMatch(t, /app\/logs/);
    });
});
