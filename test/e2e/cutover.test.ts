// End to end: MTC's stage / cutover / rollback on the local pair of real clusters (hack/e2e.sh). Four applications
// write continuously to the source PVCs of namespace cut-app (a Deployment of 2, a StatefulSet, a CronJob, a
// DaemonSet), in the transfer image the clusters already have. A stage pass copies them while they run; a cutover -
// interrupted like a Ctrl-C and run again - quiesces them, waits until no pod mounts a wave PVC and runs the final
// pass; the destination must then equal the quiesced source file for file. The next wave leaves the source quiesced;
// a rollback restores replicas, suspend and node selectors exactly, except what an admin changed meanwhile.
// Namespaces cut-*; everything this file creates is removed in after().

import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ANNOTATIONS, LABELS, MANAGED_BY, QUIESCE_NODE_SELECTOR } from "../../contract";
import { diff, Entry, generate, snapshot } from "../support/dataset";
import { copyProject, engineEnv, pulumi, pulumiOk, removeWorkDir, RunResult, workDir } from "../support/engine";
import {
    CLUSTERS_DIR, createPvc, deleteNamespaces, DST, DST_NODE_ADDRESS, IMAGE, json, kubectl, kubectlOk, KUBECONFIG, requireClusters, resetVolumes, SRC,
    sleep, stackYaml, STORAGE_CLASS, volumeDir, waitFor,
} from "../support/clusters";

/** The program as a user's checkout holds it (index.ts imports contract/ and kube/ too). */
const ENTRIES = ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts", "contract", "config", "kube", "components", "progress", "cli", "waves"];
const NS = "cut-app";
const NEXT = "cut-next";
const WAVE1 = "cut-wave-1";
const WAVE2 = "cut-wave-2";
const PVCS = ["web", "data-db-0", "cron", "logs"];
/** `web` lives on a volume that is ReadWriteOnce only (the pool's volumes also allow ReadWriteMany). */
const RWO_PV = "cut-rwo-web";
const RWO_CLASS = "cut-rwo";
const STACK = "cut";
const FINAL_JOB = `dvm-rsync-${WAVE1}-p1-cutover`;

const writer = (script: string) => ["/bin/bash", "-c", `set -u; trap 'exit 0' TERM; ${script}`];
/** Churn: a directory of files made and removed every 0.3 s (rsync meets files that vanished), a growing log. */
const CHURN = 'd=/data/zz-churn-$HOSTNAME; n=0; while :; do n=$((n+1)); mkdir -p $d/$n; for i in $(seq 1 40); do echo "$n $i" > $d/$n/f-$i; done; ' +
    'rm -rf $d/$((n-1)); date +%s%N >> /data/log-$HOSTNAME.txt; chmod 640 /data/log-$HOSTNAME.txt; sleep 0.3; done';

function manifests(): string {
    const vol = (claim: string) => ({ name: "data", persistentVolumeClaim: { claimName: claim } });
    const container = (script: string) => ({ name: "writer", image: IMAGE, command: writer(script), volumeMounts: [{ name: "data", mountPath: "/data" }] });
    const spec = (claim: string, script: string, extra: Record<string, unknown> = {}) => ({
        terminationGracePeriodSeconds: 2, containers: [container(script)], volumes: [vol(claim)], ...extra,
    });
    const labels = (app: string) => ({ app });
    const docs: unknown[] = [
        { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: NS },
            spec: { replicas: 2, selector: { matchLabels: labels("web") }, template: { metadata: { labels: labels("web") }, spec: spec("web", CHURN) } } },
        { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "db", namespace: NS },
            spec: {
                replicas: 1, serviceName: "db", selector: { matchLabels: labels("db") },
                template: { metadata: { labels: labels("db") }, spec: {
                    // bash as PID 1 ignores SIGTERM: the pod goes only after its grace period, so the cutover waits
                    terminationGracePeriodSeconds: 40,
                    containers: [{ name: "writer", image: IMAGE, volumeMounts: [{ name: "data", mountPath: "/data" }],
                        command: ["/bin/bash", "-c", "while :; do date +%s%N >> /data/db.log; echo $RANDOM > /data/.tmp && mv /data/.tmp /data/current; sleep 0.2; done"] }],
                } },
                volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: STORAGE_CLASS, resources: { requests: { storage: "1Gi" } } } }],
            } },
        { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "backup", namespace: NS },
            spec: { schedule: "* * * * *", concurrencyPolicy: "Forbid", suspend: false, successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 1,
                jobTemplate: { spec: { backoffLimit: 0, template: { spec: spec("cron", "date +%s%N > /data/backup-$(date +%s).txt; for i in $(seq 1 50); do echo $i >> /data/progress.txt; sleep 1; done", { restartPolicy: "Never" }) } } } } },
        { apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "agent", namespace: NS },
            spec: { selector: { matchLabels: labels("agent") }, template: { metadata: { labels: labels("agent") },
                spec: spec("logs", "while :; do date +%s%N >> /data/agent.log; sleep 0.5; done", { nodeSelector: { "kubernetes.io/os": "linux" } }) } } },
    ];
    return docs.map((d) => JSON.stringify(d)).join("\n---\n");
}

/** A wave of the cut-app PVCs without nodeName: dvm finds the node of the RWO volume in use itself. */
function wave1(): string {
    return [`name: ${WAVE1}`, "namespaces:", `  - name: ${NS}`, "    pvcs:",
        ...PVCS.flatMap((p) => [`      - name: ${p}`, "        capacity: 1Gi", `        storageClass: ${STORAGE_CLASS}`]), ""].join("\n");
}
function wave2(): string {
    return [`name: ${WAVE2}`, "namespaces:", `  - name: ${NEXT}`, "    pvcs:", "      - {name: other, capacity: 1Gi, storageClass: dvm-local}", ""].join("\n");
}

/** A little data with assorted modes, owners, a symlink and a hard link (the writers add theirs). */
function seed(dir: string): void {
    for (let i = 0; i < 30; i++) {
        const sub = path.join(dir, `d${i % 3}`);
        fs.mkdirSync(sub, { recursive: true });
        const f = path.join(sub, `f-${i}.txt`);
        fs.writeFileSync(f, `seed ${i}\n`.repeat(i * 10));
        fs.chmodSync(f, [0o644, 0o600, 0o755, 0o640][i % 4]);
        fs.chownSync(f, 1000 + (i % 3), 2000 + (i % 2));
    }
    fs.symlinkSync("d0/f-0.txt", path.join(dir, "link"));
    fs.linkSync(path.join(dir, "d1", "f-1.txt"), path.join(dir, "hard"));
}

/** Pods of the namespace, not dvm's and not finished, that mount one of the wave's PVCs. */
function podsHolding(ns: string, pvcs: string[]): string[] {
    const pods = json(SRC, ["-n", ns, "get", "pods"]).items as any[];
    return pods.filter((p) => !["Succeeded", "Failed"].includes(p.status?.phase) && p.metadata?.labels?.[LABELS.managedBy] !== MANAGED_BY &&
        (p.spec?.volumes ?? []).some((v: any) => pvcs.includes(v.persistentVolumeClaim?.claimName)))
        .map((p) => `${p.metadata.name}${p.metadata.deletionTimestamp ? " (terminating)" : ""}`);
}

/** waitFor without blocking the event loop (a background `pulumi up` must keep draining its output meanwhile). */
async function poll<T>(what: string, seconds: number, probe: () => T | undefined): Promise<T> {
    for (const deadline = Date.now() + seconds * 1000; ;) {
        const v = probe();
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`timed out after ${seconds}s waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 500));
    }
}

const get = (kind: string, name: string) => json(SRC, ["-n", NS, "get", kind, name]);
const annotations = (o: any): Record<string, string> => o.metadata?.annotations ?? {};
const dvmAnnotations = (o: any) => Object.fromEntries(Object.entries(annotations(o)).filter(([k]) => k.startsWith("dvm.io/")));

describe("e2e: cutover", function () {
    let work = "";
    let project = "";
    const policyPack = path.join(__dirname, "..", "..", "policies");
    const rootPolicyConfig = path.join(policyPack, "config", "root.json");
    const rwoDir = path.join(CLUSTERS_DIR, "src", "volumes", RWO_PV);
    /** The quiesced source, snapshotted once the cutover finished. */
    const quiescedSource = new Map<string, Map<string, Entry>>();

    /** Background `pulumi up`s still running when a test ends are interrupted (a stale one would hold the stack's lock). */
    const running: ChildProcess[] = [];
    afterEach(async function () {
        for (const c of running.splice(0)) {
            if (c.exitCode !== null || c.signalCode !== null) continue;
            const closed = new Promise((r) => c.on("close", r));
            c.kill("SIGINT");
            await new Promise((r) => setTimeout(r, 1500));
            c.kill("SIGINT");
            await closed;
        }
    });

    const up = (extra: string[] = []): RunResult => pulumi(work, project,
        ["up", "--yes", "--skip-preview", "--stack", STACK, "--policy-pack", policyPack, "--policy-pack-config", rootPolicyConfig, ...extra]);
    const config = (key: string, value: string) => pulumiOk(work, project, ["config", "set", "--stack", STACK, key, value]);
    const migration = () => JSON.parse(pulumiOk(work, project, ["stack", "output", "migration", "--json", "--show-secrets", "--stack", STACK]).stdout);

    /** `pulumi up` in the background, so the test can watch the cluster and interrupt it. */
    function upAsync(): { child: ChildProcess; done: Promise<RunResult> } {
        const started = Date.now();
        const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--stack", STACK, "--policy-pack", policyPack, "--policy-pack-config", rootPolicyConfig,
            "--non-interactive", "--color", "never"], { cwd: project, env: engineEnv(work), stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout!.on("data", (d) => { stdout += d; });
        child.stderr!.on("data", (d) => { stderr += d; });
        const done = new Promise<RunResult>((resolve) => child.on("close", (code) => resolve({
            code: code ?? -1, stdout, stderr, output: stdout + stderr, seconds: (Date.now() - started) / 1000,
        })));
        return { child, done };
    }

    before(function () {
        requireClusters("`make e2e`");
        deleteNamespaces(SRC, [NS, NEXT]);
        deleteNamespaces(DST, [NS, NEXT]);
        kubectl(SRC, ["delete", "pv", RWO_PV, "--ignore-not-found", "--wait=true"]);
        fs.rmSync(rwoDir, { recursive: true, force: true });
        resetVolumes();
        for (const ns of [NS, NEXT]) kubectlOk(SRC, ["create", "namespace", ns]);

        // web's volume: ReadWriteOnce only, so a running pod that mounts it pins the source transfer pod to its node
        fs.mkdirSync(rwoDir, { recursive: true, mode: 0o777 });
        kubectlOk(SRC, ["apply", "-f", "-"], JSON.stringify({
            apiVersion: "v1", kind: "PersistentVolume", metadata: { name: RWO_PV },
            spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], persistentVolumeReclaimPolicy: "Retain", storageClassName: RWO_CLASS,
                local: { path: rwoDir }, claimRef: { namespace: NS, name: "web" },
                nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [SRC] }] }] } } },
        }));
        kubectlOk(SRC, ["apply", "-f", "-"], JSON.stringify({
            apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "web", namespace: NS },
            spec: { accessModes: ["ReadWriteOnce"], storageClassName: RWO_CLASS, volumeName: RWO_PV, resources: { requests: { storage: "1Gi" } } },
        }));
        // seeded data with owners, modes, hard links and a large file that is sent first (slowly: dvm:rsync.bwlimit)
        // while the churn directories, sorted after it, vanish
        generate(volumeDir(SRC, NS, "web"), { smallFiles: 300, largeMiB: 24, owners: true, sparseMiB: 0 });
        for (const p of PVCS.slice(1)) seed(createPvc(SRC, NS, p));
        seed(createPvc(SRC, NEXT, "other"));
        kubectlOk(SRC, ["apply", "-f", "-"], manifests());
        waitFor("the writers to run", 180, () => {
            const running = (json(SRC, ["-n", NS, "get", "pods"]).items as any[]).filter((p) => p.status?.phase === "Running").map((p) => p.metadata.name as string);
            return running.filter((n) => n.startsWith("web-")).length === 2 && running.includes("db-0") && running.some((n) => n.startsWith("agent-")) ? true : undefined;
        });

        work = workDir("cutover");
        project = copyProject(work, ENTRIES);
        fs.mkdirSync(path.join(project, "stacks"), { recursive: true });
        fs.writeFileSync(path.join(project, "waves", "cut-1.yaml"), wave1());
        fs.writeFileSync(path.join(project, "waves", "cut-2.yaml"), wave2());
        fs.writeFileSync(path.join(project, "stacks", `Pulumi.${STACK}.yaml`), stackYaml("waves/cut-1.yaml", DST_NODE_ADDRESS, 20, {
            "dvm:rsync": "{bwlimit: 8192}", "dvm:quiesce": "{timeoutSeconds: 240}",
        }));
        pulumiOk(work, project, ["stack", "init", STACK]);
    });

    after(function () {
        if (work) removeWorkDir(work);
        if (!process.env.DVM_E2E_KEEP_NAMESPACES) {
            deleteNamespaces(SRC, [NS, NEXT]);
            deleteNamespaces(DST, [NS, NEXT]);
            kubectl(SRC, ["delete", "pv", RWO_PV, "--ignore-not-found", "--wait=true"]);
            fs.rmSync(rwoDir, { recursive: true, force: true });
            resetVolumes();
        }
    });

    it("a stage pass while the applications write completes; vanished files are reported, not fatal; the pod follows the RWO volume", function () {
        const r = up();
        assert.equal(r.code, 0, r.output);
        const out = migration();
        assert.equal(out.mode, "stage");
        const ns = out.namespaces[NS];
        for (const p of PVCS) assert.equal(ns.pvcs[p].phase, "Succeeded", `${p}: ${JSON.stringify(ns.pvcs[p])}`);
        assert.equal(ns.pvcs.web.reason, "VanishedFiles", `web: ${JSON.stringify(ns.pvcs.web)}`);
        assert.equal(ns.pvcs.web.exitCode, 24);
        assert.match(ns.pvcs.web.message, /vanished/);
        assert.equal(ns.sourceNode?.name, SRC, JSON.stringify(ns));
        assert.match(ns.sourceNode.why, /PVC web \(ReadWriteOnce\) in use there by pod web-/);
        assert.equal(json(SRC, ["-n", NS, "get", "job", `dvm-rsync-${WAVE1}-p1`]).spec.template.spec.nodeName, SRC);
        assert.equal(ns.quiesced, false);
        assert.equal(get("deployment", "web").spec.replicas, 2, "a stage pass leaves the applications alone");
        console.log(`    stage pass in ${r.seconds.toFixed(0)}s`);
    });

    it("the preview of a cutover lists what it will quiesce", function () {
        config("dvm:migration", "cutover");
        const r = pulumiOk(work, project, ["preview", "--stack", STACK]);
        assert.match(r.output, new RegExp(`the cutover quiesces in namespace ${NS}:`), r.output);
        for (const line of ["CronJob/backup: suspend false -> true", "Deployment/web: replicas 2 -> 0", "StatefulSet/db: replicas 1 -> 0",
            'DaemonSet/agent: nodeSelector {"kubernetes.io/os":"linux"} -> {"dvm.io/quiesce-daemonset":"quiesced"}']) {
            assert.ok(r.output.includes(line), `preview lacks "${line}":\n${r.output}`);
        }
        assert.equal(get("deployment", "web").spec.replicas, 2, "a preview changes nothing");
    });

    it("cutover, interrupted while it waits and run again: quiesced with the saved values intact, no pod on a wave PVC at the final pass, the destination equal to the quiesced source", async function () {
        const started = Date.now();
        const first = upAsync();
        running.push(first.child);
        // interrupt (Ctrl-C twice) once the workloads are quiesced and the StatefulSet's pod is still going
        await Promise.race([
            poll("the cutover to quiesce", 600, () => (annotations(get("deployment", "web"))[ANNOTATIONS.preQuiesceReplicas] ? true : undefined)),
            first.done.then((x) => { throw new Error(`pulumi up ended before it quiesced anything:\n${x.output}`); }),
        ]);
        console.log(`    quiesced ${((Date.now() - started) / 1000).toFixed(0)}s after pulumi up started`);
        assert.ok(podsHolding(NS, PVCS).some((p) => p.startsWith("db-0")), "db-0 still holds its volume (40 s grace period)");
        first.child.kill("SIGINT");
        await new Promise((r) => setTimeout(r, 1500));
        first.child.kill("SIGINT");
        const interrupted = await first.done;
        assert.notEqual(interrupted.code, 0, `the interrupted up finished anyway:\n${interrupted.output}`);
        assert.equal(kubectl(SRC, ["-n", NS, "get", "job", FINAL_JOB]).code, 1, "the final pass had not started");
        assert.equal(annotations(get("deployment", "web"))[ANNOTATIONS.preQuiesceReplicas], "2");

        const second = upAsync();
        running.push(second.child);
        const atStart = await Promise.race([
            poll("the final pass's Job", 600, () => (kubectl(SRC, ["-n", NS, "get", "job", FINAL_JOB]).code === 0 ? podsHolding(NS, PVCS) : undefined)),
            second.done.then((x) => { throw new Error(`pulumi up ended before the final pass's Job appeared:\n${x.output}`); }),
        ]);
        const r = await second.done;
        assert.equal(r.code, 0, `${r.output}\n--- the interrupted run:\n${interrupted.output}`);
        assert.deepEqual(atStart, [], "no pod mounts a wave PVC when the final pass starts");

        const web = get("deployment", "web");
        assert.equal(web.spec.replicas, 0);
        assert.deepEqual(dvmAnnotations(web), { [ANNOTATIONS.preQuiesceReplicas]: "2", [ANNOTATIONS.quiescedBy]: WAVE1 }, "saved before the interruption, intact after");
        const db = get("statefulset", "db");
        assert.deepEqual([db.spec.replicas, annotations(db)[ANNOTATIONS.preQuiesceReplicas]], [0, "1"]);
        const backup = get("cronjob", "backup");
        assert.deepEqual([backup.spec.suspend, annotations(backup)[ANNOTATIONS.preQuiesceSuspend]], [true, "false"]);
        const agent = get("daemonset", "agent");
        assert.deepEqual(agent.spec.template.spec.nodeSelector, QUIESCE_NODE_SELECTOR);
        assert.equal(annotations(agent)[ANNOTATIONS.preQuiesceNodeSelector], '{"kubernetes.io/os":"linux"}');
        assert.deepEqual(podsHolding(NS, PVCS), []);

        const out = migration();
        assert.equal(out.mode, "cutover");
        const ns = out.namespaces[NS];
        assert.equal(ns.quiesced, true);
        for (const p of PVCS) assert.equal(ns.pvcs[p].phase, "Succeeded", `${p}: ${JSON.stringify(ns.pvcs[p])}`);
        assert.equal(ns.pvcs.web.reason, undefined, "nothing vanished on the final pass");
        const saved = Object.fromEntries(ns.workloads.map((w: any) => [`${w.kind}/${w.name}`, w.saved]));
        assert.deepEqual([saved["Deployment/web"], saved["StatefulSet/db"], saved["CronJob/backup"], saved["DaemonSet/agent"]],
            [2, 1, false, { "kubernetes.io/os": "linux" }], JSON.stringify(ns.workloads));

        for (const p of PVCS) {
            const src = snapshot(volumeDir(SRC, NS, p), ["lost+found"]);
            quiescedSource.set(p, src);
            const d = diff(src, snapshot(volumeDir(DST, NS, p)), { owners: true });
            assert.deepEqual(d.slice(0, 20), [], `${NS}/${p}: destination differs from the quiesced source (${d.length} differences)`);
        }
        console.log(`    interrupted after ${interrupted.seconds.toFixed(0)}s, finished in ${r.seconds.toFixed(0)}s`);
    });

    it("the next wave after a cutover leaves the source quiesced; dvm status --live still shows it", function () {
        config("dvm:wave", "waves/cut-2.yaml");
        config("dvm:migration", "stage");
        const r = up();
        assert.equal(r.code, 0, r.output);
        assert.equal(migration().namespaces[NEXT].pvcs.other.phase, "Succeeded");
        waitFor("the cutover's Job to go", 120, () => (kubectl(SRC, ["-n", NS, "get", "job", FINAL_JOB]).code === 1 ? true : undefined));
        const web = get("deployment", "web");
        assert.deepEqual([web.spec.replicas, annotations(web)[ANNOTATIONS.preQuiesceReplicas]], [0, "2"], "still quiesced: no split brain");
        assert.equal(get("cronjob", "backup").spec.suspend, true);
        assert.deepEqual(get("daemonset", "agent").spec.template.spec.nodeSelector, QUIESCE_NODE_SELECTOR);
        sleep(5000);
        assert.deepEqual(podsHolding(NS, PVCS), []);

        const cli = spawnSync("node", ["-r", "ts-node/register/transpile-only", path.join(project, "cli", "main.ts"), "status", "--stack", STACK, "--live",
            "--kubeconfig", KUBECONFIG, "--context", SRC], { cwd: project, env: engineEnv(work), encoding: "utf8" });
        assert.equal(cli.status, 0, `${cli.stdout}${cli.stderr}`);
        assert.match(cli.stdout, /wave: cut-wave-2 \(pass 1, stage\)/);
        assert.match(cli.stdout, new RegExp(`${WAVE1}\\s+${NS}\\s+Deployment\\s+web\\s+replicas\\s+2\\s+0\\s+quiesced`), cli.stdout);
        assert.match(cli.stdout, new RegExp(`${WAVE1}\\s+${NS}\\s+CronJob\\s+backup\\s+suspend\\s+false\\s+true\\s+quiesced`), cli.stdout);
    });

    it("rollback restores replicas, suspend and node selectors exactly, keeps an admin's change, removes the transfer; twice is harmless", function () {
        // an admin brings one replica of web back by hand before the rollback
        kubectlOk(SRC, ["-n", NS, "scale", "deployment", "web", "--replicas=1"]);
        config("dvm:wave", "waves/cut-1.yaml");
        config("dvm:migration", "rollback");
        const r = up();
        assert.equal(r.code, 0, r.output);
        const web = get("deployment", "web");
        assert.equal(web.spec.replicas, 1, "the admin's change survives the rollback");
        assert.deepEqual(dvmAnnotations(web), {});
        const db = get("statefulset", "db");
        assert.deepEqual([db.spec.replicas, dvmAnnotations(db)], [1, {}]);
        const backup = get("cronjob", "backup");
        assert.deepEqual([backup.spec.suspend, dvmAnnotations(backup)], [false, {}]);
        const agent = get("daemonset", "agent");
        assert.deepEqual([agent.spec.template.spec.nodeSelector, dvmAnnotations(agent)], [{ "kubernetes.io/os": "linux" }, {}]);
        const out = migration();
        assert.equal(out.mode, "rollback");
        const states = Object.fromEntries(out.namespaces[NS].workloads.map((w: any) => [`${w.kind}/${w.name}`, w.state]));
        assert.equal(states["Deployment/web"], "kept");
        assert.equal(states["StatefulSet/db"], "restored");
        assert.equal(out.namespaces[NS].quiesced, false);

        waitFor("the applications to run again", 180, () => {
            const running = (json(SRC, ["-n", NS, "get", "pods"]).items as any[]).filter((p) => p.status?.phase === "Running" && !p.metadata.deletionTimestamp).map((p) => p.metadata.name as string);
            return running.filter((n) => n.startsWith("web-")).length === 1 && running.includes("db-0") && running.some((n) => n.startsWith("agent-")) ? true : undefined;
        });
        waitFor("the transfer objects to go", 120, () => {
            const src = kubectlOk(SRC, ["get", "jobs", "-A", "-l", `${LABELS.wave}=${WAVE1}`, "-o", "name"]).trim();
            const dst = kubectlOk(DST, ["get", "deployments", "-A", "-l", `${LABELS.wave}=${WAVE1}`, "-o", "name"]).trim();
            return src === "" && dst === "" ? true : undefined;
        });
        for (const p of PVCS) {
            assert.equal(json(DST, ["-n", NS, "get", "pvc", p]).status.phase, "Bound", `destination PVC ${p} stays`);
            const d = diff(quiescedSource.get(p)!, snapshot(volumeDir(DST, NS, p)), { owners: true });
            assert.deepEqual(d.slice(0, 20), [], `${NS}/${p}: destination data kept as the cutover left it`);
        }

        // restoring twice is harmless: another rollback pass writes nothing back
        kubectlOk(SRC, ["-n", NS, "patch", "cronjob", "backup", "--type=merge", "-p", '{"spec":{"suspend":true}}']);
        config("dvm:pass", "2");
        const again = up();
        assert.equal(again.code, 0, again.output);
        assert.equal(get("deployment", "web").spec.replicas, 1);
        assert.equal(get("statefulset", "db").spec.replicas, 1);
        assert.equal(get("cronjob", "backup").spec.suspend, true, "the admin's suspend stays: nothing was saved any more");
        assert.deepEqual(migration().namespaces[NS].workloads, []);
    });

    it("after a rollback the wave stages again into the destination PVCs it kept (the same claims, re-adopted)", function () {
        const uids = Object.fromEntries(PVCS.map((p) => [p, json(DST, ["-n", NS, "get", "pvc", p]).metadata.uid]));
        config("dvm:migration", "stage");
        config("dvm:pass", "3");
        const r = up();
        assert.equal(r.code, 0, r.output);
        const ns = migration().namespaces[NS];
        for (const p of PVCS) {
            assert.equal(ns.pvcs[p].phase, "Succeeded", `${p}: ${JSON.stringify(ns.pvcs[p])}`);
            const pvc = json(DST, ["-n", NS, "get", "pvc", p]);
            assert.equal(pvc.metadata.uid, uids[p], `${p}: the claim the rollback kept, not a new one`);
            assert.equal(annotations(pvc)[ANNOTATIONS.copyStarted], `${WAVE1} pass 3`);
            assert.equal(annotations(pvc)[ANNOTATIONS.copySucceeded], `${WAVE1} pass 3`);
        }
        assert.equal(ns.quiesced, false);
        assert.equal(get("deployment", "web").spec.replicas, 1, "a stage pass leaves the applications alone");
    });
});
