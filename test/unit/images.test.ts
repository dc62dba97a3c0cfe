// The image part under Pulumi mocks: the resource graph (one local.Command per copy on an explicit command provider,
// under a dvm:images:ImageMigration, after the destination namespace, history copies chained oldest first), secrets
// kept secret, the digest as the only trigger, no delete command, images-only namespaces, render mode, the records in
// the `migration` output; then what is copied (ImageStream discovery, explicit images, their digests) and every
// error naming its key; and the script against the contract.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as C from "../../contract";
import { ConfigError } from "../../config/errors";
import { Plan } from "../../config/plan";
import { ImageStream, imageStreamCopies } from "../../components/images/discover";
import { planImages, ResolveDeps } from "../../components/images/resolve";
import { inspectProblem, manifestDigest, SkopeoRunner } from "../../components/images/skopeo";
import { declared, declaredOpts, installMocks, isSecret, makePlan, ofType, promiseOf, reset, settle, unsecret } from "../support/mocks";

installMocks();
const { MigrationWave } = require("../../components/wave") as typeof import("../../components/wave");
const { copyRecord, scriptPath } = require("../../components/images") as typeof import("../../components/images");

const SRC = "registry.src.example.com:5000";
const DST = "registry.dst.example.com/migrated";
const INTERNAL = "image-registry.openshift-image-registry.svc:5000";
const SECRETS = { srcUser: "src-robot", srcPassword: "src-Pa55word-never-plain", dstUser: "dst-robot", dstPassword: "dst-Pa55word-never-plain" };
const IMAGES = {
    source: { registry: SRC, username: SECRETS.srcUser, password: SECRETS.srcPassword },
    destination: { registry: DST, username: SECRETS.dstUser, password: SECRETS.dstPassword },
};
const digestOf = (s: string) => manifestDigest(Buffer.from(s));

/** A wave: billing moves volumes and images, shop only images (renamed namespace). */
const WAVE = {
    name: "wave-1",
    namespaces: [
        { name: "billing", images: ["billing/api:2.1"], pvcs: [{ name: "postgresql", capacity: "10Gi" }] },
        { name: "shop", targetNamespace: "shop-west", images: ["shop/web:1.4", "shared/base:1"] },
    ],
};

/** ImageStream `web` of shop: tag 1.4 with three items (newest first, as the API lists them), one of them foreign. */
const STREAMS: ImageStream[] = [{
    metadata: { name: "web", namespace: "shop" },
    status: {
        dockerImageRepository: `${INTERNAL}/shop/web`,
        tags: [
            { tag: "1.4", items: [
                { dockerImageReference: `${INTERNAL}/shop/web@${digestOf("web-3")}`, image: digestOf("web-3"), created: "2026-03-01T00:00:00Z" },
                { dockerImageReference: `quay.io/upstream/web@${digestOf("quay")}`, image: digestOf("quay"), created: "2026-02-01T00:00:00Z" },
                { dockerImageReference: `${SRC}/shop/web@${digestOf("web-1")}`, image: digestOf("web-1"), created: "2026-01-01T00:00:00Z" },
            ] },
            { tag: "empty", items: null },
        ],
    },
}];

/** A fake skopeo: `inspect --raw docker://<ref>` answers the manifest bytes `manifest:<ref>`, or an error. */
function fakeSkopeo(calls: string[][], fail?: (ref: string) => string | undefined): SkopeoRunner {
    return async (args) => {
        calls.push(args);
        const ref = args[args.length - 1].replace("docker://", "");
        const err = fail?.(ref);
        if (err) return { code: 1, stdout: Buffer.alloc(0), stderr: `time="2026-01-01T00:00:00Z" level=fatal msg="${err}"\n` };
        return { code: 0, stdout: Buffer.from(`manifest:${ref}`), stderr: "" };
    };
}

function deps(calls: string[][] = [], streams: ImageStream[] = STREAMS, served = true, fail?: (ref: string) => string | undefined): ResolveDeps {
    return {
        skopeo: fakeSkopeo(calls, fail),
        readImageStreams: async (_access, namespaces) => ({
            served,
            streams: new Map(namespaces.map((ns) => [ns, served ? streams.filter((s) => s.metadata.namespace === ns) : []])),
        }),
    };
}

async function build(plan: Plan, d: ResolveDeps = deps()) {
    reset();
    const wave = new MigrationWave("wave", { plan, sourceKubeconfig: "apiVersion: v1\nkind: Config\n", destinationKubeconfig: "apiVersion: v1\nkind: Config\n", imageDeps: d });
    const migration: any = await promiseOf(wave.migration);
    await settle();
    return migration;
}

const commands = () => ofType("command:local:Command");
const env = (c: { inputs: any }) => unsecret(c.inputs.environment);
const urnOf = (name: string) => [...declaredOpts.entries()].find(([n]) => n === name);

describe("images: the resource graph under mocks", function () {
    this.timeout(30000);
    let migration: any;
    const calls: string[][] = [];
    before(async () => {
        migration = await build(makePlan({ images: IMAGES }, WAVE), deps(calls));
    });

    it("one local.Command per copy, on one explicit command provider, under a dvm:images:ImageMigration per namespace", () => {
        const providers = ofType("pulumi:providers:command");
        assert.deepStrictEqual(providers.map((p) => p.name), ["images"]);
        // billing/api, shop: two history items of web:1.4 (the quay.io one stays), shared/base (web:1.4 comes from the ImageStream)
        assert.deepStrictEqual(commands().map((c) => env(c).DVM_IMAGE_DESTINATION).sort(), [
            `${DST}/billing/api:2.1`, `${DST}/shop-west/shared/base:1`, `${DST}/shop-west/web:1.4`, `${DST}/shop-west/web:1.4`,
        ]);
        for (const c of commands()) {
            assert.match(c.provider!, /\$pulumi:providers:command::images::/, `${c.name} uses the explicit provider`);
            assert.match(declaredOpts.get(c.name)!.parent, /dvm:images:ImageMigration::(billing|shop)-images$/, `${c.name}'s parent`);
        }
        assert.deepStrictEqual(ofType("dvm:images:ImageMigration").map((m) => m.name).sort(), ["billing-images", "shop-images"]);
    });

    it("runs image-copy.sh (update: keep the record; no delete command); the digest is the only trigger", () => {
        assert.strictEqual(scriptPath(path.join(__dirname, "..", "..")), "components/images/scripts/image-copy.sh");
        for (const c of commands()) {
            assert.match(c.inputs.create, /^bash \S*components\/images\/scripts\/image-copy\.sh$/);
            assert.strictEqual(c.inputs.update, `${c.inputs.create} keep`);
            assert.strictEqual(c.inputs.delete, undefined, "removing a copy never deletes the destination image");
            assert.deepStrictEqual(c.inputs.triggers, [env(c).DVM_IMAGE_DIGEST]);
            assert.match(env(c).DVM_IMAGE_DIGEST, /^sha256:[0-9a-f]{64}$/);
            assert.strictEqual(c.inputs.logging, "stderr");
        }
        const api = commands().find((c) => env(c).DVM_IMAGE_DESTINATION.endsWith("/billing/api:2.1"))!;
        assert.strictEqual(env(api).DVM_IMAGE_SOURCE, `${SRC}/billing/api:2.1`);
        assert.strictEqual(env(api).DVM_IMAGE_DIGEST, digestOf(`manifest:${SRC}/billing/api:2.1`), "the digest skopeo inspect --raw reported");
        assert.deepStrictEqual(Object.keys(env(api)).sort(), Object.values(C.IMAGE_ENV).sort(), "the environment is the contract's");
    });

    it("credentials only as secrets in the environment; nowhere else in any input", () => {
        for (const c of commands()) {
            // the mocks see a map with a secret value as a secret map; the engine keeps the values secret (engine tier)
            assert.ok(isSecret(c.inputs.environment), `${c.name}: the environment holds secrets`);
            assert.strictEqual(env(c)[C.IMAGE_ENV.dstPassword], SECRETS.dstPassword);
        }
        for (const d of declared) {
            const plain = JSON.stringify(d.inputs, (k, v) => (isSecret(v) ? "[secret]" : v));
            for (const s of Object.values(SECRETS)) assert.ok(!plain.includes(s), `${d.type} ${d.name} holds ${s} outside a secret`);
        }
        // the program's own registry reads: the auth file is named, the credentials are not
        for (const args of calls) for (const s of Object.values(SECRETS)) assert.ok(!args.join(" ").includes(s), `skopeo ${args.join(" ")}`);
        assert.ok(calls.every((a) => a.includes("--authfile")));
    });

    it("copies only after the destination namespace exists; one tag's history oldest first", () => {
        const nsUrn = (name: string) => urnOf(name)?.[0];
        assert.ok(nsUrn("shop-dst-namespace") && nsUrn("billing-dst-namespace"));
        const deps = (c: { name: string }) => declaredOpts.get(c.name)!.dependencies;
        for (const c of commands()) {
            const target = env(c).DVM_IMAGE_DESTINATION.includes("/shop-west/") ? "shop-dst-namespace" : "billing-dst-namespace";
            assert.ok(deps(c).some((u) => u.endsWith(`::${target}`)), `${c.name} depends on ${target}: ${deps(c)}`);
        }
        const web = commands().filter((c) => env(c).DVM_IMAGE_DESTINATION.endsWith("/web:1.4"));
        const older = web.find((c) => env(c).DVM_IMAGE_DIGEST === digestOf("web-1"))!;
        const newer = web.find((c) => env(c).DVM_IMAGE_DIGEST === digestOf("web-3"))!;
        assert.strictEqual(env(older).DVM_IMAGE_SOURCE, `${SRC}/shop/web@${digestOf("web-1")}`);
        assert.strictEqual(env(newer).DVM_IMAGE_SOURCE, `${SRC}/shop/web@${digestOf("web-3")}`, "the internal name is read through the configured registry");
        assert.ok(deps(newer).some((u) => u.endsWith(`::${older.name}`)), "the newest item is copied after the older one");
        assert.ok(!deps(older).some((u) => u.endsWith(`::${newer.name}`)));
    });

    it("an images-only namespace: its destination namespace (retained), no transfer objects", () => {
        const ns = ofType("kubernetes:core/v1:Namespace").find((n) => n.inputs.metadata.name === "shop-west")!;
        assert.ok(ns, "the destination namespace of shop");
        assert.match(ns.provider!, /::destination::/);
        assert.strictEqual(declaredOpts.get("shop-dst-namespace")!.retainOnDelete, true);
        for (const t of ["kubernetes:batch/v1:Job", "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:PersistentVolumeClaim", "kubernetes:core/v1:Secret"]) {
            assert.ok(!ofType(t).some((d) => [d.inputs.metadata?.namespace].includes("shop") || [d.inputs.metadata?.namespace].includes("shop-west")), `no ${t} for shop`);
        }
        assert.strictEqual(ofType("pulumi-nodejs:dynamic/progress:TransferProgress").length, 1, "only billing waits for a transfer");
    });

    it("records each image in the migration output beside phase, target and pvcs", () => {
        assert.deepStrictEqual(Object.keys(migration.namespaces.billing).sort(), ["images", "mode", "phase", "pvcs", "quiesced", "target", "workloads"]);
        assert.strictEqual(migration.namespaces.billing.phase, "Succeeded");
        assert.ok(migration.namespaces.billing.pvcs.postgresql);
        const shop = migration.namespaces.shop;
        assert.deepStrictEqual({ phase: shop.phase, target: shop.target, pvcs: shop.pvcs }, { phase: "Succeeded", target: "shop-west", pvcs: {} });
        assert.deepStrictEqual(shop.images.map((r: any) => [r.destination, r.origin, r.tag, r.result]), [
            [`${DST}/shop-west/web:1.4`, "imagestream", "web:1.4", "Copied"],
            [`${DST}/shop-west/web:1.4`, "imagestream", "web:1.4", "Copied"],
            [`${DST}/shop-west/shared/base:1`, "wave", undefined, "Copied"],
        ]);
        assert.deepStrictEqual(shop.images[0], {
            source: `${SRC}/shop/web@${digestOf("web-1")}`, destination: `${DST}/shop-west/web:1.4`, digest: digestOf("web-1"),
            origin: "imagestream", tag: "web:1.4", result: "Copied", bytes: 4096, seconds: 1.5, attempts: 1,
        });
    });
});

describe("images: a cutover and a rollback of a namespace that only moves images", function () {
    this.timeout(30000);
    const QUIESCE = "pulumi-nodejs:dynamic/quiesce:SourceQuiesce";
    const RESTORE = "pulumi-nodejs:dynamic/quiesce:SourceRestore";
    const { makeQuiesceProvider, makeRestoreProvider } = require("../../components/quiesce/provider") as typeof import("../../components/quiesce/provider");
    const quiesced = () => ofType(QUIESCE).map((q) => q.inputs.namespace).sort();

    it("scope namespace: the cutover quiesces it too (no application left running on the source); scope pvcs: nothing of it to stop", async () => {
        const m = await build(makePlan({ images: IMAGES, migration: "cutover", quiesce: { scope: "namespace", timeoutSeconds: 60 } }, WAVE));
        assert.deepStrictEqual(quiesced(), ["billing", "shop"]);
        const shop = ofType(QUIESCE).find((q) => q.inputs.namespace === "shop")!;
        assert.deepStrictEqual([shop.inputs.pvcs, shop.inputs.scope], [[], "namespace"]);
        assert.strictEqual(m.namespaces.shop.mode, "cutover");
        assert.strictEqual(commands().filter((c) => env(c).DVM_IMAGE_DESTINATION.includes("/shop-west/")).length, 3, "the images are still copied");
        await build(makePlan({ images: IMAGES, migration: "cutover" }, WAVE));
        assert.deepStrictEqual(quiesced(), ["billing"]);
    });

    it("rollback restores it like any namespace of the wave", async () => {
        await build(makePlan({ images: IMAGES, migration: "rollback" }, WAVE));
        assert.deepStrictEqual(ofType(RESTORE).map((q) => q.inputs.namespace).sort(), ["billing", "shop"]);
    });

    it("the providers take a namespace without PVCs where they need none: a restore, a quiesce of scope namespace", async () => {
        const inputs = (scope: "pvcs" | "namespace") => ({ namespace: "shop", wave: "wave-1", pass: 1, pvcs: [], scope, timeoutSeconds: 60, render: false });
        const none = () => { throw new Error("check reads no cluster"); };
        assert.deepStrictEqual((await makeRestoreProvider(none).check(undefined, inputs("pvcs"))).failures, []);
        assert.deepStrictEqual((await makeQuiesceProvider(none).check(undefined, inputs("namespace"))).failures, []);
        assert.deepStrictEqual((await makeQuiesceProvider(none).check(undefined, inputs("pvcs"))).failures.map((f) => f.property), ["pvcs"]);
    });
});

describe("images: render mode and waves without dvm:images", function () {
    this.timeout(30000);

    it("render mode copies nothing and reads no registry or cluster: records say Rendered", async () => {
        const calls: string[][] = [];
        let read = false;
        const d = deps(calls);
        const migration = await build(makePlan({ images: IMAGES, render: "/tmp/r" }, WAVE), { ...d, readImageStreams: async (a, n) => { read = true; return d.readImageStreams!(a, n); } });
        assert.strictEqual(commands().length, 0);
        assert.strictEqual(ofType("pulumi:providers:command").length, 0);
        assert.deepStrictEqual(calls, []);
        assert.strictEqual(read, false);
        assert.strictEqual(migration.namespaces.shop.phase, "Rendered");
        assert.deepStrictEqual(migration.namespaces.shop.images.map((r: any) => [r.source, r.result]), [[`${SRC}/shop/web:1.4`, "Rendered"], [`${SRC}/shared/base:1`, "Rendered"]]);
    });

    it("without dvm:images: no command provider, no commands, and the output has no images key", async () => {
        const migration = await build(makePlan({}, { name: "w", namespaces: [{ name: "billing", pvcs: [{ name: "d", capacity: "1Gi" }] }] }));
        assert.strictEqual(ofType("pulumi:providers:command").length + commands().length, 0);
        assert.deepStrictEqual(Object.keys(migration.namespaces.billing).sort(), ["mode", "phase", "pvcs", "quiesced", "target", "workloads"]);
    });
});

describe("images: what is copied", () => {
    const plan = (images: Record<string, unknown> = {}, wave: unknown = WAVE) => makePlan({ images: { ...IMAGES, ...images } }, wave);
    const shop = () => plan().namespaces[1];

    it("ImageStreams: items in the source registry (configured, alias or internal), oldest first, deduplicated", () => {
        const cfg = plan({ source: { ...IMAGES.source, aliases: ["registry.old.example.com"] } }).images!;
        const at = (d: string, t: string) => ({ dockerImageReference: `${INTERNAL}/shop/web@${digestOf(d)}`, image: digestOf(d), created: t });
        const streams: ImageStream[] = [{
            metadata: { name: "web" },
            status: { dockerImageRepository: `${INTERNAL}/shop/web`, tags: [{ tag: "v", items: [
                at("c", "2026-03-01T00:00:00Z"), at("a", "2026-02-15T00:00:00Z"),
                { dockerImageReference: `registry.old.example.com/shop/web@${digestOf("b")}`, image: digestOf("b"), created: "2026-02-01T00:00:00Z" },
                at("a", "2026-01-01T00:00:00Z"),
                { dockerImageReference: `docker.io/library/web@${digestOf("x")}`, image: digestOf("x"), created: "2026-01-02T00:00:00Z" },
            ] }] },
        }];
        const copies = imageStreamCopies(streams, shop(), cfg);
        // a came back after b: it is copied once, after b, and stays the tag
        assert.deepStrictEqual(copies.map((c) => c.digest), [digestOf("b"), digestOf("a"), digestOf("c")]);
        assert.ok(copies.every((c) => c.source.startsWith(`${SRC}/shop/web@sha256:`) && c.destination === `${DST}/shop-west/web:v`));
        // without the stream's own internal name, items only on that host are not the source registry's
        const bare = [{ ...streams[0], status: { ...streams[0].status, dockerImageRepository: undefined } }];
        assert.deepStrictEqual(imageStreamCopies(bare, shop(), cfg).map((c) => c.digest), [digestOf("b")]);
    });

    it("equal or missing times keep the API's newest-first order, reversed", () => {
        const items = ["n3", "n2", "n1"].map((d) => ({ dockerImageReference: `${SRC}/shop/web@${digestOf(d)}`, image: digestOf(d) }));
        const copies = imageStreamCopies([{ metadata: { name: "web" }, status: { tags: [{ tag: "t", items }] } }], shop(), plan().images!);
        assert.deepStrictEqual(copies.map((c) => c.digest), ["n1", "n2", "n3"].map(digestOf));
    });

    it("discovery auto on a cluster without image.openshift.io: the listed images only; true: an error naming dvm:images.discover", async () => {
        const copies = await planImages(plan(), "kc", deps([], [], false));
        assert.deepStrictEqual([...copies.values()].flat().map((c) => c.origin), ["wave", "wave", "wave"]);
        await assert.rejects(planImages(plan({ discover: true }), "kc", deps([], [], false)), (e: ConfigError) =>
            e.problems.some((p) => p.where === "dvm:images.discover" && /does not serve image\.openshift\.io\/v1/.test(p.what)));
        let read = false;
        await planImages(plan({ discover: false }), "kc", { ...deps(), readImageStreams: async () => { read = true; return { served: true, streams: new Map() }; } });
        assert.strictEqual(read, false, "discover: false never lists ImageStreams");
    });

    it("a refused password, an untrusted CA, a missing image, an unreachable registry: each names its key or wave path", async () => {
        const fail = (msg: string, only?: string) => deps([], [], false, (ref) => (only === undefined || ref.includes(only) ? msg : undefined));
        const cases: Array<[string, string | undefined, string, RegExp]> = [
            ["reading manifest 2.1 in registry.src.example.com:5000/billing/api: unauthorized: authentication required", undefined, "dvm:images.source.password", /refused the credentials.*unauthorized: authentication required/],
            ["pinging container registry registry.src.example.com:5000: Get \\\"https://registry.src.example.com:5000/v2/\\\": x509: certificate signed by unknown authority", undefined, "dvm:images.source.caBundle", /not trusted.*x509/],
            ["reading manifest 1 in registry.src.example.com:5000/shared/base: manifest unknown: manifest unknown", "shared/base", "waves/w.yaml: namespaces[1].images[1]", /shared\/base:1 does not exist on the source registry: .*manifest unknown/],
            ["pinging container registry registry.src.example.com:5000: dial tcp 192.0.2.1:5000: connect: connection refused", undefined, "dvm:images.source.registry", /cannot reach/],
        ];
        for (const [msg, only, where, what] of cases) {
            await assert.rejects(planImages(plan({ discover: false }), "kc", fail(msg, only)), (e: ConfigError) => {
                const p = e.problems.find((x) => x.where === where);
                assert.ok(p, `no problem at ${where}: ${e.message}`);
                assert.match(p.what, what);
                assert.ok(p.example.length > 0);
                // one bad password behind three images is said once
                assert.strictEqual(e.problems.filter((x) => x.where === where).length, 1, e.message);
                return true;
            });
        }
        assert.strictEqual(inspectProblem("weird", "r/x:1", "w").where, "dvm:images.source");
    });

    it("the record comes from the script's last stdout line; a line that is not one keeps the plan's fields", () => {
        const c = { source: "s/a:1", destination: "d/a:1", digest: digestOf("a"), origin: "wave" as const };
        assert.deepStrictEqual(copyRecord(c, 'noise\n{"digest":"x","bytes":10,"seconds":0.5,"attempts":2}\n'), { ...c, result: "Copied", bytes: 10, seconds: 0.5, attempts: 2 });
        assert.deepStrictEqual(copyRecord(c, ""), { ...c, result: "Copied" });
    });
});

describe("images: image-copy.sh against the contract", () => {
    const script = fs.readFileSync(path.join(__dirname, "..", "..", "components", "images", "scripts", C.IMAGE_SCRIPT), "utf8");

    it("reads exactly the contract's environment and prints exactly its events", () => {
        const read = new Set([...script.matchAll(/\b(DVM_IMAGE_[A-Z_]+)\b/g)].map((m) => m[1]));
        assert.deepStrictEqual([...read].sort(), Object.values(C.IMAGE_ENV).sort());
        const printed = new Set([...script.matchAll(/\blog "([a-z][a-z-]*) /g)].map((m) => m[1]));
        assert.deepStrictEqual([...printed].sort(), Object.values(C.IMAGE_EVENTS).sort());
        assert.ok(script.includes(`exit ${C.IMAGE_EXIT_USAGE}`));
        const protocol = fs.readFileSync(path.join(__dirname, "..", "..", "contract", "PROTOCOL.md"), "utf8");
        for (const v of Object.values(C.IMAGE_ENV).filter((v) => !v.startsWith("DVM_IMAGE_DST_"))) assert.ok(protocol.includes(`\`${v}\``), `PROTOCOL.md documents ${v}`);
        for (const e of Object.values(C.IMAGE_EVENTS)) assert.ok(protocol.includes(`dvm: ${e} `), `PROTOCOL.md documents dvm: ${e}`);
        assert.ok(protocol.includes(`exit ${C.IMAGE_EXIT_USAGE}`));
    });

    it("never puts a credential on a command line: auth files from the environment, printf builtins only", () => {
        for (const line of script.split("\n").filter((l) => /PASSWORD|USERNAME|\$user|\$password|\$auth\b/.test(l))) {
            assert.ok(!/\b(skopeo|jq|curl|echo)\b/.test(line), `credential next to a program's argv: ${line.trim()}`);
        }
        assert.match(script, /--src-authfile/);
        assert.match(script, /--dest-authfile/);
        assert.doesNotMatch(script, /--(src-|dest-)?creds/);
        assert.match(script, /umask 077/);
    });
});

describe("images: dvm status", () => {
    it("adds an images table (destination, result, digest, size, copy time, attempts, source) below the PVCs", () => {
        const { statusTable } = require("../../cli/format") as typeof import("../../cli/format");
        const t = statusTable({
            wave: "wave-1", pass: 1,
            namespaces: {
                billing: { phase: "Succeeded", target: "billing", pvcs: { db: { phase: "Succeeded", attempts: 1, totalProgressPercentage: 100, transferredBytes: 10 } }, images: [
                    { source: `${SRC}/billing/api:2.1`, destination: `${DST}/billing/api:2.1`, digest: digestOf("a"), result: "Copied", bytes: 3 * 1024 * 1024, seconds: 75, attempts: 2 },
                ] },
                shop: { phase: "Succeeded", target: "shop-west", pvcs: {}, images: [{ source: `${SRC}/shop/web:1.4`, destination: `${DST}/shop-west/web:1.4`, digest: "", result: "Rendered" }] },
            },
        });
        const lines = t.split("\n");
        assert.match(lines[1], /^NAMESPACE\s+PVC\s+PHASE/);
        assert.match(lines[2], /^billing\s+db\s+Succeeded/);
        assert.strictEqual(lines[3], "");
        assert.match(lines[4], /^NAMESPACE\s+IMAGE\s+RESULT\s+DIGEST\s+SIZE\s+COPY TIME\s+ATTEMPTS\s+SOURCE$/);
        assert.match(lines[5], new RegExp(`^billing\\s+${DST}/billing/api:2\\.1\\s+Copied\\s+${digestOf("a").slice(0, 19)}\\s+3\\.0 MiB\\s+1m15s\\s+2\\s+${SRC}/billing/api:2\\.1$`));
        assert.match(lines[6], /^shop\s+\S+shop-west\/web:1\.4\s+Rendered\s+-\s+-\s+-\s+-\s+\S+$/);
        assert.ok(!statusTable({ wave: "w", namespaces: { a: { pvcs: {} } } }).includes("IMAGE"), "no images table without images");
    });
});
