// dvm:images and the wave file's `images`: every problem names the key or wave path, says what is wrong and shows a
// valid example; where an image lands on the destination; credentials that are not Pulumi secrets are refused.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError } from "../../config/errors";
import { destinationRepository, parseWaveImage, pathBelow, registryError } from "../../config/images";
import { loadPlan } from "../../config/load";
import { validateStackConfig } from "../../config/stack";
import { validateWave } from "../../config/wave";

const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n";
const CA = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n";

const base = (images?: unknown) => ({
    source: { kubeconfig: KUBECONFIG },
    destination: { context: "dst", endpoint: { type: "route", subdomain: "apps.dst.example.com" } },
    wave: "waves/w.yaml",
    ...(images === undefined ? {} : { images }),
});
const IMAGES = { source: { registry: "registry.src.example.com:5000" }, destination: { registry: "registry.dst.example.com/migrated" } };

function rejects(fn: () => unknown, where: string, what?: RegExp): string {
    try {
        fn();
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        const problem = e.problems.find((p) => p.where === where);
        assert.ok(problem, `no problem at ${where} in:\n${e.message}`);
        assert.ok(problem.example.length > 0, "every problem shows a valid example");
        if (what) assert.match(problem.what, what, e.message);
        return e.message;
    }
    assert.fail(`expected a ConfigError at ${where}`);
}

describe("config: dvm:images", () => {
    it("is off when unset, and takes its defaults when set", () => {
        assert.strictEqual(validateStackConfig(base()).images, undefined);
        const c = validateStackConfig(base(IMAGES)).images!;
        assert.deepStrictEqual(c, {
            source: { registry: "registry.src.example.com:5000", username: undefined, password: undefined, tlsVerify: true, caBundle: undefined, aliases: [] },
            destination: { registry: "registry.dst.example.com/migrated", username: undefined, password: undefined, tlsVerify: true, caBundle: undefined },
            discover: "auto", retries: 3, retryDelaySeconds: 10,
        });
    });

    it("reads what `pulumi config set --path` stores (strings for booleans and numbers)", () => {
        const c = validateStackConfig(base({ ...IMAGES, discover: "false", retries: "5", destination: { registry: "r.example.com", tlsVerify: "false" } })).images!;
        assert.strictEqual(c.discover, false);
        assert.strictEqual(c.retries, 5);
        assert.strictEqual(c.destination.tlsVerify, false);
    });

    it("requires both registries, each host[:port][/path] without a scheme", () => {
        rejects(() => validateStackConfig(base({ source: IMAGES.source })), "dvm:images.destination", /required/);
        rejects(() => validateStackConfig(base({ source: {}, destination: IMAGES.destination })), "dvm:images.source.registry", /required/);
        rejects(() => validateStackConfig(base({ ...IMAGES, source: { registry: "https://quay.io" } })), "dvm:images.source.registry", /scheme/);
        rejects(() => validateStackConfig(base({ ...IMAGES, source: { registry: "quay.io:99999" } })), "dvm:images.source.registry", /port/);
        rejects(() => validateStackConfig(base({ ...IMAGES, destination: { registry: "quay.io/Team" } })), "dvm:images.destination.registry", /path component/);
        rejects(() => validateStackConfig(base({ ...IMAGES, destination: { registry: "quay.io/" } })), "dvm:images.destination.registry", /end with/);
        rejects(() => validateStackConfig(base("quay.io")), "dvm:images", /object/);
    });

    it("rejects unknown keys with a did-you-mean, half credentials, bad aliases and bad numbers", () => {
        rejects(() => validateStackConfig(base({ ...IMAGES, discovr: true })), "dvm:images.discovr", /did you mean 'discover'/);
        rejects(() => validateStackConfig(base({ ...IMAGES, source: { registry: "r.example.com", pasword: "x" } })), "dvm:images.source.pasword", /did you mean 'password'/);
        // aliases only make sense for the source (names cluster objects use for it)
        rejects(() => validateStackConfig(base({ ...IMAGES, destination: { registry: "r.example.com", aliases: [] } })), "dvm:images.destination.aliases", /unknown key/);
        rejects(() => validateStackConfig(base({ ...IMAGES, source: { registry: "r.example.com", username: "u" } })), "dvm:images.source.password", /required with/);
        rejects(() => validateStackConfig(base({ ...IMAGES, destination: { registry: "r.example.com", password: "p" } })), "dvm:images.destination.username", /required with/);
        rejects(() => validateStackConfig(base({ ...IMAGES, source: { registry: "r.example.com", aliases: "x" } })), "dvm:images.source.aliases", /list/);
        rejects(() => validateStackConfig(base({ ...IMAGES, source: { registry: "r.example.com", aliases: ["http://x"] } })), "dvm:images.source.aliases[0]", /scheme/);
        rejects(() => validateStackConfig(base({ ...IMAGES, discover: "sometimes" })), "dvm:images.discover", /auto, true or false/);
        rejects(() => validateStackConfig(base({ ...IMAGES, retries: -1 })), "dvm:images.retries", /0 to 100/);
        rejects(() => validateStackConfig(base({ ...IMAGES, retryDelaySeconds: 0 })), "dvm:images.retryDelaySeconds");
        rejects(() => validateStackConfig(base({ ...IMAGES, source: { registry: "r.example.com", tlsVerify: "yes" } })), "dvm:images.source.tlsVerify", /true or false/);
    });

    it("registry values: hosts, IPs, ports and paths", () => {
        for (const ok of ["quay.io", "127.0.0.1:5000", "[::1]:5000", "localhost", "default-route-openshift-image-registry.apps.example.com",
            "image-registry.openshift-image-registry.svc:5000", "harbor.example.com/project/sub"]) {
            assert.strictEqual(registryError(ok), undefined, ok);
        }
        for (const bad of ["", "quay.io:", "quay .io", "-quay.io", "quay.io//x", "docker://quay.io"]) assert.ok(registryError(bad), bad);
    });
});

describe("config: the wave file's images", () => {
    const f = "waves/w.yaml";

    it("parses app/web:1.4, defaults the tag to latest, and refuses digests and registry names", () => {
        assert.deepStrictEqual(parseWaveImage("app/web:1.4"), { repository: "app/web", tag: "1.4" });
        assert.deepStrictEqual(parseWaveImage("web"), { repository: "web", tag: "latest" });
        assert.deepStrictEqual(parseWaveImage("app/sub/web:v2_rc.1"), { repository: "app/sub/web", tag: "v2_rc.1" });
        assert.match(parseWaveImage("app/web@sha256:" + "a".repeat(64)) as string, /digest/);
        assert.match(parseWaveImage("quay.io/app/web:1") as string, /names a registry/);
        assert.match(parseWaveImage("localhost:5000/app/web:1") as string, /names a registry/);
        assert.match(parseWaveImage("App/Web:1") as string, /lowercase/);
        assert.match(parseWaveImage("app/web:-x") as string, /tag/);
        assert.match(parseWaveImage(7) as string, /image reference/);
    });

    it("names the path of every bad image, duplicates and two images landing on one destination tag", () => {
        const ns = (images: unknown) => ({ name: "w", namespaces: [{ name: "app", images, pvcs: [{ name: "d", capacity: "1Gi" }] }] });
        rejects(() => validateWave(ns(["app/web:1", "quay.io/x/y:1"]), f), `${f}: namespaces[0].images[1]`, /names a registry/);
        rejects(() => validateWave(ns(["app/web:1", "app/web:1"]), f), `${f}: namespaces[0].images[1]`, /twice/);
        rejects(() => validateWave(ns(["app/web:1", "web:1"]), f), `${f}: namespaces[0].images[1]`, /same destination image app\/web:1/);
        rejects(() => validateWave(ns("app/web:1"), f), `${f}: namespaces[0].images`, /list/);
    });

    it("allows a namespace with images and no PVCs; without either only under ImageStream discovery", () => {
        const w = validateWave({ name: "w", namespaces: [{ name: "app", targetNamespace: "app-west", images: ["app/web:1.4"] }] }, f);
        assert.deepStrictEqual(w.namespaces[0], { source: "app", target: "app-west", nodeName: undefined, pvcs: [], images: [{ repository: "app/web", tag: "1.4" }] });
        rejects(() => validateWave({ name: "w", namespaces: [{ name: "app" }] }, f), `${f}: namespaces[0].pvcs`, /at least one PVC.*images/);
        rejects(() => validateWave({ name: "w", namespaces: [{ name: "app", pvcs: [], images: [] }] }, f), `${f}: namespaces[0].pvcs`);
        assert.deepStrictEqual(validateWave({ name: "w", namespaces: [{ name: "app" }] }, f, { imageDiscovery: true }).namespaces[0].pvcs, []);
        // PVCs stay as they were: no `images` key in the plan of a wave file without one
        assert.ok(!("images" in validateWave({ name: "w", namespaces: [{ name: "a", pvcs: [{ name: "d", capacity: "1Gi" }] }] }, f).namespaces[0]));
    });
});

describe("config: where images land", () => {
    it("below the target namespace, without the source namespace's own first component (as MTC names them)", () => {
        assert.strictEqual(destinationRepository("app", "app-west", "app/web"), "app-west/web");
        assert.strictEqual(destinationRepository("app", "app", "app/sub/web"), "app/sub/web");
        assert.strictEqual(destinationRepository("app", "app-west", "shared/base"), "app-west/shared/base");
        assert.strictEqual(destinationRepository("app", "app-west", "web"), "app-west/web");
        assert.strictEqual(destinationRepository("app", "app-west", "application/web"), "app-west/application/web");
    });

    it("finds a reference below the source registry or one of its aliases", () => {
        const regs = ["127.0.0.1:5000", "image-registry.openshift-image-registry.svc:5000"];
        assert.strictEqual(pathBelow("image-registry.openshift-image-registry.svc:5000/app/web@sha256:ab", regs), "app/web@sha256:ab");
        assert.strictEqual(pathBelow("127.0.0.1:5000/app/web:1", regs), "app/web:1");
        assert.strictEqual(pathBelow("127.0.0.1:50001/app/web:1", regs), undefined);
        assert.strictEqual(pathBelow("quay.io/app/web@sha256:ab", regs), undefined);
    });
});

describe("config: loadPlan with images", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-images-config-"));
        fs.mkdirSync(path.join(dir, "waves"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const config = (images?: unknown) => ({
        "dvm:source": JSON.stringify({ kubeconfig: KUBECONFIG }),
        "dvm:destination": JSON.stringify({ context: "dst", endpoint: { type: "nodePort", nodeAddress: "192.0.2.10" } }),
        "dvm:wave": "waves/w.yaml",
        ...(images === undefined ? {} : { "dvm:images": JSON.stringify(images) }),
    });
    const wave = (text: string) => fs.writeFileSync(path.join(dir, "waves/w.yaml"), text);
    const imagesOnly = "name: wave-1\nnamespaces:\n  - name: app\n    images: [app/web:1.4]\n";

    it("an images-only wave needs dvm:images; the error names the wave path and the key", () => {
        wave(imagesOnly);
        const m = rejects(() => loadPlan({ config: config(), projectDir: dir }), "waves/w.yaml: namespaces[0].images", /dvm:images/);
        assert.match(m, /valid example: dvm:images: \{source/);
        const plan = loadPlan({ config: config(IMAGES), projectDir: dir });
        assert.deepStrictEqual(plan.namespaces[0].images, [{ repository: "app/web", tag: "1.4" }]);
        assert.deepStrictEqual(plan.namespaces[0].pvcs, []);
        assert.strictEqual(plan.images!.destination.registry, "registry.dst.example.com/migrated");
    });

    it("with discovery off, a namespace without PVCs or images is still refused", () => {
        wave("name: wave-1\nnamespaces:\n  - name: app\n");
        rejects(() => loadPlan({ config: config({ ...IMAGES, discover: false }), projectDir: dir }), "waves/w.yaml: namespaces[0].pvcs");
        assert.deepStrictEqual(loadPlan({ config: config(IMAGES), projectDir: dir }).namespaces[0].pvcs, []);
    });

    it("reads a caBundle file relative to the project; refuses one that holds no certificate", () => {
        wave(imagesOnly);
        fs.writeFileSync(path.join(dir, "ca.pem"), CA);
        const plan = loadPlan({ config: config({ ...IMAGES, source: { registry: "r.example.com", caBundle: "ca.pem" }, destination: { registry: "d.example.com", caBundle: CA } }), projectDir: dir });
        assert.strictEqual(plan.images!.source.caBundle, CA);
        assert.strictEqual(plan.images!.destination.caBundle, CA);
        rejects(() => loadPlan({ config: config({ ...IMAGES, source: { registry: "r.example.com", caBundle: "nope.pem" } }), projectDir: dir }), "dvm:images.source.caBundle", /existing file/);
        fs.writeFileSync(path.join(dir, "key.pem"), "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n");
        rejects(() => loadPlan({ config: config({ ...IMAGES, destination: { registry: "d.example.com", caBundle: "key.pem" } }), projectDir: dir }), "dvm:images.destination.caBundle", /no PEM certificate/);
    });

    it("refuses a password when the stack holds dvm:images in plain text", () => {
        wave(imagesOnly);
        const withPassword = { ...IMAGES, destination: { registry: "d.example.com", username: "u", password: "hunter2" } };
        const m = rejects(() => loadPlan({ config: config(withPassword), projectDir: dir, isSecret: () => false }), "dvm:images.destination.password", /not a Pulumi secret/);
        assert.ok(!m.includes("hunter2"), "the error never quotes the password");
        assert.match(m, /--secret/);
        const plan = loadPlan({ config: config(withPassword), projectDir: dir, isSecret: (k) => k === "dvm:images" });
        assert.strictEqual(plan.images!.destination.password, "hunter2");
    });
});
