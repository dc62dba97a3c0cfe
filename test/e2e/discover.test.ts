// End to end on the local cluster pair: `dvm discover` (the compiled CLI, bin/dvm.js) reads seeded source namespaces
// - PVCs, a Deployment mounting one, the kubelet's numbers through the API server - and writes a wave file; `dvm
// check` passes it; `pulumi up` migrates it as it is, with kubeconfigs whose users hold exactly the permissions of
// components/access.ts (ServiceAccounts, tokens from the TokenRequest API), so the table `dvm check` asks for is
// also enough. `dvm check` fails, naming the fix, for a missing destination storage class and for a user that lacks
// one verb. Namespaces `disc-*`; cluster-scoped objects `dvm-disc-*`; everything is removed in after().
// hack/e2e.sh brings the clusters up, puts the toolchain on PATH and sets DVM_KUBECTL / DVM_CLUSTERS_DIR.

import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { rbacRules } from "../../components/access";
import { CHECK_READS } from "../../cli/check/checks";
import { parseWaveText } from "../../config/load";
import { validateWave } from "../../config/wave";
import { LABELS, MANAGED_BY } from "../../contract";
import { diff, Entry, generate, snapshot } from "../support/dataset";
import { makePlan } from "../support/mocks";
import { copyProject, engineEnv, pulumi, pulumiOk, removeWorkDir, repoRoot, RunResult, workDir } from "../support/engine";
import {
    createPvc, deleteNamespaces, DST, DST_NODE_ADDRESS, json, kubectl, kubectlOk, KUBECONFIG, PROJECT_ENTRIES, requireClusters, resetVolumes, SRC,
    stackYaml, STORAGE_CLASS, volumeDir, waitFor,
} from "../support/clusters";

const NS = ["disc-a", "disc-b"];
const RBAC_NS = "disc-rbac";
const PAUSE_IMAGE = "dvm.local/pause:3.10";
/** source PVCs seeded with data, and where discover must put them */
const SEEDED = [{ ns: "disc-a", pvc: "data" }, { ns: "disc-a", pvc: "cache" }, { ns: "disc-b", pvc: "pages" }];
/** The plan shape of the local stacks (support/clusters.ts stackYaml): nodePort endpoint, root with Pod Security labels. */
const localPlan = () => makePlan({ destination: { context: DST, endpoint: { type: "nodePort", nodeAddress: DST_NODE_ADDRESS } }, security: { runAsRoot: true, podSecurityLabels: true } });

describe("e2e: dvm discover and dvm check on the local clusters", function () {
    let work = "";
    let project = "";
    const policyPack = path.join(repoRoot, "policies");
    const rootPolicyConfig = path.join(policyPack, "config", "root.json");
    const sourceState = new Map<string, Map<string, Entry>>();
    const clusterObjects: string[] = [];

    /** The compiled CLI, run in the project copy with the engine's environment (it calls `pulumi config`). */
    function dvm(args: string[]): RunResult {
        const started = Date.now();
        const r = spawnSync(process.execPath, [path.join(repoRoot, "bin", "dvm.js"), ...args], { cwd: project, env: engineEnv(work), encoding: "utf8", timeout: 5 * 60 * 1000 });
        if (r.error) throw r.error;
        return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, output: r.stdout + r.stderr, seconds: (Date.now() - started) / 1000 };
    }

    function stack(name: string, yaml: string): void {
        fs.writeFileSync(path.join(project, "stacks", `Pulumi.${name}.yaml`), yaml);
        pulumiOk(work, project, ["stack", "init", name]);
    }

    /** A kubeconfig for ServiceAccount `sa` of `ns` on `context`'s cluster: a TokenRequest token, the cluster's CA. */
    function serviceAccountKubeconfig(context: string, ns: string, sa: string, rules: unknown[]): string {
        const role = `dvm-disc-${context}-${sa}`;
        clusterObjects.push(`${context} clusterrole/${role}`, `${context} clusterrolebinding/${role}`);
        kubectlOk(context, ["apply", "-f", "-"], JSON.stringify({
            apiVersion: "v1", kind: "List", items: [
                { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: sa, namespace: ns } },
                { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: role }, rules },
                { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: role }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role }, subjects: [{ kind: "ServiceAccount", name: sa, namespace: ns }] },
            ],
        }));
        const token = kubectlOk(context, ["-n", ns, "create", "token", sa, "--duration", "2h"]).trim();
        const view = JSON.parse(kubectlOk(context, ["config", "view", "--raw", "-o", "json"]));
        const clusterName = view.contexts.find((c: { name: string }) => c.name === context).context.cluster;
        const cluster = view.clusters.find((c: { name: string }) => c.name === clusterName).cluster;
        const file = path.join(work, `${context}-${sa}.kubeconfig`);
        fs.writeFileSync(file, [
            "apiVersion: v1", "kind: Config",
            "clusters:", `- name: ${context}`, "  cluster:", `    server: ${cluster.server}`, `    certificate-authority-data: ${cluster["certificate-authority-data"]}`,
            "users:", `- name: ${sa}`, "  user:", `    token: ${token}`,
            "contexts:", `- name: ${sa}`, `  context: {cluster: ${context}, user: ${sa}}`, `current-context: ${sa}`, "",
        ].join("\n"), { mode: 0o600 });
        return file;
    }

    function cleanUp(): void {
        deleteNamespaces(SRC, [...NS, RBAC_NS]);
        deleteNamespaces(DST, [...NS, RBAC_NS]);
        for (const c of [SRC, DST]) {
            const names = kubectl(c, ["get", "clusterrole,clusterrolebinding", "-o", "name"]).out.split("\n").filter((n) => n.includes("/dvm-disc-"));
            if (names.length) kubectl(c, ["delete", ...names, "--ignore-not-found"]);
        }
    }

    before(function () {
        requireClusters("`make e2e`");
        const main = path.join(repoRoot, "build", "cli", "main.js");
        const stale = ["cli", "kube", "config", "components", "contract", "progress"].flatMap((d) => fs.readdirSync(path.join(repoRoot, d), { recursive: true }).map((f) => path.join(repoRoot, d, String(f))))
            .filter((f) => f.endsWith(".ts") && fs.statSync(f).mtimeMs > (fs.existsSync(main) ? fs.statSync(main).mtimeMs : 0));
        assert.deepEqual(stale.slice(0, 5), [], "the compiled CLI is older than its sources: run `make build` (make e2e does)");
        cleanUp();
        resetVolumes();
        for (const ns of [...NS, RBAC_NS]) kubectlOk(SRC, ["create", "namespace", ns]);
        kubectlOk(DST, ["create", "namespace", RBAC_NS]);
        for (const s of SEEDED) {
            const dir = createPvc(SRC, s.ns, s.pvc);
            generate(dir, { smallFiles: 60, largeMiB: s.pvc === "data" ? 6 : 1, owners: true });
            sourceState.set(`${s.ns}/${s.pvc}`, snapshot(dir));
        }
        // a PVC dvm created (a destination of an earlier migration into this cluster): never proposed
        kubectlOk(SRC, ["apply", "-f", "-"], JSON.stringify({
            apiVersion: "v1", kind: "PersistentVolumeClaim",
            metadata: { name: "restored", namespace: "disc-b", labels: { [LABELS.managedBy]: MANAGED_BY } },
            spec: { accessModes: ["ReadWriteOnce"], storageClassName: STORAGE_CLASS, resources: { requests: { storage: "1Gi" } } },
        }));
        // the application: a Deployment whose pod mounts disc-a/data (RWO) on the source's only node
        kubectlOk(SRC, ["apply", "-f", "-"], JSON.stringify({
            apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "disc-a" },
            spec: {
                replicas: 1, selector: { matchLabels: { app: "web" } },
                template: {
                    metadata: { labels: { app: "web" } },
                    spec: { containers: [{ name: "web", image: PAUSE_IMAGE, imagePullPolicy: "Never", volumeMounts: [{ name: "data", mountPath: "/data" }] }], volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }] },
                },
            },
        }));
        waitFor("disc-a/web's pod to run", 120, () => kubectl(SRC, ["-n", "disc-a", "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].status.phase}"]).out === "Running" ? true : undefined);
        // the kubelet measures a new pod's volumes on its own schedule (volumeStatsAggPeriod, a minute): discover reads
        // what it has, so wait until the summary has a number for disc-a/data before asking
        waitFor("the kubelet's summary to measure disc-a/data", 180, () => {
            const r = kubectl(SRC, ["get", "--raw", `/api/v1/nodes/${SRC}/proxy/stats/summary`]);
            if (r.code !== 0) return undefined;
            const pod = (JSON.parse(r.out).pods ?? []).find((p: any) => p.podRef?.namespace === "disc-a" && p.podRef?.name?.startsWith("web-"));
            return (pod?.volume ?? []).some((v: any) => v.pvcRef?.name === "data" && typeof v.usedBytes === "number") ? true : undefined;
        });

        work = workDir("discover");
        project = copyProject(work, PROJECT_ENTRIES);
        fs.mkdirSync(path.join(project, "stacks"), { recursive: true });
        stack("disc", stackYaml("waves/disc.yaml", DST_NODE_ADDRESS, 30));
    });

    after(function () {
        if (process.env.DVM_E2E_KEEP_DISCOVER) return;
        cleanUp();
        if (work) removeWorkDir(work);
    });

    let waveText = "";
    let plan: ReturnType<typeof validateWave>;

    it("dvm discover writes a wave the program validates: the seeded PVCs, their workload and node, nothing dvm created", function () {
        const r = dvm(["discover", "--stack", "disc", "--namespace", "disc-a", "--namespace", "disc-b", "--out", "waves/disc.yaml", "--name", "disc-wave"]);
        assert.equal(r.code, 0, r.output);
        assert.match(r.stderr, /wrote waves\/disc\.yaml: wave disc-wave, 2 namespaces \(disc-a, disc-b\), 3 PVCs/);
        waveText = fs.readFileSync(path.join(project, "waves", "disc.yaml"), "utf8");
        plan = validateWave(parseWaveText(waveText, "waves/disc.yaml"), "waves/disc.yaml");
        assert.deepEqual(plan.namespaces.map((n) => [n.source, n.target, n.nodeName ?? "-", n.pvcs.map((p) => `${p.source}:${p.storageClass}`).join()]), [
            ["disc-a", "disc-a", SRC, `cache:${STORAGE_CLASS},data:${STORAGE_CLASS}`],
            ["disc-b", "disc-b", "-", `pages:${STORAGE_CLASS}`],
        ]);
        for (const ns of plan.namespaces) for (const p of ns.pvcs) {
            const pv = json(SRC, ["get", "pv", json(SRC, ["-n", ns.source, "get", "pvc", p.source]).spec.volumeName]);
            assert.equal(p.capacity, pv.spec.capacity.storage, `${ns.source}/${p.source}: the status capacity (the bound volume's), not the request`);
        }
        assert.ok(!waveText.includes("restored"), "the PVC dvm created is not listed");
        assert.match(waveText, new RegExp(`# storageClass ${STORAGE_CLASS}: same name on the destination`));
        assert.match(waveText, new RegExp(`# mounted by Deployment/web; pod web-[a-z0-9]+-[a-z0-9]+ on ${SRC}\\n`));
        // the kubelet's summary was read through the API server (the local volumes are directories of one file system)
        assert.match(waveText, new RegExp(`# used .*(\\(kubelet of node ${SRC}\\)|the kubelet measures the whole file system)`));
        assert.match(waveText, new RegExp(`# nodeName ${SRC}: ReadWriteOnce data mounted there now`));
        console.log(`    the wave:\n${waveText.split("\n").map((l) => `      ${l}`).join("\n")}`);
    });

    it("dvm discover: a namespace that does not exist is an error naming it", function () {
        const r = dvm(["discover", "--stack", "disc", "--namespace", "disc-a", "--namespace", "disc-nowhere"]);
        assert.equal(r.code, 1, r.output);
        assert.match(r.stderr, /--namespace: namespace disc-nowhere does not exist on the source cluster \(stack disc dvm:source, context dvm-src\)/);
    });

    it("dvm check passes the discovered wave on the local pair", function () {
        const r = dvm(["check", "--stack", "disc"]);
        assert.equal(r.code, 0, r.output);
        assert.doesNotMatch(r.stdout, /^FAIL/m, r.stdout);
        assert.match(r.stdout, /^ok +source +permissions /m);
        assert.match(r.stdout, /^ok +destination +permissions /m);
        assert.match(r.stdout, new RegExp(`^ok +destination +storage class +${STORAGE_CLASS} `, "m"));
        console.log(r.stdout.split("\n").map((l) => `      ${l}`).join("\n"));
    });

    it("pulumi up migrates the wave as discover wrote it, with users holding only the access table's permissions", function () {
        const full = localPlan();
        const src = serviceAccountKubeconfig(SRC, RBAC_NS, "mover", [...rbacRules(full, "source"), ...CHECK_READS.source]);
        const dst = serviceAccountKubeconfig(DST, RBAC_NS, "mover", [...rbacRules(full, "destination"), ...CHECK_READS.destination]);
        stack("disc-least", stackYaml("waves/disc.yaml", DST_NODE_ADDRESS, 30)
            .replace(`kubeconfig: ${KUBECONFIG}\n    context: ${SRC}`, `kubeconfig: ${src}`)
            .replace(`kubeconfig: ${KUBECONFIG}\n    context: ${DST}`, `kubeconfig: ${dst}`));
        const before = createHash("sha256").update(fs.readFileSync(path.join(project, "waves", "disc.yaml"))).digest("hex");
        const c = dvm(["check", "--stack", "disc-least"]);
        assert.equal(c.code, 0, `dvm check with the table's permissions:\n${c.output}`);
        assert.match(c.stdout, /user system:serviceaccount:disc-rbac:mover may do every verb/);
        const r = pulumi(work, project, ["up", "--yes", "--skip-preview", "--stack", "disc-least", "--policy-pack", policyPack, "--policy-pack-config", rootPolicyConfig]);
        assert.equal(r.code, 0, r.output);
        const out = JSON.parse(pulumiOk(work, project, ["stack", "output", "migration", "--json", "--show-secrets", "--stack", "disc-least"]).stdout);
        assert.equal(out.wave, "disc-wave");
        for (const s of SEEDED) {
            assert.equal(out.namespaces[s.ns]?.pvcs?.[s.pvc]?.phase, "Succeeded", JSON.stringify(out));
            const d = diff(snapshot(volumeDir(SRC, s.ns, s.pvc), ["lost+found"]), snapshot(volumeDir(DST, s.ns, s.pvc)), { owners: true });
            assert.deepEqual(d.slice(0, 20), [], `${s.ns}/${s.pvc} differs on the destination (${d.length} differences)`);
            const now = snapshot(volumeDir(SRC, s.ns, s.pvc));
            assert.deepEqual(diff(sourceState.get(`${s.ns}/${s.pvc}`)!, now, { owners: true, rootTimes: true }).slice(0, 20), [], `source ${s.ns}/${s.pvc} changed`);
        }
        assert.equal(createHash("sha256").update(fs.readFileSync(path.join(project, "waves", "disc.yaml"))).digest("hex"), before, "the wave file was used as it is");
        console.log(`    pulumi up in ${r.seconds.toFixed(0)}s`);
    });

    it("dvm check fails, naming the fix, when a destination storage class is missing", function () {
        fs.writeFileSync(path.join(project, "waves", "disc-bad.yaml"), waveText.replace(`storageClass: ${STORAGE_CLASS}`, "storageClass: disc-no-such-class"));
        stack("disc-bad", stackYaml("waves/disc-bad.yaml", DST_NODE_ADDRESS, 30));
        const r = dvm(["check", "--stack", "disc-bad"]);
        assert.equal(r.code, 1, r.output);
        const fails = r.stdout.split("\n").filter((l) => l.startsWith("FAIL"));
        // the class is missing; and the PVC the earlier `pulumi up` made cannot change to it (a PVC's class is fixed)
        assert.equal(fails.length, 2, r.stdout);
        assert.match(fails[0], /^FAIL +destination +storage class +disc-no-such-class +does not exist on the destination \(it has: dvm-local\)/);
        assert.match(fails[1], /^FAIL +destination +destination PVC +disc-a\/cache +exists and does not fit: its storage class is dvm-local, the wave asks for disc-no-such-class/);
        assert.match(r.stdout, new RegExp(`fix: set waves/disc-bad\\.yaml: namespaces\\[0\\]\\.pvcs\\[0\\]\\.storageClass to one of: ${STORAGE_CLASS}`));
    });

    it("dvm check fails, naming the fix, when the destination user lacks a permission", function () {
        const full = localPlan();
        // everything the wave needs, except deleting ConfigMaps
        const rules = rbacRules(full, "destination").map((r) => (r.resources[0] === "configmaps" ? { ...r, verbs: r.verbs.filter((v) => v !== "delete") } : r));
        const dst = serviceAccountKubeconfig(DST, RBAC_NS, "narrow", [...rules, ...CHECK_READS.destination]);
        stack("disc-narrow", stackYaml("waves/disc.yaml", DST_NODE_ADDRESS, 30).replace(`kubeconfig: ${KUBECONFIG}\n    context: ${DST}`, `kubeconfig: ${dst}`));
        const r = dvm(["check", "--stack", "disc-narrow"]);
        assert.equal(r.code, 1, r.output);
        const fails = r.stdout.split("\n").filter((l) => l.startsWith("FAIL"));
        assert.equal(fails.length, 1, r.stdout);
        assert.match(fails[0], /^FAIL +destination +permissions +configmaps +user system:serviceaccount:disc-rbac:narrow may not delete \(in disc-a, disc-b\)/);
        assert.match(r.stdout, /fix: grant user system:serviceaccount:disc-rbac:narrow the verbs delete on configmaps in disc-a, disc-b .*auth can-i delete configmaps -n disc-a/);
    });
});
