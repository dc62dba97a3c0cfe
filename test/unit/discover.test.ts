// `dvm discover`: the storage class rules, the wave-file writer (every file it writes goes through the program's own
// parseWaveText + validateWave here, and keeps its comments), the split by --max-wave-bytes, and the command against
// a fake Kubernetes API (test/support/fake-cluster.ts) through @kubernetes/client-node - reads only.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { parseWaveText } from "../../config/load";
import { dns1123SubdomainError } from "../../config/rules";
import { validateWave } from "../../config/wave";
import { LABELS, MANAGED_BY } from "../../contract";
import { chooseClass, parseClassMap } from "../../cli/discover/classes";
import { discoverWaves, Inventory, SourcePvc, splitNamespaces, usage } from "../../cli/discover/wave";
import { main } from "../../cli/main";
import { StorageClassInfo } from "../../kube/cluster";
import { FakeCluster, obj, startFakeCluster } from "../support/fake-cluster";

const GiB = 2 ** 30;
const sc = (name: string, provisioner: string, isDefault = false): StorageClassInfo => ({ name, provisioner, isDefault, allowVolumeExpansion: false });
const SOURCE_CLASSES = [sc("gp2", "ebs.csi.aws.com", true), sc("local", "kubernetes.io/no-provisioner"), sc("ceph", "rbd.csi.ceph.com")];
const DEST_CLASSES = [sc("gp3", "ebs.csi.aws.com"), sc("gp3-fast", "ebs.csi.aws.com", true), sc("ceph", "rbd.csi.ceph.com"), sc("standard", "x")];
const NO_MAP = new Map<string, string>();

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
    let buf = "";
    const stream = { isTTY: false, write: (s: string) => { buf += s; return true; } } as unknown as NodeJS.WriteStream;
    return { stream, text: () => buf };
}

const pvc = (name: string, o: Partial<SourcePvc> = {}): SourcePvc => ({
    name, phase: "Bound", capacity: "10Gi", accessModes: ["ReadWriteOnce"], storageClass: "gp2", createdByDvm: false, workloads: [], pods: [], ...o,
});

/** Parses a written wave as `pulumi up` does. */
function validated(text: string) {
    return validateWave(parseWaveText(text, "w.yaml"), "w.yaml");
}

describe("discover: the destination storage class rules", () => {
    it("the map wins, even over a class of the same name; a mapped class the destination lacks is a warning", () => {
        const map = parseClassMap(["ceph=standard", "gp2=nope"], dns1123SubdomainError);
        assert.deepStrictEqual(chooseClass("ceph", SOURCE_CLASSES, DEST_CLASSES, map), { storageClass: "standard", rule: "map", note: "--storage-class-map ceph=standard" });
        const missing = chooseClass("gp2", SOURCE_CLASSES, DEST_CLASSES, map);
        assert.strictEqual(missing.storageClass, "nope");
        assert.match(missing.warning!, /--storage-class-map gp2=nope: the destination has no storage class "nope" \(it has: gp3, gp3-fast, ceph, standard\)/);
    });

    it("else the same name, else the same provisioner (its default first, the others named), else the destination's default", () => {
        assert.strictEqual(chooseClass("ceph", SOURCE_CLASSES, DEST_CLASSES, NO_MAP).rule, "same-name");
        const prov = chooseClass("gp2", SOURCE_CLASSES, DEST_CLASSES, NO_MAP);
        assert.deepStrictEqual([prov.rule, prov.storageClass], ["same-provisioner", "gp3-fast"]);
        assert.match(prov.note, /same provisioner ebs\.csi\.aws\.com as source class gp2 \(also: gp3\)/);
        const dflt = chooseClass("local", SOURCE_CLASSES, DEST_CLASSES, NO_MAP);
        assert.deepStrictEqual([dflt.rule, dflt.storageClass], ["default", "gp3-fast"]);
        assert.match(dflt.note, /no destination class named local or of provisioner kubernetes\.io\/no-provisioner/);
        const none = chooseClass(undefined, SOURCE_CLASSES, DEST_CLASSES, NO_MAP);
        assert.deepStrictEqual([none.rule, none.storageClass], ["default", "gp3-fast"], "a PVC without a class gets the destination's default");
    });

    it("nothing fits and no default: no class, and a warning that says what to pass; without a destination: unchecked", () => {
        const c = chooseClass("local", SOURCE_CLASSES, [sc("standard", "x")], NO_MAP);
        assert.deepStrictEqual([c.rule, c.storageClass], ["none", undefined]);
        assert.match(c.warning!, /set storageClass, or pass --storage-class-map local=<destination class>/);
        const u = chooseClass("gp2", SOURCE_CLASSES, undefined, NO_MAP);
        assert.deepStrictEqual([u.rule, u.storageClass], ["unchecked", "gp2"]);
        assert.match(u.note, /--stack or --destination-context/);
    });

    it("--storage-class-map errors name the flag and show an example", () => {
        assert.throws(() => parseClassMap(["gp2"], dns1123SubdomainError), /--storage-class-map "gp2" is not source=destination; example: --storage-class-map gp2=gp3-csi/);
        assert.throws(() => parseClassMap(["gp2=Fast_Class"], dns1123SubdomainError), /--storage-class-map "gp2=Fast_Class" destination class "Fast_Class" must be lowercase/);
        assert.throws(() => parseClassMap(["a=b", "a=c"], dns1123SubdomainError), /--storage-class-map maps a twice \(to b and c\)/);
    });
});

describe("discover: the wave-file writer", () => {
    const NOW = new Date("2026-11-21T05:00:00Z");
    const opts = { name: "wave-1", classMap: NO_MAP, command: "dvm discover --namespace shop", now: NOW };
    const inventory = (namespaces: Inventory["namespaces"]): Inventory => ({ source: "context src", destination: "context dst", namespaces, sourceClasses: SOURCE_CLASSES, destinationClasses: DEST_CLASSES });

    const shop = {
        name: "shop",
        pvcs: [
            pvc("db", { capacity: "20Gi", request: "16Gi", workloads: ["StatefulSet/db"], pods: [{ name: "db-0", node: "node-1", phase: "Running" }], stats: { usedBytes: 12 * GiB, capacityBytes: 20 * GiB } }),
            pvc("media", { capacity: "5Gi", storageClass: "ceph", accessModes: ["ReadWriteMany"], workloads: ["Deployment/web"], pods: [{ name: "web-1", node: "node-2", phase: "Running" }] }),
            pvc("raw", { volumeMode: "Block", capacity: "8Gi" }),
            pvc("later", { phase: "Pending", capacity: undefined, request: "1Gi" }),
            pvc("restored-by-dvm", { createdByDvm: true }),
        ],
    };

    it("round-trips through the program's wave validation, with every Bound file-system PVC as the cluster reports it", () => {
        const { waves, warnings } = discoverWaves(inventory([shop]), opts);
        assert.strictEqual(waves.length, 1);
        const plan = validated(waves[0].text);
        assert.strictEqual(plan.name, "wave-1");
        assert.deepStrictEqual(plan.namespaces.map((n) => [n.source, n.target, n.nodeName]), [["shop", "shop", "node-1"]]);
        assert.deepStrictEqual(plan.namespaces[0].pvcs.map((p) => [p.source, p.capacity, p.accessModes.join(), p.storageClass]), [
            ["db", "20Gi", "ReadWriteOnce", "gp3-fast"], // status capacity, not the request; same provisioner
            ["media", "5Gi", "ReadWriteMany", "ceph"],
        ]);
        assert.deepStrictEqual(warnings, []);
    });

    it("writes comments for the reviewer: the class rule, workloads and node, used bytes, what was left out and why", () => {
        const text = discoverWaves(inventory([shop]), opts).waves[0].text;
        const doc = YAML.parseDocument(text);
        assert.ok(doc.commentBefore?.includes("Written by dvm discover on 2026-11-21T05:00:00.000Z"), text);
        assert.match(text, /# db: 20Gi \(status capacity\), ReadWriteOnce, source class gp2\n\s+# storageClass gp3-fast: same provisioner ebs\.csi\.aws\.com as source class gp2 \(also: gp3\)\n\s+# mounted by StatefulSet\/db; pod db-0 on node-1\n\s+# used 12\.0 GiB of 20\.0 GiB \(kubelet of node node-1\)\n\s+- name: db\n/);
        assert.match(text, /# storageClass ceph: same name on the destination/);
        assert.match(text, /# nodeName node-1: ReadWriteOnce db mounted there now; the source transfer pod must run on that node\n\s+- name: shop/);
        assert.match(text, /# raw: left out - volumeMode Block: rsync copies file systems, not raw block devices\n\s+# - \{name: raw, capacity: 8Gi, accessModes: \[ReadWriteOnce\]\}/);
        assert.match(text, /# later: left out - Pending, not Bound/);
        assert.match(text, /# 1 PVC created by dvm left out/);
        assert.ok(!text.includes("restored-by-dvm"), "a PVC dvm created is never named");
        // the commented-out Block entry is valid YAML once uncommented: a reviewer may take it in on purpose
        const entry = /# (- \{name: raw.*\})/.exec(text)![1];
        assert.deepStrictEqual(YAML.parse(entry), [{ name: "raw", capacity: "8Gi", accessModes: ["ReadWriteOnce"] }]);
    });

    it("used bytes: measured only where the kubelet reports the volume itself; warned when above the proposed capacity", () => {
        const running = [{ name: "p", node: "n1", phase: "Running" }];
        assert.strictEqual(usage(pvc("a", { pods: running, stats: { usedBytes: 5 * GiB, capacityBytes: 10 * GiB } })).usedBytes, 5 * GiB);
        const shared = usage(pvc("a", { pods: running, stats: { usedBytes: 300 * GiB, capacityBytes: 900 * GiB } }));
        assert.strictEqual(shared.usedBytes, undefined);
        assert.match(shared.text, /the kubelet measures the whole file system the volume lives on \(300 GiB of 900 GiB\)/);
        assert.match(usage(pvc("a")).text, /no running pod mounts it/);
        assert.match(usage(pvc("a", { pods: running, statsProblem: "HTTP 403: forbidden" })).text, /used bytes unknown: HTTP 403: forbidden/);

        const over = discoverWaves(inventory([{ name: "shop", pvcs: [pvc("db", { capacity: "10Gi", pods: running, stats: { usedBytes: 10.5 * GiB, capacityBytes: 10.6 * GiB } })] }]), opts);
        assert.deepStrictEqual(over.warnings, ["shop/db: used 10.5 GiB exceeds the proposed capacity 10Gi: raise capacity, or the copy runs out of space"]);
        assert.match(over.waves[0].text, /# WARNING: used 10\.5 GiB exceeds the proposed capacity 10Gi/);
        assert.match(over.waves[0].text, /# 1 WARNING below: act on them before `pulumi up`\./);
    });

    it("RWO volumes mounted on two nodes: no nodeName and a warning; ReadWriteOncePod in use: quiesce first", () => {
        const ns = { name: "split", pvcs: [
            pvc("a", { pods: [{ name: "p1", node: "n1", phase: "Running" }] }),
            pvc("b", { pods: [{ name: "p2", node: "n2", phase: "Running" }] }),
            pvc("c", { accessModes: ["ReadWriteOncePod"], workloads: ["Deployment/x"], pods: [{ name: "p3", node: "n1", phase: "Running" }] }),
        ] };
        const { waves, warnings } = discoverWaves(inventory([ns]), opts);
        assert.strictEqual(validated(waves[0].text).namespaces[0].nodeName, undefined);
        assert.ok(warnings.some((w) => /split: ReadWriteOnce volumes are mounted on several nodes \(n1: a, c; n2: b\)/.test(w)), warnings.join("\n"));
        assert.ok(warnings.some((w) => /split\/c: ReadWriteOncePod: the transfer pod cannot mount it while p3 runs; quiesce Deployment\/x first/.test(w)), warnings.join("\n"));
    });

    it("a namespace without a migratable PVC is commented out; none at all is an error naming the namespaces", () => {
        const blockOnly = { name: "vm", pvcs: [pvc("disk", { volumeMode: "Block" })] };
        const { waves } = discoverWaves(inventory([shop, blockOnly]), opts);
        const plan = validated(waves[0].text);
        assert.deepStrictEqual(plan.namespaces.map((n) => n.source), ["shop"]);
        assert.match(waves[0].text, /# namespace vm: left out - no Bound file-system PVC to migrate\n\s+#\s+disk: left out - volumeMode Block/);
        assert.throws(() => discoverWaves(inventory([blockOnly, { name: "empty", pvcs: [] }]), opts), /nothing to migrate: namespace vm has disk: left out - volumeMode Block.*namespace empty has no PVCs/);
    });

    it("--max-wave-bytes splits namespaces into waves by used bytes (capacity where unknown), never a namespace", () => {
        const ns = (name: string, gib: number) => ({ name, pvcs: [pvc("data", { capacity: `${gib}Gi` })] });
        const inv = inventory([ns("a", 40), ns("b", 70), ns("c", 20), ns("d", 150), ns("e", 30)]);
        const { waves, warnings } = discoverWaves(inv, { ...opts, name: "shop", maxWaveBytes: 100 * GiB });
        assert.deepStrictEqual(waves.map((w) => [w.name, w.namespaces.join()]), [["shop-1", "d"], ["shop-2", "b,e"], ["shop-3", "a,c"]]);
        for (const w of waves) {
            assert.strictEqual(validated(w.text).name, w.name);
            assert.match(w.text, new RegExp(`# Wave ${waves.indexOf(w) + 1} of 3 \\(--max-wave-bytes 100 GiB\\)`));
        }
        assert.deepStrictEqual(warnings, ["wave shop-1: namespace d alone is 150 GiB, more than --max-wave-bytes 100 GiB; a namespace is never split"]);
        assert.deepStrictEqual(splitNamespaces([], 1), []);
    });
});

describe("discover: the command against a (fake) Kubernetes API", function () {
    let src: FakeCluster;
    let dst: FakeCluster;
    let tmp: string;
    const file = (name: string, text: string) => {
        const p = path.join(tmp, name);
        fs.writeFileSync(p, text);
        return p;
    };
    before(async () => {
        src = await startFakeCluster({
            objects: [
                obj.namespace("shop", { team: "shop" }), obj.namespace("wiki", { team: "docs" }), obj.namespace("blog", { team: "docs" }),
                obj.storageClass("gp2", "ebs.csi.aws.com", true), obj.storageClass("local", "kubernetes.io/no-provisioner"),
                obj.pvc("shop", "db", { capacity: "10Gi", request: "8Gi", storageClass: "gp2", boundModes: ["ReadWriteOnce", "ReadWriteMany"] }),
                obj.pvc("shop", "raw", { capacity: "5Gi", storageClass: "gp2", volumeMode: "Block" }),
                obj.pvc("shop", "restored", { capacity: "1Gi", storageClass: "gp2", labels: { [LABELS.managedBy]: MANAGED_BY } }),
                obj.pvc("wiki", "pages", { capacity: "2Gi", storageClass: "local" }),
                obj.pvc("blog", "posts", { capacity: "1Gi", storageClass: "gp2" }),
                obj.deployment("shop", "web", ["db"]), obj.replicaSet("shop", "web-5d9", "web", ["db"]),
                obj.pod("shop", "web-5d9-abc", ["db"], "node-1", ["ReplicaSet", "web-5d9"]),
                obj.pod("wiki", "editor", ["pages"], "node-2"),
            ],
            summaries: { "node-1": obj.summary("node-1", [["shop", "db", 3 * GiB, 10 * GiB]]) },
        });
        dst = await startFakeCluster({ objects: [obj.storageClass("gp3", "ebs.csi.aws.com", true), obj.storageClass("fast", "other")] });
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-discover-"));
    });
    after(async () => {
        await src.close();
        await dst.close();
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    const run = async (args: string[]) => {
        const out = capture();
        const err = capture();
        const code = await main(["discover", "--kubeconfig", file("src.yaml", src.kubeconfig(undefined, "src")), ...args], out.stream, err.stream);
        return { code, out: out.text(), err: err.text() };
    };

    it("writes a valid wave to stdout: status capacity, the destination's classes by rule, workloads, node, used bytes", async () => {
        const r = await run(["--destination-kubeconfig", file("dst.yaml", dst.kubeconfig(undefined, "dst")), "--namespace", "shop", "--namespace", "wiki", "--storage-class-map", "local=fast", "--name", "shop-and-wiki"]);
        assert.strictEqual(r.code, 0, r.err);
        const plan = validated(r.out);
        assert.strictEqual(plan.name, "shop-and-wiki");
        assert.deepStrictEqual(plan.namespaces.map((n) => [n.source, n.nodeName, n.pvcs.map((p) => `${p.source}:${p.capacity}:${p.storageClass}`).join()]),
            [["shop", "node-1", "db:10Gi:gp3"], ["wiki", "node-2", "pages:2Gi:fast"]]);
        assert.deepStrictEqual(plan.namespaces[0].pvcs[0].accessModes, ["ReadWriteOnce"], "the modes the claim asks for, not all the bound volume offers");
        assert.match(r.out, /# Source cluster: --kubeconfig \S+src\.yaml, context src\./);
        assert.match(r.out, /# Destination storage classes: read from the destination cluster \(--destination-kubeconfig \S+dst\.yaml, context dst\)\./);
        assert.match(r.out, /# storageClass gp3: same provisioner ebs\.csi\.aws\.com as source class gp2/);
        assert.match(r.out, /# storageClass fast: --storage-class-map local=fast/);
        assert.match(r.out, /# mounted by Deployment\/web; pod web-5d9-abc on node-1\n\s+# used 3\.0 GiB of 10\.0 GiB \(kubelet of node node-1\)/);
        assert.match(r.out, /# mounted by Pod\/editor; pod editor on node-2\n\s+# used bytes unknown: the kubelet summary of node node-2 .* is not readable: HTTP 503/);
        assert.match(r.out, /# raw: left out - volumeMode Block/);
        assert.ok(!r.out.includes("restored"), "the PVC dvm created is not listed");
        assert.match(r.err, /note: the kubelet summary of node node-2/);
        assert.ok(src.requests.includes("GET /api/v1/nodes/node-1/proxy/stats/summary"), src.requests.join("\n"));
        assert.deepStrictEqual([...src.writes, ...dst.writes], [], "discover changes nothing");
    });

    it("--selector picks namespaces by label; without a destination the classes are kept and not checked", async () => {
        const r = await run(["--selector", "team=docs"]);
        assert.strictEqual(r.code, 0, r.err);
        const plan = validated(r.out);
        assert.deepStrictEqual(plan.namespaces.map((n) => n.source), ["blog", "wiki"]);
        assert.strictEqual(plan.namespaces[1].pvcs[0].storageClass, "local");
        assert.match(r.out, /# Destination storage classes: not checked \(no destination cluster given\)\./);
        assert.match(r.out, /same name as the source \(the destination's classes were not read: give --stack or --destination-context\)/);
    });

    it("--out with --max-wave-bytes writes one valid file per wave and says what it wrote", async () => {
        const out = path.join(tmp, "waves", "docs.yaml");
        const r = await run(["--namespace", "wiki", "--namespace", "blog", "--out", out, "--max-wave-bytes", "2Gi"]);
        assert.strictEqual(r.code, 0, r.err);
        assert.strictEqual(r.out, "", "nothing on stdout with --out");
        const files = fs.readdirSync(path.dirname(out)).sort();
        assert.deepStrictEqual(files, ["docs-1.yaml", "docs-2.yaml"]);
        assert.deepStrictEqual(files.map((f) => validated(fs.readFileSync(path.join(path.dirname(out), f), "utf8")).namespaces.map((n) => n.source).join()), ["wiki", "blog"]);
        assert.match(r.err, /wrote \S+docs-1\.yaml: wave docs-1, 1 namespace \(wiki\), 1 PVC, 2\.0 GiB/);
    });

    it("namespaces that do not exist are one error naming all of them, before anything is read", async () => {
        await assert.rejects(run(["--namespace", "shop", "--namespace", "gone", "--namespace", "nope"]),
            /--namespace: namespaces gone, nope do not exist on the source cluster \(--kubeconfig \S+, context src\); name existing namespaces, e.g. --namespace shop/);
        await assert.rejects(run(["--selector", "team=none"]), /--selector "team=none" matches no namespace on the source cluster .*; example: --selector team=shop/);
    });

    it("flag errors name the flag and show a valid example", async () => {
        await assert.rejects(run([]), /--namespace or --selector is required: which source namespaces go into the wave; example: dvm discover --stack my-pair --namespace shop/);
        await assert.rejects(run(["-n", "Shop"]), /--namespace "Shop" must consist of lowercase letters.*; example: --namespace shop/);
        await assert.rejects(run(["-n", "shop", "--name", "Wave 1"]), /--name "Wave 1" must consist of lowercase.*; example: --name wave-1/);
        await assert.rejects(run(["-n", "shop", "--max-wave-bytes", "lots"]), /--max-wave-bytes must be a size in bytes or a Kubernetes quantity, e.g. --max-wave-bytes 500Gi/);
        await assert.rejects(run(["-n", "shop", "--max-wave-bytes", "1Ti"]), /--max-wave-bytes writes one file per wave: give --out, e.g. --out waves\/wave-1\.yaml --max-wave-bytes 500Gi/);
        await assert.rejects(run(["-n", "shop", "--storage-class-map", "x"]), /--storage-class-map "x" is not source=destination/);
        await assert.rejects(run(["-n", "shop", "--once"]), /unknown argument '--once'\nusage: dvm discover /);
        await assert.rejects(run(["-n", "shop", "--context", "nope"]), /--context: context "nope" is not in the source kubeconfig \(contexts: src\)/);
        await assert.rejects(run(["-n", "shop", "--destination-kubeconfig", path.join(tmp, "missing.yaml")]), /--destination-kubeconfig: kubeconfig file \S+missing\.yaml does not exist/);
    });

    it("--help lists every flag", async () => {
        const out = capture();
        assert.strictEqual(await main(["discover", "--help"], out.stream), 0);
        for (const flag of ["--stack", "--kubeconfig", "--context", "--destination-kubeconfig", "--destination-context", "--namespace", "--selector", "--storage-class-map", "--name", "--out", "--max-wave-bytes"]) {
            assert.ok(out.text().includes(flag), `${flag} missing from:\n${out.text()}`);
        }
        assert.match(out.text(), /^usage: dvm discover /);
    });
});

describe("the dvm CLI: every command has its --help", () => {
    it("each command of the usage answers --help with its synopsis and flags", async () => {
        const usage = capture();
        assert.strictEqual(await main(["--help"], usage.stream), 0);
        const commands = [...usage.text().matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]);
        assert.deepStrictEqual(commands, ["watch", "status", "discover", "check"]);
        for (const c of commands) {
            const out = capture();
            assert.strictEqual(await main([c, "--help"], out.stream), 0, c);
            assert.match(out.text(), new RegExp(`^usage: dvm ${c} .*\\n\\n.+\\.\\n[\\s\\S]*\\nflags:\\n[\\s\\S]*-h, --help +show this help`), out.text());
        }
    });
});
