// Hostile or mistaken input the config layer must refuse before anything is created, naming the key: kubeconfigs
// that are not kubeconfigs, dotted keys set without --path, unquoted numeric names, transfer hosts past DNS limits
// and shortened host labels that collide.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, Problem } from "../../config/errors";
import { kubeconfigError, loadPlan, parseWaveText, rawDvmConfig, transferHostProblems } from "../../config/load";
import { validateStackConfig } from "../../config/stack";
import { validateWave } from "../../config/wave";
import { transferNames } from "../../components/names";

const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts:\n- name: src\n  context: {cluster: c, user: u}\n";

function problems(fn: () => unknown): Problem[] {
    try {
        fn();
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
    return [];
}

describe("config: input that is not what it claims to be", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-input-"));
        fs.mkdirSync(path.join(dir, "waves"));
        fs.writeFileSync(path.join(dir, "waves/w.yaml"), "name: wave-1\nnamespaces:\n  - name: app-1\n    pvcs:\n      - {name: data, capacity: 10Gi}\n");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const config = (source: unknown, endpoint: unknown = { type: "nodePort", nodeAddress: "192.0.2.10" }) => ({
        "dvm:source": JSON.stringify(source),
        "dvm:destination": JSON.stringify({ context: "dst", endpoint }),
        "dvm:wave": "waves/w.yaml",
    });

    it("refuses a kubeconfig file or content that is not a kubeconfig, naming the key and never the content", () => {
        const cases: [string, RegExp][] = [
            ["apiVersion: v1\nkind: Secret\ndata: {token: c2VjcmV0LXRva2Vu}\n", /kind is "Secret"/],
            ["just some notes\nabout the cluster: [\n", /not YAML/],
            ["- a\n- list\n", /not a kubeconfig/],
            ["apiVersion: v1\nkind: Config\nclusters: {a: 1}\n", /clusters must be a list/],
        ];
        for (const [text, why] of cases) {
            fs.writeFileSync(path.join(dir, "kc.yaml"), text);
            for (const source of [{ kubeconfig: "kc.yaml" }, { kubeconfig: text }]) {
                const ps = problems(() => loadPlan({ config: config(source), projectDir: dir }));
                assert.strictEqual(ps.length, 1, JSON.stringify(ps));
                assert.strictEqual(ps[0].where, "dvm:source.kubeconfig");
                assert.match(ps[0].what, why);
                assert.ok(!ps[0].what.includes("c2VjcmV0LXRva2Vu") && !ps[0].what.includes("notes"), ps[0].what);
            }
        }
        fs.writeFileSync(path.join(dir, "kc.yaml"), KUBECONFIG);
        assert.strictEqual(loadPlan({ config: config({ kubeconfig: "kc.yaml", context: "src" }), projectDir: dir }).source.context, "src");
        const ps = problems(() => loadPlan({ config: config({ kubeconfig: "kc.yaml", context: "scr" }), projectDir: dir }));
        assert.match(ps[0]?.what ?? "", /has no context "scr" \(its contexts: src\)/);
        assert.strictEqual(kubeconfigError(KUBECONFIG), undefined);
    });

    it("a dotted key set without --path gets a hint to set it with --path", () => {
        const raw = rawDvmConfig({ "dvm:rsync.bwlimit": "5000", "dvm:rsync.extras[0]": "--compress", "dvm:wave": "waves/w.yaml",
            "dvm:source": '{"context":"s"}', "dvm:destination": '{"context":"d","endpoint":{"type":"clusterIP"}}' });
        const ps = problems(() => validateStackConfig(raw));
        assert.deepStrictEqual(ps.map((p) => p.where), ["dvm:rsync.bwlimit", "dvm:rsync.extras[0]"]);
        assert.match(ps[0].what, /set without --path/);
        assert.strictEqual(ps[0].example, "pulumi config rm dvm:rsync.bwlimit; pulumi config set --path 'dvm:rsync.bwlimit' <value>");
        // a plain typo keeps its did-you-mean
        assert.match(problems(() => validateStackConfig({ ...raw, "rsync.bwlimit": undefined, "rsync.extras[0]": undefined, rsyn: {} }))
            .find((p) => p.where === "dvm:rsyn")?.what ?? "", /did you mean 'dvm:rsync'/);
    });

    it("an unquoted number or boolean as a name gets a hint to quote it", () => {
        const doc = parseWaveText("name: 2024\nnamespaces:\n  - name: 123\n    targetNamespace: true\n    pvcs:\n      - {name: 42, capacity: 1Gi}\n", "waves/w.yaml");
        const ps = problems(() => validateWave(doc, "waves/w.yaml"));
        const hint = (where: string) => ps.find((p) => p.where === `waves/w.yaml: ${where}`)?.what ?? `nothing at ${where}: ${JSON.stringify(ps)}`;
        assert.match(hint("name"), /YAML reads 2024 as a number: quote it, name: "2024"/);
        assert.match(hint("namespaces[0].name"), /quote it, name: "123"/);
        assert.match(hint("namespaces[0].targetNamespace"), /as a boolean: quote it, targetNamespace: "true"/);
        assert.match(hint("namespaces[0].pvcs[0].name"), /quote it, name: "42"/);
    });

    it("a destination collision points at the key the item has", () => {
        const ns = problems(() => validateWave({ name: "w", namespaces: [
            { name: "a", targetNamespace: "b", pvcs: [{ name: "d", capacity: "1Gi" }] },
            { name: "b", pvcs: [{ name: "d", capacity: "1Gi" }] },
        ] }, "w.yaml"));
        assert.deepStrictEqual(ns.map((p) => p.where), ["w.yaml: namespaces[1].name"]);
        const ns2 = problems(() => validateWave({ name: "w", namespaces: [
            { name: "b", pvcs: [{ name: "d", capacity: "1Gi" }] },
            { name: "a", targetNamespace: "b", pvcs: [{ name: "d", capacity: "1Gi" }] },
        ] }, "w.yaml"));
        assert.deepStrictEqual(ns2.map((p) => p.where), ["w.yaml: namespaces[1].targetNamespace"]);
        const pvc = problems(() => validateWave({ name: "w", namespaces: [
            { name: "a", pvcs: [{ name: "x", capacity: "1Gi", targetName: "y" }, { name: "y", capacity: "1Gi" }] },
        ] }, "w.yaml"));
        assert.deepStrictEqual(pvc.map((p) => p.where), ["w.yaml: namespaces[0].pvcs[1].name"]);
    });

    it("a route/ingress host past 253 characters is refused at validation, naming dvm:destination.endpoint.subdomain", () => {
        // a valid subdomain of 250 characters: fine on its own, too long with the host label in front
        const subdomain = Array.from({ length: 5 }, () => "a".repeat(49)).join(".");
        assert.strictEqual(subdomain.length, 249);
        for (const type of ["route", "ingress"]) {
            const ps = problems(() => loadPlan({ config: config({ context: "s" }, { type, subdomain }), projectDir: dir }));
            assert.deepStrictEqual(ps.map((p) => p.where), ["dvm:destination.endpoint.subdomain"], type);
            assert.match(ps[0].what, /"app-1" 259 characters long.*at most 253.*at most 243/);
        }
        const ok = "a".repeat(49) + ".example.com";
        assert.strictEqual(loadPlan({ config: config({ context: "s" }, { type: "route", subdomain: ok }), projectDir: dir }).namespaces.length, 1);
    });

    it("shortened host labels that collide are detected", () => {
        const long = "n".repeat(70);
        const label = transferNames("", long, 1).hostLabel;
        assert.strictEqual(label.length, 63);
        // a 59-character namespace equal to the shortened label of another
        const twin = label.slice("dvm-".length);
        assert.strictEqual(twin.length, 59);
        assert.strictEqual(transferNames("", twin, 1).hostLabel, label);
        const namespaces = [long, twin].map((target) => ({ source: target, target, pvcs: [] }));
        const ps = transferHostProblems({ type: "route", subdomain: "apps.example.com" }, namespaces, "waves/w.yaml").list;
        assert.deepStrictEqual(ps.map((p) => p.where), ["waves/w.yaml: namespaces[1]"]);
        assert.match(ps[0].what, /same transfer host label/);
        assert.deepStrictEqual(transferHostProblems({ type: "nodePort", nodeAddress: "x" }, namespaces, "w").list, []);
    });
});
