// `dvm check`: the pre-flight table of a plan against two (fake) Kubernetes APIs through @kubernetes/client-node -
// permissions by SelfSubjectAccessReview for every row of the access table, storage classes, existing destination
// PVCs, quotas, Pod Security, the endpoint, the image - creating nothing; and the command itself (stack config read
// through a stand-in `pulumi` on PATH, the table, --json, the exit code).
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { KubeConfig } from "@kubernetes/client-node";
import { accessRows, rbacRules } from "../../components/access";
import { checkTable } from "../../cli/check";
import { CHECK_READS, CheckResult, quotaNeeds, requiredLevel, runChecks } from "../../cli/check/checks";
import { main } from "../../cli/main";
import { Plan } from "../../config/plan";
import { LABELS, MANAGED_BY, PSA_LABELS } from "../../contract";
import { kubeConfig } from "../../kube";
import { KubeObject } from "../../kube/workloads";
import { Attributes, FakeCluster, FakeClusterOptions, obj, startFakeCluster } from "../support/fake-cluster";
import { makePlan } from "../support/mocks";

const WAVE = {
    name: "wave-1",
    namespaces: [
        { name: "shop", pvcs: [{ name: "db", capacity: "10Gi", storageClass: "fast" }, { name: "media", capacity: "5Gi", accessModes: ["ReadWriteMany"] }] },
        { name: "wiki", targetNamespace: "wiki-west", pvcs: [{ name: "pages", capacity: "2Gi", storageClass: "fast" }] },
    ],
};
const ROUTE = { type: "route", subdomain: "apps.dst.example.com" };
const plan = (config: Record<string, unknown> = {}, wave: unknown = WAVE): Plan => makePlan({ destination: { context: "dst", endpoint: ROUTE }, ...config }, wave);

const SOURCE_OBJECTS = (): KubeObject[] => [
    obj.namespace("shop"), obj.namespace("wiki"),
    obj.pvc("shop", "db", { capacity: "10Gi" }), obj.pvc("shop", "media", { capacity: "5Gi", modes: ["ReadWriteMany"] }),
    obj.pvc("wiki", "pages", { capacity: "2Gi" }),
    obj.pod("wiki", "editor", ["pages"], "node-1"),
];
const DEST_OBJECTS = (): KubeObject[] => [
    obj.namespace("shop"),
    obj.storageClass("fast", "ebs.csi.aws.com"), obj.storageClass("standard", "ebs.csi.aws.com", true),
];

interface Pair { src: FakeCluster; dst: FakeCluster; close(): Promise<void>; kcs(): { source: { kc: KubeConfig }; destination: { kc: KubeConfig } } }

async function pair(o: { src?: Partial<FakeClusterOptions>; dst?: Partial<FakeClusterOptions> } = {}): Promise<Pair> {
    const src = await startFakeCluster({ objects: SOURCE_OBJECTS(), ...o.src });
    const dst = await startFakeCluster({ objects: DEST_OBJECTS(), groups: ["route.openshift.io/v1"], ...o.dst });
    return {
        src, dst,
        close: async () => { await src.close(); await dst.close(); },
        kcs: () => ({
            source: { kc: kubeConfig({ kubeconfig: src.kubeconfig(undefined, "src") }) },
            destination: { kc: kubeConfig({ kubeconfig: dst.kubeconfig(undefined, "dst") }) },
        }),
    };
}

async function checked(p: Plan, o: Parameters<typeof pair>[0] = {}): Promise<{ results: CheckResult[]; pair: Pair }> {
    const pr = await pair(o);
    try {
        return { results: await runChecks(p, pr.kcs()), pair: pr };
    } finally {
        await pr.close();
    }
}

const find = (rs: CheckResult[], check: string, subject?: string) => rs.filter((r) => r.check === check && (subject === undefined || r.subject === subject));
const fails = (rs: CheckResult[]) => rs.filter((r) => r.status === "fail");
const show = (rs: CheckResult[]) => checkTable(rs, "(results)");

describe("check: a plan against both clusters", function () {
    it("passes a plan that fits, asking for every verb of every access row in every namespace, and creates nothing", async () => {
        const p = plan({ transferImage: "registry.example.com/dvm/transfer:1.0" }); // a tag: the warning below
        const { results, pair: pr } = await checked(p);
        assert.deepStrictEqual(fails(results), [], show(results));
        for (const c of ["api server", "permissions", "storage class", "source PVC", "destination PVC", "pod security", "resource quota", "endpoint", "transfer image"]) {
            assert.ok(find(results, c).length > 0, `no ${c} row:\n${show(results)}`);
        }
        const expected = (cluster: "source" | "destination", namespaces: number) =>
            accessRows(p, cluster).reduce((n, r) => n + (r.verbs.length + (r.optional?.length ?? 0)) * (r.scope === "cluster" ? 1 : namespaces), 0);
        assert.strictEqual(pr.src.reviews.length, expected("source", 2));
        assert.strictEqual(pr.dst.reviews.length, expected("destination", 2));
        assert.ok(pr.dst.reviews.some((a) => a.resource === "routes" && a.group === "route.openshift.io" && a.verb === "create" && a.namespace === "wiki-west"));
        assert.ok(pr.dst.reviews.some((a) => a.resource === "namespaces" && a.verb === "get" && a.name === "wiki-west"));
        assert.ok(pr.dst.reviews.some((a) => a.resource === "namespaces" && a.verb === "create" && a.name === undefined), "create is asked without a name");
        assert.ok(pr.src.reviews.some((a) => a.resource === "pods" && a.subresource === "log" && a.verb === "get" && a.namespace === "shop"));
        assert.deepStrictEqual([...pr.src.writes, ...pr.dst.writes], [], "only reads and access reviews");
        // the warnings a reviewer should see: the image tag, the RWO volume in use elsewhere than nodeName
        assert.match(find(results, "transfer image")[0].detail, /not pinned by digest/);
        const pages = find(results, "source PVC", "wiki/pages")[0];
        assert.strictEqual(pages.status, "warn");
        assert.match(pages.fix!, /set waves\/w\.yaml: namespaces\[1\]\.nodeName: node-1/);
        assert.match(find(results, "destination PVC", "wiki-west/pages")[0].detail, /will be created: 2Gi, ReadWriteOnce, class fast/);
        assert.match(find(results, "storage class", "standard (default)")[0].detail, /for shop\/media/);
    });

    it("a user granted exactly the access table plus CHECK_READS gets a clean check, for every endpoint kind", async () => {
        type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
        const rbac = (rules: Rule[]) => (a: Attributes) => rules.some((r) => r.apiGroups.includes(a.group) && r.resources.includes(a.subresource ? `${a.resource}/${a.subresource}` : a.resource) && r.verbs.includes(a.verb));
        const nginx: KubeObject = { kind: "IngressClass", metadata: { name: "nginx", annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } }, spec: { controller: "k8s.io/ingress-nginx" } };
        for (const endpoint of [ROUTE, { type: "ingress", subdomain: "apps.dst.example.com" }, { type: "nodePort", nodeAddress: "192.0.2.10", nodePort: 30999 }, { type: "loadBalancer" }]) {
            const p = plan({ destination: { context: "dst", endpoint }, security: { runAsRoot: true } });
            const user = (side: "source" | "destination") => ({ "admin-token": { name: `dvm-${side}`, allow: rbac([...rbacRules(p, side), ...CHECK_READS[side]]) } });
            const { results } = await checked(p, { src: { users: user("source") }, dst: { users: user("destination"), objects: [...DEST_OBJECTS(), nginx] } });
            assert.deepStrictEqual(results.filter((r) => r.status !== "ok" && r.check !== "transfer image" && r.subject !== "wiki/pages"), [], `${endpoint.type}:\n${show(results)}`);
        }
    });

    it("a missing destination storage class fails, naming the wave-file path and the classes there are", async () => {
        const wave = JSON.parse(JSON.stringify(WAVE));
        wave.namespaces[1].pvcs[0].storageClass = "gone";
        const { results } = await checked(plan({}, wave));
        const f = fails(results);
        assert.strictEqual(f.length, 1, show(results));
        assert.deepStrictEqual([f[0].cluster, f[0].check, f[0].subject], ["destination", "storage class", "gone"]);
        assert.match(f[0].detail, /does not exist on the destination \(it has: fast, standard\); needed by wiki-west\/pages/);
        assert.match(f[0].fix!, /set waves\/w\.yaml: namespaces\[1\]\.pvcs\[0\]\.storageClass to one of: fast, standard/);
        // and PVCs without a class need a default
        const noDefault = await checked(plan(), { dst: { objects: [obj.namespace("shop"), obj.storageClass("fast", "x")] } });
        assert.match(fails(noDefault.results).map((r) => r.detail).join("\n"), /shop\/media name no storage class and the destination has no default class \(it has: fast\)/);
    });

    it("a user without a permission fails on that kind, with the verbs, namespaces, user and a fix; optional ones warn", async () => {
        const narrow = (a: Attributes) => !(a.resource === "configmaps" && a.verb === "delete") && a.resource !== "events";
        const { results } = await checked(plan(), { dst: { users: { "admin-token": { name: "system:serviceaccount:dvm:narrow", allow: narrow } } } });
        const f = fails(results);
        assert.strictEqual(f.length, 1, show(results));
        assert.deepStrictEqual([f[0].cluster, f[0].check, f[0].subject], ["destination", "permissions", "configmaps"]);
        assert.match(f[0].detail, /user system:serviceaccount:dvm:narrow may not delete \(in shop, wiki-west\): the destination transfer pod's scripts/);
        assert.match(f[0].fix!, /grant user system:serviceaccount:dvm:narrow the verbs delete on configmaps in shop, wiki-west .*kubectl --context dst auth can-i delete configmaps -n shop/);
        const w = find(results, "permissions", "events").find((r) => r.cluster === "destination")!;
        assert.strictEqual(w.status, "warn");
        assert.match(w.detail, /may not list \(in shop, wiki-west\), watch .*pulumi up works without it/);
    });

    it("a ResourceQuota without room fails naming the key; an earlier pass's transfer pod is not counted twice", async () => {
        const quota: KubeObject = { kind: "ResourceQuota", metadata: { name: "storage", namespace: "shop" }, spec: { hard: { "requests.storage": "12Gi", pods: "10" } }, status: { hard: { "requests.storage": "12Gi", pods: "10" }, used: { "requests.storage": "0", pods: "9" } } };
        const { results } = await checked(plan(), { dst: { objects: [...DEST_OBJECTS(), quota] } });
        const f = fails(results);
        assert.strictEqual(f.length, 1, show(results));
        assert.match(f[0].detail, /ResourceQuota storage has no room: requests\.storage: 0 B used \+ 15\.0 GiB > 12\.0 GiB/);
        assert.match(f[0].fix!, /kubectl --context <destination> -n shop edit resourcequota storage/);
        const p = plan();
        assert.deepStrictEqual(quotaNeeds(p, "destination", [], undefined, true), {}, "an earlier pass: the transfer objects exist, no PVC is new");
        const fresh = quotaNeeds(p, "destination", p.namespaces[0].pvcs, "standard", false);
        assert.strictEqual(fresh.pods, 1);
        assert.strictEqual(fresh["standard.storageclass.storage.k8s.io/requests.storage"], 5 * 2 ** 30);
        assert.strictEqual(fresh["fast.storageclass.storage.k8s.io/persistentvolumeclaims"], 1);
        assert.ok(Math.abs(fresh["requests.cpu"] - 0.15) < 1e-9, `rsyncd + stunnel requests: ${fresh["requests.cpu"]}`);
        assert.deepStrictEqual(Object.keys(quotaNeeds(p, "source", [], undefined, true)).sort(), ["count/pods", "cpu", "limits.cpu", "limits.memory", "memory", "pods", "requests.cpu", "requests.memory"]);
    });

    it("Pod Security: root transfer pods in a namespace enforcing baseline fail unless dvm labels it", async () => {
        assert.strictEqual(requiredLevel(plan().security), "restricted");
        assert.strictEqual(requiredLevel(plan({ security: { runAsRoot: true } }).security), "privileged", "DAC_READ_SEARCH is beyond baseline");
        const strict = { src: { objects: [...SOURCE_OBJECTS().filter((o) => o.metadata?.name !== "shop" || o.kind !== "Namespace"), obj.namespace("shop", { [PSA_LABELS[0]]: "baseline" })] } };
        const bad = await checked(plan({ security: { runAsRoot: true, podSecurityLabels: false } }), strict);
        const f = fails(bad.results);
        assert.deepStrictEqual(f.map((r) => `${r.cluster} ${r.check} ${r.subject}`), ["source pod security shop"], show(bad.results));
        assert.match(f[0].detail, /dvm:security\.runAsRoot needs privileged, but the namespace enforces baseline/);
        assert.match(f[0].fix!, /pulumi config set --path dvm:security\.podSecurityLabels true/);
        const good = await checked(plan({ security: { runAsRoot: true } }), strict);
        assert.deepStrictEqual(fails(good.results), [], show(good.results));
        assert.match(find(good.results, "pod security", "shop")[0].detail, /dvm labels the namespace privileged/);
    });

    it("existing destination PVCs: a different class fails; one dvm did not create warns about --delete; dvm's own fits", async () => {
        const theirs = obj.pvc("shop", "db", { capacity: "10Gi", storageClass: "standard" });
        const ours = obj.pvc("shop", "media", { capacity: "5Gi", storageClass: "standard", modes: ["ReadWriteMany"], labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.wave]: "wave-1" } });
        const { results } = await checked(plan(), { dst: { objects: [...DEST_OBJECTS(), theirs, ours] } });
        const db = find(results, "destination PVC", "shop/db")[0];
        assert.strictEqual(db.status, "fail", show(results));
        assert.match(db.detail, /its storage class is standard, the wave asks for fast/);
        assert.match(db.fix!, /set waves\/w\.yaml: namespaces\[0\]\.pvcs\[0\]\.storageClass: standard/);
        assert.match(find(results, "destination PVC", "shop/media")[0].detail, /exists \(created by dvm, wave wave-1\), Bound, fits/);
        const other = await checked(plan(), { dst: { objects: [...DEST_OBJECTS(), obj.pvc("shop", "db", { capacity: "10Gi", storageClass: "fast" })] } });
        const w = find(other.results, "destination PVC", "shop/db")[0];
        assert.strictEqual(w.status, "warn");
        assert.match(w.detail, /not created by dvm: rsync --delete makes its content equal to the source's/);
        const small = await checked(plan(), { dst: { objects: [...DEST_OBJECTS(), obj.pvc("shop", "db", { capacity: "4Gi", storageClass: "fast" })] } });
        assert.match(find(small.results, "destination PVC", "shop/db")[0].detail, /holds 4\.0 GiB, less than the wave's 10Gi, and its class fast does not allow expansion/);
    });

    it("the endpoint: route needs the Route API; ingress needs its IngressClass (or a default); a taken node port fails", async () => {
        const noRoute = await checked(plan(), { dst: { groups: [] } });
        const r = find(noRoute.results, "endpoint")[0];
        assert.deepStrictEqual([r.status, r.subject], ["fail", "route"]);
        assert.match(r.fix!, /pulumi config set --path dvm:destination\.endpoint\.type/);
        const ingress = { type: "ingress", subdomain: "apps.dst.example.com" };
        const none = await checked(plan({ destination: { context: "dst", endpoint: ingress } }));
        assert.match(find(none.results, "endpoint")[0].detail, /no IngressClass is the default \(classes: none\)/);
        const nginx: KubeObject = { kind: "IngressClass", metadata: { name: "nginx", annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } }, spec: { controller: "k8s.io/ingress-nginx" } };
        const ok = await checked(plan({ destination: { context: "dst", endpoint: ingress } }), { dst: { objects: [...DEST_OBJECTS(), nginx] } });
        assert.deepStrictEqual(find(ok.results, "endpoint").map((x) => x.status), ["ok"], show(ok.results));
        const named = await checked(plan({ destination: { context: "dst", endpoint: { ...ingress, ingressClass: "haproxy" } } }), { dst: { objects: [...DEST_OBJECTS(), nginx] } });
        assert.match(find(named.results, "endpoint")[0].fix!, /dvm:destination\.endpoint\.ingressClass nginx/);
        const svc: KubeObject = { kind: "Service", metadata: { name: "other", namespace: "x" }, spec: { type: "NodePort", ports: [{ port: 80, nodePort: 30873 }] } };
        const np = await checked(plan({ destination: { context: "dst", endpoint: { type: "nodePort", nodeAddress: "192.0.2.10", nodePort: 30873 } } }), { dst: { objects: [...DEST_OBJECTS(), svc] } });
        assert.match(find(np.results, "endpoint")[0].detail, /node port 30873 is taken by Service x\/other/);
    });

    it("the source: a missing namespace or PVC fails naming the wave path; a digest-pinned image is ok", async () => {
        const wave = JSON.parse(JSON.stringify(WAVE));
        wave.namespaces[0].pvcs[1].name = "gone";
        wave.namespaces.push({ name: "nowhere", pvcs: [{ name: "x", capacity: "1Gi" }] });
        const image = `registry.example.com/dvm-transfer@sha256:${"a".repeat(64)}`;
        const { results } = await checked(plan({ transferImage: image }, wave));
        assert.match(find(results, "source PVC", "shop/gone")[0].fix!, /fix or remove waves\/w\.yaml: namespaces\[0\]\.pvcs\[1\]\.name/);
        assert.match(find(results, "namespace", "nowhere")[0].fix!, /fix or remove waves\/w\.yaml: namespaces\[2\]\.name/);
        assert.deepStrictEqual(find(results, "transfer image").map((r) => [r.status, r.detail]), [["ok", "pinned by digest"]]);
    });

    it("an API server that does not answer fails once, with the stack key to fix; its other checks are skipped", async () => {
        const pr = await pair();
        const dead = kubeConfig({ kubeconfig: pr.dst.kubeconfig(undefined, "dst").replace(pr.dst.url, "http://127.0.0.1:1") });
        try {
            const results = await runChecks(plan(), { source: pr.kcs().source, destination: { kc: dead } });
            const d = results.filter((r) => r.cluster === "destination");
            assert.deepStrictEqual(d.map((r) => [r.status, r.check]), [["fail", "api server"]], show(results));
            assert.match(d[0].detail, /not reachable with dvm:destination: cannot read \/version/);
            const none = await runChecks(plan(), { source: pr.kcs().source, destination: { error: 'dvm:destination.context: context "x" is not in the destination kubeconfig' } });
            assert.match(none.find((r) => r.cluster === "destination")!.detail, /context "x" is not in the destination kubeconfig/);
        } finally {
            await pr.close();
        }
    });

    it("the table: one line per result, the fix under each problem, a summary", () => {
        const t = checkTable([
            { status: "ok", cluster: "source", check: "api server", subject: "https://a", detail: "reachable" },
            { status: "fail", cluster: "destination", check: "storage class", subject: "gone", detail: "does not exist", fix: "set storageClass" },
        ], "dvm check: stack s");
        assert.strictEqual(t, [
            "dvm check: stack s",
            "RESULT  CLUSTER      CHECK          SUBJECT    DETAIL",
            "ok      source       api server     https://a  reachable",
            "FAIL    destination  storage class  gone       does not exist",
            "        fix: set storageClass",
            "",
            "1 ok, 0 warnings, 1 failure: `pulumi up` would fail; fix the FAIL lines first",
        ].join("\n"));
    });
});

describe("check: the command (stack config through the pulumi CLI)", function () {
    let tmp = "";
    let pr: Pair;
    const cwd = process.cwd();
    const PATH = process.env.PATH;
    function capture(): { stream: NodeJS.WriteStream; text: () => string } {
        let buf = "";
        return { stream: { isTTY: false, write: (s: string) => { buf += s; return true; } } as unknown as NodeJS.WriteStream, text: () => buf };
    }
    /** A project with a wave and a stand-in `pulumi` that answers `config --json --show-secrets` with `config`. */
    function project(config: Record<string, unknown>, wave: string): void {
        fs.writeFileSync(path.join(tmp, "Pulumi.yaml"), "name: dvm\nruntime: nodejs\n");
        fs.mkdirSync(path.join(tmp, "waves"), { recursive: true });
        fs.writeFileSync(path.join(tmp, "waves", "w.yaml"), wave);
        const answer = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? { value: v, secret: false } : { value: JSON.stringify(v), objectValue: v, secret: k !== "dvm:wave" }]));
        fs.writeFileSync(path.join(tmp, "config.json"), JSON.stringify(answer));
        fs.writeFileSync(path.join(tmp, "bin", "pulumi"), `#!/bin/sh\n[ "$1 $2 $3 $4 $5" = "config --json --show-secrets --stack s" ] || { echo "unexpected: $*" >&2; exit 9; }\ncat '${path.join(tmp, "config.json")}'\n`, { mode: 0o755 });
    }
    const WAVE_TEXT = "name: wave-1\nnamespaces:\n  - name: shop\n    pvcs:\n      - {name: db, capacity: 10Gi, storageClass: fast}\n";
    before(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-check-"));
        fs.mkdirSync(path.join(tmp, "bin"));
        pr = await pair();
        process.env.PATH = `${path.join(tmp, "bin")}${path.delimiter}${PATH}`;
        process.chdir(tmp);
    });
    after(async () => {
        process.chdir(cwd);
        process.env.PATH = PATH;
        await pr.close();
        fs.rmSync(tmp, { recursive: true, force: true });
    });
    const config = (extra: Record<string, unknown> = {}) => ({
        "dvm:source": { kubeconfig: pr.src.kubeconfig(undefined, "src") }, "dvm:destination": { kubeconfig: pr.dst.kubeconfig(undefined, "dst"), endpoint: ROUTE },
        "dvm:wave": "waves/w.yaml", ...extra,
    });

    it("prints the table and exits 0 when nothing fails; --json carries the same results", async () => {
        project(config(), WAVE_TEXT);
        const out = capture();
        assert.strictEqual(await main(["check", "--stack", "s"], out.stream), 0, out.text());
        assert.match(out.text(), /^dvm check: stack s, wave wave-1 \(waves\/w\.yaml\): 1 namespace, 1 PVC; nothing is created or changed\nRESULT {2}CLUSTER/);
        assert.match(out.text(), /\n\d+ ok, 1 warning, 0 failures$/m);
        const json = capture();
        assert.strictEqual(await main(["check", "--stack", "s", "--json"], json.stream), 0);
        const parsed = JSON.parse(json.text());
        assert.deepStrictEqual([parsed.ok, parsed.counts.fail, parsed.wave], [true, 0, { name: "wave-1", file: "waves/w.yaml" }]);
        assert.ok(parsed.results.some((r: CheckResult) => r.check === "permissions" && r.status === "ok"));
    });

    it("exits 1 on a failure; a bad stack config is the program's own configuration error, naming the key", async () => {
        project(config(), WAVE_TEXT.replace("fast", "slow"));
        const out = capture();
        assert.strictEqual(await main(["check", "--stack", "s"], out.stream), 1);
        assert.match(out.text(), /FAIL {4}destination {2}storage class +slow/);
        project(config({ "dvm:rsync": { bwlimt: 5 } }), WAVE_TEXT);
        await assert.rejects(main(["check", "--stack", "s"], capture().stream), /dvm:rsync\.bwlimt: unknown key \(did you mean 'bwlimit'\?\)/);
        await assert.rejects(main(["check"], capture().stream), /--stack is required: .*example: dvm check --stack my-pair/);
    });
});
