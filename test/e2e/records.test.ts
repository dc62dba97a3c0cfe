// Honest records and transfers that heal (issue 16) on the local pair of real clusters, through `pulumi up`: live
// progress in `dvm watch` and in the record while a throttled copy runs, a deleted source pod resumed by the Job's
// next pod, two stacks splitting one namespace (and a clear error where two waves of one name meet), the completion
// marker and the preview's warning for a removed wave whose copy was cut off. Namespaces rec-*, removed afterwards.
// Run: DVM_E2E_KEEP_CLUSTERS=1 bash hack/e2e.sh --grep 'e2e: records'

import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ANNOTATIONS, CONTAINERS, JOB_NAME_LABEL, LABELS, MANAGED_BY } from "../../contract";
import { transferNames } from "../../components/names";
import { parseTransferLogs, ProgressRecord } from "../../progress/parser";
import { kubeSource } from "../../progress/source";
import { readSegments, SegmentMemory } from "../../progress/wait";
import { diff, snapshot } from "../support/dataset";
import { copyProject, pulumi, pulumiAsync, pulumiOk, removeWorkDir, repoRoot, RunResult, runAsync, workDir } from "../support/engine";
import {
    createPvc, deleteNamespaces, DST, DST_NODE_ADDRESS, json, KUBECONFIG, kubectl, kubectlOk, PROJECT_ENTRIES, PvcSpec, requireClusters,
    resetVolumes, SRC, stackYaml, volumeDir, waveYaml,
} from "../support/clusters";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1 << 20;
const NAMESPACES = ["rec-live", "rec-pod", "rec-split", "rec-cut", "rec-next"];

const LIVE: PvcSpec[] = [{ ns: "rec-live", pvc: "stream", targetNs: "rec-live", targetPvc: "stream" }];
const POD: PvcSpec[] = [{ ns: "rec-pod", pvc: "stream", targetNs: "rec-pod", targetPvc: "stream" }];
const SPLIT_A: PvcSpec[] = [{ ns: "rec-split", pvc: "part-a", targetNs: "rec-split", targetPvc: "part-a" }];
const SPLIT_B: PvcSpec[] = [{ ns: "rec-split", pvc: "part-b", targetNs: "rec-split", targetPvc: "part-b" }];
const CUT: PvcSpec[] = [{ ns: "rec-cut", pvc: "stream", targetNs: "rec-cut", targetPvc: "stream" }];
const NEXT: PvcSpec[] = [{ ns: "rec-next", pvc: "small", targetNs: "rec-next", targetPvc: "small" }];

/** Fills a PVC with `files` random files of `mib` MiB each (whole seconds in the past as mtimes). */
function fill(dir: string, files: number, mib: number): void {
    for (let i = 0; i < files; i++) fs.writeFileSync(path.join(dir, `part-${i}.bin`), randomBytes(mib * MiB));
    const t = new Date(Date.now() - 3600_000);
    for (const f of fs.readdirSync(dir)) fs.utimesSync(path.join(dir, f), t, t);
}

describe("e2e: records and healing on the local clusters", function () {
    let work = "";
    let project = "";
    const up = (stack: string): Promise<RunResult> => pulumiAsync(work, project, ["up", "--yes", "--skip-preview", "--stack", stack,
        "--policy-pack", path.join(repoRoot, "policies"), "--policy-pack-config", path.join(repoRoot, "policies", "config", "root.json")]);
    const migration = (stack: string) => JSON.parse(pulumiOk(work, project, ["stack", "output", "migration", "--json", "--show-secrets", "--stack", stack]).stdout);
    const dataEqual = (pvcs: PvcSpec[]) => {
        for (const p of pvcs) {
            const d = diff(snapshot(volumeDir(SRC, p.ns, p.pvc), ["lost+found"]), snapshot(volumeDir(DST, p.targetNs, p.targetPvc)), { owners: true });
            assert.deepEqual(d.slice(0, 10), [], `${p.ns}/${p.pvc} differs from ${p.targetNs}/${p.targetPvc}`);
        }
    };
    const annotations = (p: PvcSpec): Record<string, string> => json(DST, ["-n", p.targetNs, "get", "pvc", p.targetPvc]).metadata.annotations ?? {};
    const stack = (name: string, waveName: string, pvcs: PvcSpec[], extra: Record<string, string> = {}) => {
        fs.writeFileSync(path.join(project, "waves", `${waveName}.yaml`), waveYaml(waveName, pvcs));
        fs.writeFileSync(path.join(project, "stacks", `Pulumi.${name}.yaml`), stackYaml(`waves/${waveName}.yaml`, DST_NODE_ADDRESS, 60, extra));
        pulumiOk(work, project, ["stack", "init", name]);
    };
    // one memory per Job, as the provider and dvm watch keep it: a memory shared by two Jobs would count the other
    // Job's pods (gone from this one's listing) as this Job's deleted pods
    const memories = new Map<string, SegmentMemory>();
    /** The record as the progress resource reads it right now (the same reader, the same parser). */
    async function recordNow(ns: string, wave: string, pvc: string): Promise<ProgressRecord | undefined> {
        const src = kubeSource(KUBECONFIG, SRC);
        const job = transferNames(wave, ns, 1).job;
        if (!(await src.job(ns, job))) return undefined;
        const key = `${ns}/${job}`;
        if (!memories.has(key)) memories.set(key, new Map());
        const { segments } = await readSegments(src, ns, await src.pods(ns, job), memories.get(key));
        return parseTransferLogs(segments, { pvcs: [pvc] }).pvcs[pvc];
    }

    /** Waits (up to 5 min) until at least `from` bytes of the PVC `stream` arrived on the destination volume itself -
     * the record comes from the source's log, a poll behind - and asserts the copy is still under way (`below`). */
    async function copyUnderWay(ns: string, from: number, below: number): Promise<void> {
        const deadline = Date.now() + 5 * 60_000;
        const arrived = () => {
            const d = volumeDir(DST, ns, "stream");
            return fs.readdirSync(d).reduce((n, f) => n + fs.statSync(path.join(d, f)).size, 0);
        };
        while (Date.now() < deadline && arrived() < from) await sleep(1000);
        const got = arrived();
        assert.ok(got >= from && got < below, `the copy is not under way on the destination (${got} bytes there)`);
    }

    before(function () {
        requireClusters("`make e2e`");
        deleteNamespaces(SRC, NAMESPACES);
        deleteNamespaces(DST, NAMESPACES);
        resetVolumes();
        for (const ns of NAMESPACES) kubectlOk(SRC, ["create", "namespace", ns]);
        fill(createPvc(SRC, "rec-live", "stream"), 3, 8);
        fill(createPvc(SRC, "rec-pod", "stream"), 3, 8);
        fill(createPvc(SRC, "rec-cut", "stream"), 3, 8);
        fill(createPvc(SRC, "rec-split", "part-a"), 2, 1);
        fill(createPvc(SRC, "rec-split", "part-b"), 2, 1);
        fill(createPvc(SRC, "rec-next", "small"), 1, 1);
        work = workDir("records");
        project = copyProject(work, PROJECT_ENTRIES);
        fs.mkdirSync(path.join(project, "stacks"), { recursive: true });
        // `dvm watch` is the compiled CLI (bin/dvm.js -> build/cli): build this checkout's
        const b = spawnSync("npm", ["run", "--silent", "build"], { cwd: repoRoot, encoding: "utf8" });
        assert.equal(b.status, 0, b.stdout + b.stderr);
    });

    after(function () {
        // everything this suite made lives in its rec-* namespaces, on both clusters (destination PVCs included:
        // dvm retains those by design, the test does not)
        deleteNamespaces(SRC, NAMESPACES);
        deleteNamespaces(DST, NAMESPACES);
        if (work) removeWorkDir(work);
    });

    it("live progress: a throttled copy shows several percentages between 1% and 99% in dvm watch and in the record", async function () {
        stack("rec-live", "rec-live", LIVE, { "dvm:rsync": "{bwlimit: 2048}" });
        const running = up("rec-live");
        const watch = runAsync(work, project, process.execPath, [path.join(repoRoot, "bin", "dvm.js"), "watch", "--plain", "--interval", "1",
            "--kubeconfig", KUBECONFIG, "--context", SRC, "--namespace", "rec-live"]);
        let upDone = false;
        void running.then(() => { upDone = true; });
        const inRecord = new Set<number>();
        while (!upDone) {
            const r = await recordNow("rec-live", "rec-live", "stream").catch(() => undefined);
            if (r?.phase === "Running") inRecord.add(r.totalProgressPercentage);
            await sleep(1000);
        }
        const r = await running;
        assert.equal(r.code, 0, r.output);
        const w = await watch;
        const inWatch = new Set([...w.stdout.matchAll(/ rec-live\/stream\s+Running\s+(\d+)%/g)].map((m) => Number(m[1])));
        const between = (s: Set<number>) => [...s].filter((p) => p >= 1 && p <= 99).sort((a, b) => a - b);
        assert.ok(between(inWatch).length >= 3, `dvm watch showed ${between(inWatch)}:\n${w.stdout.slice(-3000)}`);
        assert.ok(between(inRecord).length >= 3, `the record showed ${between(inRecord)}`);
        assert.equal(w.code, 0, `dvm watch ended with the transfer:\n${w.output.slice(-2000)}`);
        const rec = migration("rec-live").namespaces["rec-live"].pvcs.stream;
        assert.equal(rec.phase, "Succeeded");
        assert.ok(rec.transferredBytes >= 24 * MiB, JSON.stringify(rec));
        dataEqual(LIVE);
        // the completion marker: this pass's copy started and succeeded
        const a = annotations(LIVE[0]);
        assert.equal(a[ANNOTATIONS.copyStarted], "rec-live pass 1");
        assert.equal(a[ANNOTATIONS.copySucceeded], "rec-live pass 1");
        console.log(`      live: dvm watch ${between(inWatch).join(" ")}%; record ${between(inRecord).join(" ")}%; up ${r.seconds.toFixed(0)}s`);
    });

    it("a deleted source pod resumes in the Job's next pod; the record keeps the first pod's attempt, bytes and time", async function () {
        // 512 KiB/s: 48 s for the 24 MiB, time enough to delete the pod while it copies, also on a busy machine
        stack("rec-pod", "rec-pod", POD, { "dvm:rsync": "{bwlimit: 512}" });
        const job = transferNames("rec-pod", "rec-pod", 1).job;
        const running = up("rec-pod");
        let before: ProgressRecord | undefined;
        let firstPod = "";
        // wait until the first of the three files is complete on the destination volume (12 MiB there: the first
        // file and part of the second; the sender's count runs ahead by what the tunnel buffers), then do what an
        // admin does to "restart" it
        await copyUnderWay("rec-pod", 12 * MiB, 24 * MiB);
        before = await recordNow("rec-pod", "rec-pod", "stream");
        firstPod = kubectlOk(SRC, ["-n", "rec-pod", "get", "pods", "-l", `${JOB_NAME_LABEL}=${job}`, "-o", "jsonpath={.items[0].metadata.name}"]).trim();
        const deletedAt = Date.now();
        kubectlOk(SRC, ["-n", "rec-pod", "delete", "pod", firstPod, "--wait=false"]);
        const r = await running;
        assert.equal(r.code, 0, `pulumi up failed after the pod was deleted:\n${r.output.slice(-4000)}`);
        const rec = migration("rec-pod").namespaces["rec-pod"].pvcs.stream;
        assert.equal(rec.phase, "Succeeded", JSON.stringify(rec));
        assert.ok(rec.attempts >= 2, `attempts ${rec.attempts}: the deleted pod's attempt counts`);
        assert.ok(rec.transferredBytes >= before!.transferredBytes && rec.transferredBytes >= 24 * MiB, `bytes ${rec.transferredBytes}, seen before the deletion ${before!.transferredBytes}`);
        const pods = json(SRC, ["-n", "rec-pod", "get", "pods", "-l", `${JOB_NAME_LABEL}=${job}`]).items.map((p: any) => p.metadata.name);
        assert.ok(!pods.includes(firstPod) && pods.length >= 1, `the Job ran another pod: ${pods}`);
        // what the surviving pod's own log says: the record adds the deleted pod to it
        const own = parseTransferLogs(kubectlOk(SRC, ["-n", "rec-pod", "logs", pods[0], "-c", CONTAINERS.rsync, "--timestamps"]), { pvcs: ["stream"] }).pvcs.stream;
        assert.equal(own.phase, "Succeeded");
        assert.ok(rec.attempts >= own.attempts + 1, `the deleted pod's attempts: ${rec.attempts} in all, ${own.attempts} of the second pod`);
        assert.ok(own.transferredBytes < 24 * MiB, `the second pod alone sent ${own.transferredBytes} (the first pod had finished a file)`);
        // the first pod's seconds (its file took > 10 s) and the Job's back-off before the next pod (>= 10 s)
        assert.ok(rec.elapsedSeconds >= own.elapsedSeconds! + 15, `elapsed ${rec.elapsedSeconds}s, of the second pod alone ${own.elapsedSeconds}s`);
        assert.ok(deletedAt > 0);
        const status = json(SRC, ["-n", "rec-pod", "get", "job", job]).status;
        assert.equal(status.succeeded, 1, JSON.stringify(status));
        assert.ok(status.failed >= 1, `the deleted pod counted against backoffLimit: ${JSON.stringify(status)}`);
        dataEqual(POD);
        console.log(`      deleted pod: ${before!.transferredBytes} bytes before, record ${rec.transferredBytes} bytes, ${rec.attempts} attempts, ${rec.elapsedSeconds}s` +
            // why each earlier attempt ended: a retry inside the first pod before the deletion was seen on busy runs
            (rec.message ? ` (${rec.message})` : ""));
    });

    it("two stacks split one namespace's PVCs over two waves at the same time; a third reusing a wave name is refused clearly", async function () {
        stack("rec-split-a", "rec-split-a", SPLIT_A);
        stack("rec-split-b", "rec-split-b", SPLIT_B);
        const [a, b] = await Promise.all([up("rec-split-a"), up("rec-split-b")]);
        assert.equal(a.code, 0, a.output);
        assert.equal(b.code, 0, b.output);
        assert.equal(migration("rec-split-a").namespaces["rec-split"].pvcs["part-a"].phase, "Succeeded");
        assert.equal(migration("rec-split-b").namespaces["rec-split"].pvcs["part-b"].phase, "Succeeded");
        dataEqual([...SPLIT_A, ...SPLIT_B]);
        // one source namespace, one destination namespace, two of everything else
        for (const ctx of [SRC, DST]) {
            const secrets = kubectlOk(ctx, ["-n", "rec-split", "get", "secrets", "-l", `${LABELS.managedBy}=${MANAGED_BY}`, "-o", "name"]).trim().split("\n").sort();
            assert.deepEqual(secrets, ["secret/dvm-transfer-credentials-rec-split-a", "secret/dvm-transfer-credentials-rec-split-b"], ctx);
        }
        // a third stack whose wave has stack A's name, into the same namespace: refused before anything is touched
        fs.writeFileSync(path.join(project, "waves", "rec-clash.yaml"), waveYaml("rec-split-a", [{ ...SPLIT_B[0], targetPvc: "part-b-copy" }]));
        fs.writeFileSync(path.join(project, "stacks", "Pulumi.rec-clash.yaml"), stackYaml("waves/rec-clash.yaml", DST_NODE_ADDRESS, 60));
        pulumiOk(work, project, ["stack", "init", "rec-clash"]);
        const clash = pulumi(work, project, ["preview", "--stack", "rec-clash"]);
        assert.notEqual(clash.code, 0, clash.output);
        assert.match(clash.output, /waves\/rec-clash\.yaml: name: wave "rec-split-a" cannot use namespace "rec-split" on the source cluster: \S+ rec-split\/dvm-\S+-rec-split-a belongs to stack dvm\/rec-split-a/, clash.output);
        assert.match(clash.output, /valid example: name: rec-split-a-b/);
        assert.equal(kubectl(DST, ["-n", "rec-split", "get", "pvc", "part-b-copy"]).code, 1, "nothing was created");
    });

    it("a copy cut off leaves no success marker; removing its wave warns in the preview, naming the PVC", async function () {
        // 512 KiB/s: 48 s for the 24 MiB, so the destination pod goes while the copy runs, also on a busy machine
        stack("rec-cut", "rec-cut", CUT, { "dvm:rsync": "{bwlimit: 512, backoffLimit: 0}" });
        const running = up("rec-cut");
        const server = transferNames("rec-cut", "rec-cut", 1).server;
        // the pod must go while the copy runs
        await copyUnderWay("rec-cut", 2 * MiB, 20 * MiB);
        // the destination transfer pod goes away mid-copy (no retries left): the copy is cut off
        const deleted = kubectlOk(DST, ["-n", "rec-cut", "delete", "pod", "-l", `${LABELS.wave}=rec-cut`, "--wait=false"]);
        assert.match(deleted, /deleted/, `no destination transfer pod to delete: ${deleted} ${kubectl(DST, ["-n", "rec-cut", "get", "pods", "--show-labels"]).out}`);
        const r = await running;
        assert.notEqual(r.code, 0, `pulumi up passed although the copy was cut off:\n${r.output.slice(-2000)}`);
        const a = annotations(CUT[0]);
        assert.equal(a[ANNOTATIONS.copyStarted], "rec-cut pass 1");
        assert.equal(a[ANNOTATIONS.copySucceeded], undefined, "no success marker");
        // the next wave of the stack: the preview says what removing rec-cut leaves behind
        fs.writeFileSync(path.join(project, "waves", "rec-next.yaml"), waveYaml("rec-next", NEXT));
        pulumiOk(work, project, ["config", "set", "--stack", "rec-cut", "dvm:wave", "waves/rec-next.yaml"]);
        const preview = pulumi(work, project, ["preview", "--stack", "rec-cut"]);
        assert.equal(preview.code, 0, preview.output);
        assert.match(preview.output, /this run removes wave "rec-cut" \(dvm:wave now names wave "rec-next"\), but its transfer did not succeed for 1 destination PVC\(s\): rec-cut\/stream \(started: rec-cut pass 1, succeeded: never\)/, preview.output);
        const next = await up("rec-cut");
        assert.equal(next.code, 0, next.output);
        assert.equal(json(DST, ["-n", "rec-cut", "get", "pvc", "stream"]).status.phase, "Bound", "the cut-off copy's PVC stays");
        assert.equal(kubectl(DST, ["-n", "rec-cut", "get", "deployment", server]).code, 1, "its transfer pod is gone");
        const again = pulumi(work, project, ["preview", "--stack", "rec-cut"]);
        assert.doesNotMatch(again.output, /this run removes wave/, "once removed, no more warnings");
        assert.equal(annotations(NEXT[0])[ANNOTATIONS.copySucceeded], "rec-next pass 1");
    });
});
