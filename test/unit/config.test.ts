import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError } from "../../config/errors";
import { loadPlan, parseWaveText, rawDvmConfig } from "../../config/load";
import { resolveKubeconfig } from "../../kube";
import { parseQuantity, rsyncExtraError } from "../../config/rules";
import { DEFAULT_RESOURCES, DEFAULT_RSYNC, DEFAULTS } from "../../config/defaults";
import { validateStackConfig } from "../../config/stack";
import { validateWave } from "../../config/wave";

const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n";

function baseConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        source: { kubeconfig: KUBECONFIG },
        destination: { context: "dst", endpoint: { type: "route", subdomain: "apps.dst.example.com" } },
        wave: "waves/w.yaml",
        ...over,
    };
}

/** Runs fn, expects a ConfigError, returns its message (which must name `where` and carry an example). */
function rejects(fn: () => unknown, where: string, what?: RegExp): string {
    try {
        fn();
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        const msg = (e as Error).message;
        const problem = (e as ConfigError).problems.find((p) => p.where === where || p.where.startsWith(where));
        assert.ok(problem, `no problem at ${where} in:\n${msg}`);
        assert.ok(problem.example.length > 0, "every problem shows a valid example");
        assert.match(msg, /valid example: /);
        if (what) assert.match(problem.what, what, msg);
        return msg;
    }
    assert.fail(`expected a ConfigError at ${where}`);
}

const WAVE = {
    name: "wave-1",
    namespaces: [
        { name: "app-1", pvcs: [{ name: "data", capacity: "10Gi" }, { name: "logs", capacity: "1Gi", accessModes: ["ReadWriteMany"], storageClass: "gp3-csi", targetName: "logs-new", verify: true }] },
        { name: "app-2", targetNamespace: "app-2-dst", nodeName: "worker-1", pvcs: [{ name: "db", capacity: "5Gi" }] },
    ],
};

describe("config: stack config", () => {
    it("applies every documented default", () => {
        const c = validateStackConfig(baseConfig());
        assert.deepStrictEqual(c.rsync, DEFAULT_RSYNC);
        assert.deepStrictEqual(c.resources, DEFAULT_RESOURCES);
        assert.strictEqual(c.stunnelWaitSeconds, 600);
        assert.strictEqual(c.security.runAsRoot, false);
        assert.strictEqual(c.security.superPrivileged, false);
        assert.strictEqual(c.pass, DEFAULTS.pass);
        assert.strictEqual(c.credentialsVersion, 1);
        assert.strictEqual(c.rsync.backoffLimit, 20);
        assert.strictEqual(c.rsync.sparse, "auto");
        assert.strictEqual(c.rsync.inplace, "auto");
        assert.strictEqual(c.destination.endpoint.type, "route");
        assert.strictEqual(c.render, undefined);
        assert.match(c.transferImage, /rsync/);
    });

    it("never falls back to the ambient KUBECONFIG: source and destination access are required", () => {
        rejects(() => validateStackConfig(baseConfig({ source: undefined })), "dvm:source", /ambient KUBECONFIG/);
        rejects(() => validateStackConfig(baseConfig({ destination: { endpoint: { type: "clusterIP" } } })), "dvm:destination", /kubeconfig or context/);
    });

    it("rejects unknown keys with a did-you-mean hint, at every level", () => {
        const m = rejects(() => validateStackConfig(baseConfig({ sorce: {} })), "dvm:sorce", /did you mean 'dvm:source'/);
        assert.match(m, /nothing was created or changed/);
        rejects(() => validateStackConfig(baseConfig({ rsync: { delte: true } })), "dvm:rsync.delte", /did you mean 'delete'/);
        rejects(() => validateStackConfig(baseConfig({ destination: { context: "d", endpoint: { type: "clusterIP", subdomian: "x" } } })), "dvm:destination.endpoint.subdomian", /did you mean 'subdomain'/);
        rejects(() => validateStackConfig(baseConfig({ resources: { rsync: { limit: {} } } })), "dvm:resources.rsync.limit", /did you mean 'limits'/);
    });

    it("requires a subdomain for route and ingress endpoints, a node address for nodePort", () => {
        rejects(() => validateStackConfig(baseConfig({ destination: { context: "d", endpoint: { type: "route" } } })), "dvm:destination.endpoint.subdomain", /required for endpoint type 'route'/);
        rejects(() => validateStackConfig(baseConfig({ destination: { context: "d", endpoint: { type: "ingress" } } })), "dvm:destination.endpoint.subdomain", /'ingress'/);
        rejects(() => validateStackConfig(baseConfig({ destination: { context: "d", endpoint: { type: "nodePort" } } })), "dvm:destination.endpoint.nodeAddress");
        rejects(() => validateStackConfig(baseConfig({ destination: { context: "d", endpoint: { type: "loadbalancer" } } })), "dvm:destination.endpoint.type", /did you mean 'loadBalancer'/);
        rejects(() => validateStackConfig(baseConfig({ destination: { context: "d", endpoint: { type: "route", subdomain: "Apps_Dst" } } })), "dvm:destination.endpoint.subdomain", /DNS-1123/);
        for (const type of ["loadBalancer", "clusterIP"]) {
            assert.strictEqual(validateStackConfig(baseConfig({ destination: { context: "d", endpoint: { type } } })).destination.endpoint.type, type);
        }
    });

    it("rejects rsync extras that are not plain options or would break the migration or the source", () => {
        const bad: [string, RegExp][] = [
            ["--remove-source-files", /deletes files on the source/],
            ["--daemon", /daemon/],
            ["-e", /--rsh/],
            ["-avze", /--rsh/],
            ["--rsh=ssh", /transport/],
            ["--server", /internal/],
            ["--config=/etc/x", /daemon config/],
            ["--dry-run", /copies nothing/],
            ["-n", /dry-run/],
            ["--bwlimit=10;rm -rf /", /metacharacter/],
            ["--exclude=$(reboot)", /metacharacter/],
            ["--chmod=`id`", /metacharacter/],
            ["--compress | cat", /metacharacter/],
            ["/etc/passwd", /not an option/],
            ["---x", /not a plain rsync option/],
            ["--timeout=0", /dvm:rsync.timeout/],
            ["--sparse", /dvm:rsync\.sparse/],
            ["-aS", /--sparse.*dvm:rsync\.sparse/],
            ["--no-sparse", /dvm:rsync\.sparse/],
            ["--inplace", /dvm:rsync\.inplace/],
            ["--no-inplace", /dvm:rsync\.inplace/],
            ["--dvm-sparse-if-holes", /rsync-client\.sh.*dvm:rsync\.sparse/],
        ];
        for (const [option, why] of bad) {
            const reason = rsyncExtraError(option);
            assert.ok(reason, `${option} should be rejected`);
            assert.match(reason, why, option);
        }
        for (const ok of ["--compress", "-z", "--bwlimit=1000", "--exclude=*.tmp".replace("*", "x"), "--numeric-ids", "-H", "--checksum"]) {
            assert.strictEqual(rsyncExtraError(ok), undefined, ok);
        }
        rejects(() => validateStackConfig(baseConfig({ rsync: { extras: ["--compress", "--remove-source-files"] } })), "dvm:rsync.extras[1]");
        rejects(() => validateStackConfig(baseConfig({ rsync: { extras: "--compress" } })), "dvm:rsync.extras", /list/);
        assert.deepStrictEqual(validateStackConfig(baseConfig({ rsync: { extras: ["--compress"] } })).rsync.extras, ["--compress"]);
    });

    it("sparse and inplace: auto, true or false (also as the strings `pulumi config set --path` stores)", () => {
        for (const key of ["sparse", "inplace"] as const) {
            for (const [raw, want] of [["auto", "auto"], [true, true], [false, false], ["true", true], ["false", false]] as const) {
                assert.strictEqual(validateStackConfig(baseConfig({ rsync: { [key]: raw } })).rsync[key], want, `${key}: ${raw}`);
            }
            for (const bad of ["yes", "Auto", 1, ["auto"]]) {
                const msg = rejects(() => validateStackConfig(baseConfig({ rsync: { [key]: bad } })), `dvm:rsync.${key}`, /must be auto, true or false, got /);
                assert.match(msg, new RegExp(`pulumi config set --path dvm:rsync\\.${key} auto`), "the example is a valid command");
            }
        }
    });

    it("keeps the progress and stats output dvm reads", () => {
        rejects(() => validateStackConfig(baseConfig({ rsync: { info: "COPY2" } })), "dvm:rsync.info", /PROGRESS2 and STATS2/);
        rejects(() => validateStackConfig(baseConfig({ rsync: { info: "PROGRESS2,STATS2;ls" } })), "dvm:rsync.info");
    });

    it("validates quantities and request <= limit", () => {
        rejects(() => validateStackConfig(baseConfig({ resources: { rsync: { limits: { memory: "lots" } } } })), "dvm:resources.rsync.limits.memory", /quantity/);
        rejects(() => validateStackConfig(baseConfig({ resources: { stunnel: { requests: { cpu: "4" } } } })), "dvm:resources.stunnel.requests.cpu", /larger than/);
        const c = validateStackConfig(baseConfig({ resources: { rsync: { limits: { cpu: "4" } } } }));
        assert.strictEqual(c.resources.rsync.limits.cpu, "4");
        assert.strictEqual(c.resources.rsync.limits.memory, DEFAULT_RESOURCES.rsync.limits.memory);
    });

    it("rejects contradictory privilege settings", () => {
        rejects(() => validateStackConfig(baseConfig({ security: { runAsUser: 0 } })), "dvm:security.runAsUser", /runAsRoot is false/);
        rejects(() => validateStackConfig(baseConfig({ security: { runAsRoot: true, runAsUser: 1000 } })), "dvm:security.runAsUser");
        rejects(() => validateStackConfig(baseConfig({ security: { sourceSupplementalGroups: ["x"] } })), "dvm:security.sourceSupplementalGroups[0]");
        rejects(() => validateStackConfig(baseConfig({ stunnelWaitSeconds: 0 })), "dvm:stunnelWaitSeconds");
        rejects(() => validateStackConfig(baseConfig({ pass: "two" })), "dvm:pass");
    });

    it("lists every problem at once", () => {
        try {
            validateStackConfig({ sorce: {}, wave: 3, rsync: { bwlimit: -1 } });
            assert.fail("expected ConfigError");
        } catch (e) {
            const where = (e as ConfigError).problems.map((p) => p.where);
            for (const w of ["dvm:sorce", "dvm:source", "dvm:destination", "dvm:wave", "dvm:rsync.bwlimit"]) {
                assert.ok(where.includes(w), `${w} missing from ${where.join(", ")}`);
            }
        }
    });

    it("reads pulumi's config map: only dvm: keys, JSON objects parsed", () => {
        const raw = rawDvmConfig({ "dvm:rsync": '{"delete":false}', "dvm:stunnelWaitSeconds": "30", "kubernetes:x": "y", "dvm:wave": "waves/a.yaml" });
        assert.deepStrictEqual(raw, { rsync: { delete: false }, stunnelWaitSeconds: 30, wave: "waves/a.yaml" });
    });
});

describe("config: wave file", () => {
    it("builds the namespace plan with renames, classes, node names and defaults", () => {
        const w = validateWave(WAVE, "waves/w.yaml");
        assert.strictEqual(w.name, "wave-1");
        assert.deepStrictEqual(w.namespaces[0].pvcs[0], { source: "data", target: "data", capacity: "10Gi", accessModes: ["ReadWriteOnce"], storageClass: undefined, verify: false });
        assert.deepStrictEqual(w.namespaces[0].pvcs[1], { source: "logs", target: "logs-new", capacity: "1Gi", accessModes: ["ReadWriteMany"], storageClass: "gp3-csi", verify: true });
        assert.strictEqual(w.namespaces[1].target, "app-2-dst");
        assert.strictEqual(w.namespaces[1].nodeName, "worker-1");
        assert.strictEqual(w.namespaces[0].target, "app-1");
    });

    it("rejects empty waves, duplicates, bad names, bad quantities and unknown keys, naming the path", () => {
        const f = "waves/w.yaml";
        rejects(() => validateWave({ name: "w", namespaces: [] }, f), `${f}: namespaces`, /empty wave/);
        rejects(() => validateWave({ name: "w" }, f), `${f}: namespaces`);
        rejects(() => validateWave({ name: "w", namespaces: [{ name: "a", pvcs: [] }] }, f), `${f}: namespaces[0].pvcs`);
        rejects(() => validateWave({ name: "w", namespaces: [WAVE.namespaces[0], WAVE.namespaces[0]] }, f), `${f}: namespaces[1].name`, /listed twice/);
        rejects(() => validateWave({ name: "w", namespaces: [{ name: "a", pvcs: [{ name: "d", capacity: "1Gi" }, { name: "d", capacity: "2Gi" }] }] }, f), `${f}: namespaces[0].pvcs[1].name`, /twice/);
        rejects(() => validateWave({ name: "w", namespaces: [{ name: "a", pvcs: [{ name: "d", capacity: "1Gi" }, { name: "e", capacity: "1Gi", targetName: "d" }] }] }, f), `${f}: namespaces[0].pvcs[1].targetName`, /copied into one/);
        rejects(() => validateWave({ name: "w", namespaces: [{ name: "a", pvcs: [{ name: "d", capacity: "1Gi" }] }, { name: "b", targetNamespace: "a", pvcs: [{ name: "d", capacity: "1Gi" }] }] }, f), `${f}: namespaces[1].targetNamespace`);
        rejects(() => validateWave({ name: "w", namespaces: [{ name: "App_1", pvcs: [{ name: "d", capacity: "1Gi" }] }] }, f), `${f}: namespaces[0].name`, /DNS-1123/);
        rejects(() => validateWave({ name: "w", namespaces: [{ name: "a".repeat(64), pvcs: [{ name: "d", capacity: "1Gi" }] }] }, f), `${f}: namespaces[0].name`, /63/);
        rejects(() => validateWave({ name: "w", namespaces: [{ name: "a", pvcs: [{ name: "d", capacity: "ten gigs" }] }] }, f), `${f}: namespaces[0].pvcs[0].capacity`, /quantity/);
        rejects(() => validateWave({ name: "w", namespaces: [{ name: "a", pvcs: [{ name: "d", capacity: "0" }] }] }, f), `${f}: namespaces[0].pvcs[0].capacity`);
        rejects(() => validateWave({ name: "w", namespaces: [{ name: "a", pvcs: [{ name: "d" }] }] }, f), `${f}: namespaces[0].pvcs[0].capacity`, /required/);
        rejects(() => validateWave({ name: "w", namespaces: [{ name: "a", pvcs: [{ name: "d", capacity: "1Gi", accessModes: ["RWO"] }] }] }, f), `${f}: namespaces[0].pvcs[0].accessModes[0]`);
        rejects(() => validateWave({ name: "w", namespaces: [{ name: "a", pvcs: [{ name: "d", capacity: "1Gi", sotrageClass: "x" }] }] }, f), `${f}: namespaces[0].pvcs[0].sotrageClass`, /did you mean 'storageClass'/);
        rejects(() => validateWave({ name: "Wave 1", namespaces: WAVE.namespaces }, f), `${f}: name`);
        rejects(() => validateWave(["not", "a", "map"], f), `${f}: (top level)`);
    });

    it("reports YAML syntax errors with the file and line", () => {
        const m = rejects(() => parseWaveText("name: w\nnamespaces:\n  - name: [unclosed\n", "waves/bad.yaml"), "waves/bad.yaml", /not valid YAML/);
        assert.match(m, /waves\/bad\.yaml:\d+:\d+/);
        rejects(() => parseWaveText("name: a\nname: b\n", "waves/dup.yaml"), "waves/dup.yaml");
    });
});

describe("config: loadPlan", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-config-"));
        fs.mkdirSync(path.join(dir, "waves"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const all = (over: Record<string, string> = {}) => ({
        "dvm:source": JSON.stringify({ kubeconfig: KUBECONFIG }),
        "dvm:destination": JSON.stringify({ context: "dst", endpoint: { type: "nodePort", nodeAddress: "192.0.2.10" } }),
        "dvm:wave": "waves/w.yaml",
        ...over,
    });

    it("reads the wave file relative to the project and applies the global verify flag", () => {
        fs.writeFileSync(path.join(dir, "waves/w.yaml"), "name: wave-1\nnamespaces:\n  - name: app-1\n    pvcs:\n      - {name: data, capacity: 10Gi}\n");
        const plan = loadPlan({ config: all({ "dvm:rsync": '{"verify":true}' }), projectDir: dir });
        assert.strictEqual(plan.wave.name, "wave-1");
        assert.strictEqual(plan.namespaces[0].pvcs[0].verify, true);
        assert.strictEqual(plan.destination.endpoint.nodeAddress, "192.0.2.10");
    });

    it("rejects a missing wave file and a missing kubeconfig file by key", () => {
        rejects(() => loadPlan({ config: all(), projectDir: dir }), "dvm:wave", /does not exist/);
        fs.writeFileSync(path.join(dir, "waves/w.yaml"), "name: wave-1\nnamespaces:\n  - name: app-1\n    pvcs:\n      - {name: data, capacity: 10Gi}\n");
        rejects(() => loadPlan({ config: all({ "dvm:source": '{"kubeconfig":"nope/kc.yaml"}' }), projectDir: dir }), "dvm:source.kubeconfig", /existing file/);
    });

    it("resolves kubeconfig content, files, and the ambient file only for an explicit context", () => {
        fs.writeFileSync(path.join(dir, "kc.yaml"), KUBECONFIG);
        assert.strictEqual(resolveKubeconfig({ kubeconfig: KUBECONFIG }, dir), KUBECONFIG);
        assert.strictEqual(resolveKubeconfig({ kubeconfig: "kc.yaml" }, dir), KUBECONFIG);
        assert.strictEqual(resolveKubeconfig({ context: "x" }, dir, { KUBECONFIG: path.join(dir, "kc.yaml") }), KUBECONFIG);
    });
});

describe("config: quantities", () => {
    it("parses Kubernetes quantities", () => {
        assert.strictEqual(parseQuantity("10Gi"), 10 * 2 ** 30);
        assert.strictEqual(parseQuantity("500m"), 0.5);
        assert.strictEqual(parseQuantity("1e3"), 1000);
        assert.strictEqual(parseQuantity("1.5G"), 1.5e9);
        for (const bad of ["", "Gi", "10 Gi", "10gb", "-1Gi", " 1Gi"]) assert.strictEqual(parseQuantity(bad), undefined, bad);
    });
});
