// End to end: the real engine (`make toolchain`) runs dvm's program against the local pair of real clusters
// (`make clusters-up`). Source data is seeded straight into the source PVCs' local volumes (the test is the node's
// admin), copied by `pulumi up` through the NodePort endpoint of the destination, and compared file by file
// (content, type, mode, owners, mtime, link targets, hard-link groups) with the destination volumes.
// hack/e2e.sh brings the clusters up, puts the toolchain on PATH and sets DVM_KUBECTL / DVM_CLUSTERS_DIR.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { LABELS } from "../../contract";
import { changeFraction, diff, Entry, generate, snapshot, stampTimes } from "../support/dataset";
import { copyProject, pulumi, pulumiOk, removeWorkDir, RunResult, workDir } from "../support/engine";
import {
    createPvc, deleteNamespaces, DST, DST_NODE_ADDRESS, json, kubectl, kubectlOk, leftovers, PROJECT_ENTRIES, PvcSpec, requireClusters,
    resetVolumes, SRC, stackYaml as clusterStackYaml, volumeDir, waitFor, waveYaml,
} from "../support/clusters";

/** An address on the clusters' own bridge that no node has: nothing answers (and nothing leaves this machine). */
const UNREACHABLE_ADDRESS = "10.213.0.99";
const STUNNEL_WAIT_SECONDS = 20;

/** Wave 1: two namespaces, three PVCs, a namespace rename and a PVC rename. */
const WAVE1: PvcSpec[] = [
    { ns: "e2e-alpha", pvc: "data", targetNs: "e2e-alpha", targetPvc: "data" },
    { ns: "e2e-alpha", pvc: "uploads", targetNs: "e2e-alpha", targetPvc: "uploads" },
    { ns: "e2e-beta", pvc: "db", targetNs: "e2e-beta-west", targetPvc: "db-restored" },
];
const WAVE2: PvcSpec[] = [{ ns: "e2e-gamma", pvc: "logs", targetNs: "e2e-gamma", targetPvc: "logs" }];
const WAVE_UNREACHABLE: PvcSpec[] = [{ ns: "e2e-delta", pvc: "cold", targetNs: "e2e-delta", targetPvc: "cold" }];
const ALL = [...WAVE1, ...WAVE2, ...WAVE_UNREACHABLE];
const NAMESPACES = {
    src: [...new Set(ALL.map((p) => p.ns))],
    dst: [...new Set(ALL.map((p) => p.targetNs))],
};

function stackYaml(waveFile: string, nodeAddress: string, extra: Record<string, string> = {}, nodePort?: number): string {
    return clusterStackYaml(waveFile, nodeAddress, STUNNEL_WAIT_SECONDS, extra, nodePort);
}

describe("e2e: a wave through `pulumi up` between two real clusters", function () {
    let work = "";
    let project = "";
    const policyPack = path.join(__dirname, "..", "..", "policies");
    const rootPolicyConfig = path.join(policyPack, "config", "root.json");
    /** source snapshots as seeded / last changed, per "<ns>/<pvc>" */
    const sourceState = new Map<string, Map<string, Entry>>();
    /** source PVC uid + resourceVersion, to prove the program never touched them */
    const sourceObjects = new Map<string, string>();
    let firstPassBytes = 0;

    /** `pulumi up` with the policy pack; with the preview, stack policies run before anything is created. */
    const up = (stack: string, preview = false): RunResult => pulumi(work, project,
        ["up", "--yes", ...(preview ? [] : ["--skip-preview"]), "--stack", stack,
            "--policy-pack", policyPack, "--policy-pack-config", rootPolicyConfig]);

    function migration(stack: string): any {
        const r = pulumiOk(work, project, ["stack", "output", "migration", "--json", "--show-secrets", "--stack", stack]);
        return JSON.parse(r.stdout);
    }

    function assertSucceeded(out: any, wave: string, pvcs: PvcSpec[]): void {
        assert.equal(out.wave, wave, JSON.stringify(out));
        for (const p of pvcs) {
            const ns = out.namespaces?.[p.ns];
            assert.ok(ns, `no namespace ${p.ns} in outputs: ${JSON.stringify(out)}`);
            const rec = ns.pvcs?.[p.pvc];
            assert.ok(rec, `no PVC ${p.pvc} in ${p.ns}'s outputs: ${JSON.stringify(ns)}`);
            assert.equal(rec.phase, "Succeeded", `${p.ns}/${p.pvc}: ${JSON.stringify(rec)}`);
            assert.equal(rec.totalProgressPercentage, 100, `${p.ns}/${p.pvc}: ${JSON.stringify(rec)}`);
            for (const k of ["attempts", "transferredBytes", "throughput", "elapsedSeconds"]) {
                assert.equal(typeof rec[k], "number", `${p.ns}/${p.pvc}: ${k} missing in ${JSON.stringify(rec)}`);
            }
            assert.ok("reason" in rec || rec.exitCode === 0, `${p.ns}/${p.pvc}: no exitCode/reason in ${JSON.stringify(rec)}`);
        }
    }

    function assertDataEqual(pvcs: PvcSpec[]): void {
        for (const p of pvcs) {
            const src = snapshot(volumeDir(SRC, p.ns, p.pvc), ["lost+found"]);
            const dst = snapshot(volumeDir(DST, p.targetNs, p.targetPvc));
            const d = diff(src, dst, { owners: true });
            assert.deepEqual(d.slice(0, 20), [], `${p.ns}/${p.pvc} -> ${p.targetNs}/${p.targetPvc} differ (${d.length} differences)`);
        }
    }

    function assertSourceUntouched(pvcs: PvcSpec[]): void {
        for (const p of pvcs) {
            const key = `${p.ns}/${p.pvc}`;
            const now = snapshot(volumeDir(SRC, p.ns, p.pvc));
            const d = diff(sourceState.get(key)!, now, { owners: true, rootTimes: true });
            assert.deepEqual(d.slice(0, 20), [], `source ${key} changed`);
            const o = json(SRC, ["-n", p.ns, "get", "pvc", p.pvc]);
            assert.equal(`${o.metadata.uid} ${o.metadata.resourceVersion}`, sourceObjects.get(key), `source PVC ${key} object changed`);
        }
    }

    function transferPods(context: string, wave: string): string[] {
        return kubectlOk(context, ["get", "pods", "-A", "-l", `${LABELS.wave}=${wave}`, "-o", "name"]).split("\n").filter(Boolean);
    }

    function seed(p: PvcSpec, smallFiles: number, largeMiB: number): void {
        const dir = createPvc(SRC, p.ns, p.pvc);
        generate(dir, { smallFiles, largeMiB, owners: true, sparseMiB: 102 });
        sourceState.set(`${p.ns}/${p.pvc}`, snapshot(dir));
        const o = json(SRC, ["-n", p.ns, "get", "pvc", p.pvc]);
        sourceObjects.set(`${p.ns}/${p.pvc}`, `${o.metadata.uid} ${o.metadata.resourceVersion}`);
    }

    before(function () {
        requireClusters("`make e2e`");
        // a clean slate: namespaces of an earlier run, their volumes
        deleteNamespaces(SRC, NAMESPACES.src);
        deleteNamespaces(DST, NAMESPACES.dst);
        resetVolumes();
        for (const ns of NAMESPACES.src) kubectlOk(SRC, ["create", "namespace", ns]);
        seed(WAVE1[0], 400, 24);
        seed(WAVE1[1], 200, 4);
        seed(WAVE1[2], 100, 8);
        seed(WAVE2[0], 50, 1);
        seed(WAVE_UNREACHABLE[0], 10, 1);

        work = workDir("e2e");
        project = copyProject(work, PROJECT_ENTRIES);
        fs.mkdirSync(path.join(project, "stacks"), { recursive: true });
        fs.writeFileSync(path.join(project, "waves", "e2e-1.yaml"), waveYaml("e2e-wave-1", WAVE1, ["uploads"]));
        fs.writeFileSync(path.join(project, "waves", "e2e-2.yaml"), waveYaml("e2e-wave-2", WAVE2));
        fs.writeFileSync(path.join(project, "waves", "e2e-cold.yaml"), waveYaml("e2e-wave-cold", WAVE_UNREACHABLE));
        fs.writeFileSync(path.join(project, "stacks", "Pulumi.e2e.yaml"), stackYaml("waves/e2e-1.yaml", DST_NODE_ADDRESS));
        fs.writeFileSync(path.join(project, "stacks", "Pulumi.e2e-unreachable.yaml"),
            stackYaml("waves/e2e-cold.yaml", UNREACHABLE_ADDRESS, { "dvm:rsync": "{backoffLimit: 0}" }));
        fs.writeFileSync(path.join(project, "stacks", "Pulumi.e2e-no-psa.yaml"),
            // a fixed node port: a preview cannot know an allocated one (the program then renders port 0 and fails)
            stackYaml("waves/e2e-cold.yaml", DST_NODE_ADDRESS, {}, 32500).replace("podSecurityLabels: true", "podSecurityLabels: false"));
        for (const s of ["e2e", "e2e-unreachable", "e2e-no-psa"]) pulumiOk(work, project, ["stack", "init", s]);
    });

    const WAVES = ["e2e-wave-1", "e2e-wave-2", "e2e-wave-cold"];
    /** Everything the suite made lives in its namespaces (the destination PVCs too: dvm retains them, the test does
     * not): on clusters that were up before the tier started (`make demo`), nothing of it may stay behind. */
    function cleanUp(): void {
        deleteNamespaces(SRC, NAMESPACES.src);
        deleteNamespaces(DST, NAMESPACES.dst);
    }

    after(function () {
        if (requireClustersQuietly()) cleanUp();
        if (work) removeWorkDir(work);
    });

    it("the policy pack blocks a root wave whose namespaces are not labelled privileged, before anything is created", function () {
        const r = up("e2e-no-psa", true);
        assert.notEqual(r.code, 0, `pulumi up passed:\n${r.output}`);
        assert.match(r.output, /root-needs-privileged-namespace/, r.output);
        assert.equal(kubectl(DST, ["get", "namespace", "e2e-delta"]).code, 1, "the destination namespace was created");
    });

    it("wave 1: every PVC Succeeded with progress records, destination data equal to the source", function () {
        const r = up("e2e");
        assert.equal(r.code, 0, r.output);
        assert.match(r.output, /Policies:[\s\S]*dvm/, `no sign the policy pack ran:\n${r.output}`);
        const out = migration("e2e");
        assertSucceeded(out, "e2e-wave-1", WAVE1);
        firstPassBytes = WAVE1.reduce((n, p) => n + out.namespaces[p.ns].pvcs[p.pvc].transferredBytes, 0);
        assert.ok(firstPassBytes > 24 << 20, `first pass moved only ${firstPassBytes} bytes`);
        assertDataEqual(WAVE1);
        assertSourceUntouched(WAVE1);
        console.log(`    wave 1 in ${r.seconds.toFixed(0)}s, ${firstPassBytes} bytes`);
    });

    it("a second pass after source changes is incremental and brings the destination level again", function () {
        // changes on the source (as the application would make them): rewrites, a new file, a removed file
        const dir = volumeDir(SRC, WAVE1[0].ns, WAVE1[0].pvc);
        changeFraction(dir, "small", 0.05);
        fs.writeFileSync(path.join(dir, "small", "added-after-pass-1.txt"), "new since the first pass\n");
        fs.rmSync(path.join(dir, "links", "dangling"));
        stampTimes(path.join(dir, "links"));
        sourceState.set(`${WAVE1[0].ns}/${WAVE1[0].pvc}`, snapshot(dir));

        pulumiOk(work, project, ["config", "set", "--stack", "e2e", "dvm:pass", "2"]);
        const r = up("e2e");
        assert.equal(r.code, 0, r.output);
        const out = migration("e2e");
        assert.equal(out.pass, 2);
        assertSucceeded(out, "e2e-wave-1", WAVE1);
        const bytes = WAVE1.reduce((n, p) => n + out.namespaces[p.ns].pvcs[p.pvc].transferredBytes, 0);
        assert.ok(bytes < firstPassBytes / 10, `second pass moved ${bytes} bytes, first ${firstPassBytes}: not incremental`);
        assertDataEqual(WAVE1);
        assertSourceUntouched(WAVE1);
        console.log(`    pass 2 in ${r.seconds.toFixed(0)}s, ${bytes} bytes`);
    });

    it("a wave whose endpoint is unreachable fails `pulumi up` with the reason within the configured wait", function () {
        const r = up("e2e-unreachable");
        assert.notEqual(r.code, 0, `pulumi up passed:\n${r.output}`);
        assert.match(r.output, /tunnel|stunnel|reachable/i, `no reason in the output:\n${r.output}`);
        // the stunnel wait, pod start-up and the engine's own work; far below the default 10 minutes
        assert.ok(r.seconds < STUNNEL_WAIT_SECONDS + 240, `took ${r.seconds}s`);
        assertSourceUntouched(WAVE_UNREACHABLE);
        console.log(`    failed as expected in ${r.seconds.toFixed(0)}s`);
    });

    it("the next wave removes wave 1's transfer pods but keeps its destination PVCs and data", function () {
        assert.ok(transferPods(DST, "e2e-wave-1").length > 0, "no wave-1 transfer pods on the destination before the switch");
        pulumiOk(work, project, ["config", "set", "--stack", "e2e", "dvm:wave", "waves/e2e-2.yaml"]);
        pulumiOk(work, project, ["config", "set", "--stack", "e2e", "dvm:pass", "1"]);
        const r = up("e2e");
        assert.equal(r.code, 0, r.output);
        assertSucceeded(migration("e2e"), "e2e-wave-2", WAVE2);
        waitFor("wave-1 transfer pods to go", 120, () =>
            transferPods(SRC, "e2e-wave-1").length + transferPods(DST, "e2e-wave-1").length === 0 ? true : undefined);
        for (const p of WAVE1) {
            const pvc = json(DST, ["-n", p.targetNs, "get", "pvc", p.targetPvc]);
            assert.equal(pvc.status.phase, "Bound", `${p.targetNs}/${p.targetPvc}`);
        }
        assertDataEqual([...WAVE1, ...WAVE2]);
        assertSourceUntouched([...WAVE1, ...WAVE2, ...WAVE_UNREACHABLE]);
    });

    it("cleans up: no Deployment, Service (NodePort), Job, pod, Secret or ConfigMap of its waves stays on either cluster", function () {
        assert.ok(leftovers(DST, WAVES).length > 0, "control: the suite's last wave is still deployed before the clean-up");
        cleanUp();
        assert.deepEqual(leftovers(SRC, WAVES), [], "source cluster");
        assert.deepEqual(leftovers(DST, WAVES), [], "destination cluster");
    });
});

function requireClustersQuietly(): boolean {
    try {
        requireClusters("`make e2e`");
        return true;
    } catch {
        return false;
    }
}
