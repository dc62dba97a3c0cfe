// End to end, the concurrency budget: a wave of 4 namespaces with dvm:maxConcurrentNamespaces 2 through the real engine
// between the local clusters. While `pulumi up` runs, the source cluster is sampled every second: never more than 2
// source transfer pods exist unfinished at once (and 2 do at some point: the budget is not a queue of one), every
// namespace finishes, each lane's later Job is created only after the earlier one completed, and the destination
// holds what the source holds. Then a second pass (every Job and progress record replaced) keeps the budget too.
// hack/e2e.sh brings the clusters up, puts the toolchain on PATH and sets DVM_KUBECTL / DVM_CLUSTERS_DIR.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { transferTurns } from "../../components/budget";
import { LABELS, ROLE_SOURCE } from "../../contract";
import { diff, generate, snapshot } from "../support/dataset";
import {
    createPvc, deleteNamespaces, DST, DST_NODE_ADDRESS, json, KUBECONFIG, KUBECTL, PROJECT_ENTRIES, PvcSpec, requireClusters,
    resetVolumes, SRC, stackYaml, volumeDir, waveYaml,
} from "../support/clusters";
import { copyProject, pulumi, pulumiAsync, pulumiOk, removeWorkDir, RunResult, workDir } from "../support/engine";

const BUDGET = 2;
const WAVE = "perf-budget";
const PVCS: PvcSpec[] = [1, 2, 3, 4].map((i) => ({ ns: `perf-b${i}`, pvc: "data", targetNs: `perf-b${i}`, targetPvc: "data" }));
const NAMESPACES = PVCS.map((p) => p.ns);

interface Sample { t: number; unfinished: string[] }

/** The wave's source transfer pods that exist and have not finished, per namespace. */
function unfinishedSourcePods(): string[] {
    const r = spawnSync(KUBECTL, ["--kubeconfig", KUBECONFIG, "--context", SRC, "get", "pods", "-A", "-l", `${LABELS.wave}=${WAVE},${LABELS.role}=${ROLE_SOURCE}`,
        "-o", "jsonpath={range .items[*]}{.metadata.namespace} {.status.phase}{\"\\n\"}{end}"], { encoding: "utf8", timeout: 20000 });
    if (r.status !== 0) return [];
    return r.stdout.split("\n").filter((l) => l.trim() !== "").map((l) => l.split(" ")).filter(([, phase]) => phase !== "Succeeded" && phase !== "Failed").map(([ns]) => ns);
}

/** `pulumi up` while sampling the source pods once a second. */
async function upSampled(work: string, project: string, stack: string): Promise<{ r: RunResult; samples: Sample[] }> {
    const samples: Sample[] = [];
    let running = true;
    const sampler = (async () => {
        while (running) {
            samples.push({ t: Date.now(), unfinished: unfinishedSourcePods() });
            await new Promise((res) => setTimeout(res, 1000));
        }
    })();
    const r = await pulumiAsync(work, project, ["up", "--yes", "--skip-preview", "--stack", stack]);
    running = false;
    await sampler;
    return { r, samples };
}

describe("e2e perf: dvm:maxConcurrentNamespaces between two real clusters", function () {
    let work = "";
    let project = "";
    const sources = new Map<string, ReturnType<typeof snapshot>>();
    // the lanes the program computes for this wave (equal capacities: round robin)
    const turns = transferTurns(PVCS.map((p) => ({ source: p.ns, target: p.targetNs, pvcs: [{ source: p.pvc, target: p.targetPvc, capacity: "1Gi", accessModes: ["ReadWriteOnce"], verify: false }] })), BUDGET);

    before(function () {
        requireClusters("`make e2e` (or DVM_E2E_KEEP_CLUSTERS=1 bash hack/e2e.sh --grep 'e2e perf')");
        deleteNamespaces(SRC, NAMESPACES);
        deleteNamespaces(DST, NAMESPACES);
        resetVolumes();
        for (const p of PVCS) {
            spawnSync(KUBECTL, ["--kubeconfig", KUBECONFIG, "--context", SRC, "create", "namespace", p.ns], { encoding: "utf8" });
            const dir = createPvc(SRC, p.ns, p.pvc);
            generate(dir, { smallFiles: 300, largeMiB: 16, owners: true });
            sources.set(p.ns, snapshot(dir, ["lost+found"]));
        }
        work = workDir("e2e-perf");
        project = copyProject(work, PROJECT_ENTRIES);
        fs.mkdirSync(path.join(project, "stacks"), { recursive: true });
        fs.writeFileSync(path.join(project, "waves", "perf-budget.yaml"), waveYaml(WAVE, PVCS));
        fs.writeFileSync(path.join(project, "stacks", "Pulumi.perf.yaml"),
            stackYaml("waves/perf-budget.yaml", DST_NODE_ADDRESS, 120, { "dvm:maxConcurrentNamespaces": String(BUDGET) }));
        pulumiOk(work, project, ["stack", "init", "perf"]);
    });

    after(function () {
        if (work) {
            // the wave's objects first (transfer pods, Services), then the namespaces on both clusters
            pulumi(work, project, ["destroy", "--yes", "--skip-preview", "--stack", "perf"]);
            removeWorkDir(work);
        }
        deleteNamespaces(SRC, NAMESPACES);
        deleteNamespaces(DST, NAMESPACES);
    });

    function check(label: string, r: RunResult, samples: Sample[], pass: number): void {
        assert.equal(r.code, 0, `${label}: ${r.output}`);
        const peak = Math.max(...samples.map((s) => s.unfinished.length));
        const over = samples.filter((s) => s.unfinished.length > BUDGET);
        assert.deepEqual(over.map((s) => s.unfinished), [], `${label}: more than ${BUDGET} source pods at once`);
        assert.equal(peak, BUDGET, `${label}: at most ${peak} source pod(s) were seen at once in ${samples.length} samples: the budget allows ${BUDGET}`);
        const out = JSON.parse(pulumiOk(work, project, ["stack", "output", "migration", "--json", "--stack", "perf"]).stdout);
        assert.equal(out.pass, pass);
        for (const p of PVCS) {
            const rec = out.namespaces?.[p.ns]?.pvcs?.[p.pvc];
            assert.equal(rec?.phase, "Succeeded", `${label}: ${p.ns}/${p.pvc}: ${JSON.stringify(rec)}`);
            const d = diff(sources.get(p.ns)!, snapshot(volumeDir(DST, p.targetNs, p.targetPvc)), { owners: true });
            assert.deepEqual(d.slice(0, 20), [], `${label}: ${p.ns} differs (${d.length} differences)`);
        }
        // each lane's later Job was created only after the earlier one had completed (1 s resolution)
        const job = (ns: string) => (json(SRC, ["-n", ns, "get", "jobs", "-l", `${LABELS.wave}=${WAVE},${LABELS.pass}=${pass}`]).items ?? [])[0];
        turns.forEach((t, i) => {
            if (t === undefined) return;
            const before = job(NAMESPACES[t]);
            const after = job(NAMESPACES[i]);
            assert.ok(before?.status?.completionTime && after, `${label}: Jobs of ${NAMESPACES[t]} and ${NAMESPACES[i]}`);
            assert.ok(Date.parse(after.metadata.creationTimestamp) >= Date.parse(before.status.completionTime),
                `${label}: ${NAMESPACES[i]}'s Job was created at ${after.metadata.creationTimestamp}, before ${NAMESPACES[t]}'s completed at ${before.status.completionTime}`);
        });
        console.log(`    ${label}: pulumi up ${r.seconds.toFixed(0)} s, at most ${peak} source pods at once (${samples.length} samples)`);
    }

    it(`a wave of 4 namespaces runs at most ${BUDGET} source pods at once; all finish with equal data`, async function () {
        const { r, samples } = await upSampled(work, project, "perf");
        check("pass 1", r, samples, 1);
    });

    it("another pass (every Job and progress record replaced) keeps the budget", async function () {
        pulumiOk(work, project, ["config", "set", "--stack", "perf", "dvm:pass", "2"]);
        const { r, samples } = await upSampled(work, project, "perf");
        check("pass 2", r, samples, 2);
    });
});
