// Image migration on real parts: two real registries on loopback (hack/registries.sh: Debian's docker-registry, TLS
// from a local CA each, htpasswd auth), seeded with real OCI images (one single-arch, one two-platform index), real
// skopeo. First the copy script on its own, then the image part of the program through the real engine and dvm's
// command-provider stand-in (test/engine/fixtures/images: config/ + components/images, no Kubernetes).
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { IMAGE_ENV, IMAGE_EXIT_USAGE, IMAGE_SCRIPT } from "../../contract";
import { copyProject, ok, pulumi as runPulumi, removeWorkDir, repoRoot, RunResult } from "../support/engine";
import { BuiltImage, buildLayout } from "../support/oci";
import { digestOf, platformsOf, Registries, seed, startRegistries, tagsOf } from "../support/registries";

const SCRIPT = path.join(repoRoot, "components", "images", "scripts", IMAGE_SCRIPT);
const AMD64 = { os: "linux", architecture: "amd64" };
const ARM64 = { os: "linux", architecture: "arm64", variant: "v8" };

/** Every distinct blob of an image in the layout (manifests, configs, layers) with its size: what the record counts. */
function layoutBytes(layout: string, digest: string): number {
    const blobs = new Map<string, number>();
    const read = (d: string) => fs.readFileSync(path.join(layout, "blobs", "sha256", d.slice(7)));
    const visit = (d: string) => {
        const raw = read(d);
        blobs.set(d, raw.length);
        const m = JSON.parse(raw.toString());
        for (const x of m.manifests ?? []) visit(x.digest);
        for (const x of [m.config, ...(m.layers ?? [])].filter(Boolean)) blobs.set(x.digest, x.size);
    };
    visit(digest);
    return [...blobs.values()].reduce((a, b) => a + b, 0);
}

interface Images { work: string; layout: string; regs: Registries; built: Record<string, BuiltImage> }

async function setUp(label: string): Promise<Images> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), `dvm-images-${label}-`));
    const regs = await startRegistries(path.join(work, "registries"));
    const layout = path.join(work, "oci");
    const built = Object.fromEntries(buildLayout(layout, [
        { tag: "web-1", label: "web 1.4", platforms: [AMD64] },
        { tag: "web-2", label: "web 1.4, rebuilt", platforms: [AMD64] },
        { tag: "multi", label: "multi 1.0", platforms: [AMD64, ARM64], index: true },
    ]).map((b) => [b.tag, b]));
    seed(regs.src, `oci:${layout}:web-1`, "app/web:1.4");
    seed(regs.src, `oci:${layout}:multi`, "app/multi:1.0");
    return { work, layout, regs, built };
}

function tearDown(x: Images | undefined): void {
    x?.regs.stop();
    if (x) fs.rmSync(x.work, { recursive: true, force: true });
}

describe("image-copy.sh against two real registries (TLS, htpasswd)", function () {
    let x: Images;
    let tmp = "";
    before(async () => {
        x = await setUp("script");
        tmp = path.join(x.work, "tmp");
        fs.mkdirSync(tmp);
    });
    after(() => tearDown(x));

    const env = (over: Record<string, string> = {}): NodeJS.ProcessEnv => ({
        PATH: process.env.PATH, TMPDIR: tmp,
        [IMAGE_ENV.source]: `${x.regs.src.host}/app/multi:1.0`,
        [IMAGE_ENV.destination]: `${x.regs.dst.host}/app-west/multi:1.0`,
        [IMAGE_ENV.digest]: x.built.multi.digest,
        [IMAGE_ENV.retries]: "2", [IMAGE_ENV.retryDelaySeconds]: "1",
        [IMAGE_ENV.srcUsername]: x.regs.src.user, [IMAGE_ENV.srcPassword]: x.regs.src.password,
        [IMAGE_ENV.srcTlsVerify]: "true", [IMAGE_ENV.srcCaBundle]: x.regs.src.ca,
        [IMAGE_ENV.dstUsername]: x.regs.dst.user, [IMAGE_ENV.dstPassword]: x.regs.dst.password,
        [IMAGE_ENV.dstTlsVerify]: "true", [IMAGE_ENV.dstCaBundle]: x.regs.dst.ca,
        ...over,
    });
    const run = (e: NodeJS.ProcessEnv, args: string[] = []) => {
        const r = spawnSync("bash", [SCRIPT, ...args], { env: e, encoding: "utf8", timeout: 5 * 60 * 1000 });
        return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    /** Runs the script in the background; while it runs, the command line of every process on the machine is read. */
    const runWatched = (e: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string; cmdlines: Set<string> }> => new Promise((resolve) => {
        const cmdlines = new Set<string>();
        const child = spawn("bash", [SCRIPT], { env: e });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => { stdout += d; });
        child.stderr.on("data", (d) => { stderr += d; });
        const sample = setInterval(() => {
            for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
                try {
                    cmdlines.add(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" "));
                } catch { /* gone */ }
            }
        }, 15);
        child.on("close", (code) => { clearInterval(sample); resolve({ code: code ?? -1, stdout, stderr, cmdlines }); });
    });

    it("copies every architecture of an index with its digest unchanged; stdout is the record alone", async () => {
        const r = await runWatched(env());
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.trim().split("\n");
        assert.equal(lines.length, 1, `stdout holds only the record: ${r.stdout}`);
        const rec = JSON.parse(lines[0]);
        assert.equal(rec.digest, x.built.multi.digest);
        assert.equal(rec.attempts, 1);
        assert.equal(rec.bytes, layoutBytes(x.layout, x.built.multi.digest), "every distinct blob of both platforms plus the manifests");
        assert.ok(rec.seconds >= 0 && rec.seconds < 120, JSON.stringify(rec));
        assert.equal(digestOf(x.regs.dst, "app-west/multi:1.0"), x.built.multi.digest, "skopeo inspect: equal digests on both sides");
        assert.equal(digestOf(x.regs.src, "app/multi:1.0"), x.built.multi.digest);
        assert.deepEqual(platformsOf(x.regs.dst, "app-west/multi:1.0"), ["linux/amd64", "linux/arm64/v8"]);
        assert.match(r.stderr, /dvm: image-copy-done .*attempts=1/);
        // while it ran, no process had a credential on its command line
        const secrets = [x.regs.src.password, x.regs.dst.password, Buffer.from(`${x.regs.dst.user}:${x.regs.dst.password}`).toString("base64")];
        assert.ok(r.cmdlines.size > 20, `the sampler saw the processes (${r.cmdlines.size})`);
        assert.ok([...r.cmdlines].some((c) => c.includes("skopeo copy")), "the sampler saw skopeo run");
        for (const c of r.cmdlines) for (const s of secrets) assert.ok(!c.includes(s), `a command line holds a credential: ${c.replace(s, "<secret>")}`);
        assert.deepEqual(fs.readdirSync(tmp), [], "the auth files and cert dirs are removed");
    });

    it("`keep` (the update) prints the last record and copies nothing", () => {
        const r = run({ PATH: process.env.PATH, PULUMI_COMMAND_STDOUT: '{"digest":"sha256:x","bytes":1}' }, ["keep"]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, '{"digest":"sha256:x","bytes":1}\n');
        assert.equal(r.stderr, "");
    });

    it("copies the digest the program resolved, even when the source tag moved since", () => {
        const moved = path.join(x.work, "moved");
        fs.mkdirSync(moved);
        seed(x.regs.src, `oci:${x.layout}:web-2`, "app/moving:1");
        seed(x.regs.src, `oci:${x.layout}:web-1`, "app/moving:1");
        const r = run(env({ [IMAGE_ENV.source]: `${x.regs.src.host}/app/moving:1`, [IMAGE_ENV.destination]: `${x.regs.dst.host}/app-west/moving:1`, [IMAGE_ENV.digest]: x.built["web-2"].digest }));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(digestOf(x.regs.src, "app/moving:1"), x.built["web-1"].digest);
        assert.equal(digestOf(x.regs.dst, "app-west/moving:1"), x.built["web-2"].digest);
    });

    it("a refused destination password fails at once, naming dvm:images.destination.password, with the registry's words", () => {
        const started = Date.now();
        const r = run(env({ [IMAGE_ENV.dstPassword]: "wrong", [IMAGE_ENV.destination]: `${x.regs.dst.host}/app-west/refused:1`, [IMAGE_ENV.retryDelaySeconds]: "30" }));
        assert.equal(r.code, 1);
        assert.ok(Date.now() - started < 25000, "no retry after a refused password");
        assert.match(r.stderr, /dvm: image-copy-failed source=\S+\/app\/multi:1\.0 destination=\S+\/app-west\/refused:1 attempts=1 reason=credentials registry=destination/);
        assert.match(r.stderr, /check dvm:images\.destination\.username and dvm:images\.destination\.password/);
        assert.match(r.stderr, /registry error: .*unauthorized: authentication required/);
        assert.equal(r.stdout, "");
        assert.deepEqual(tagsOf(x.regs.dst, "app-west/refused"), []);
    });

    it("a source password and a CA that are wrong name their keys too", () => {
        const src = run(env({ [IMAGE_ENV.srcPassword]: "wrong" }));
        assert.equal(src.code, 1);
        assert.match(src.stderr, /reason=credentials registry=source/);
        assert.match(src.stderr, /check dvm:images\.source\.username and dvm:images\.source\.password/);
        const tls = run(env({ [IMAGE_ENV.dstCaBundle]: x.regs.src.ca }));
        assert.equal(tls.code, 1);
        assert.match(tls.stderr, /reason=tls registry=destination/);
        assert.match(tls.stderr, /check dvm:images\.destination\.caBundle/);
        assert.match(tls.stderr, /x509: certificate signed by unknown authority/);
    });

    it("an outage of the destination is retried with a delay and heals", async () => {
        x.regs.pause("dst");
        let resumed = false;
        const child = spawn("bash", [SCRIPT], { env: env({ [IMAGE_ENV.destination]: `${x.regs.dst.host}/app-west/outage:1`, [IMAGE_ENV.retries]: "5", [IMAGE_ENV.retryDelaySeconds]: "2" }) });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => { stdout += d; });
        child.stderr.on("data", (d) => {
            stderr += d;
            if (!resumed && /image-copy-retry .*attempt=1 delay=2s .*connection refused/.test(stderr)) {
                resumed = true;
                x.regs.resume("dst");
            }
        });
        const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
        if (!resumed) x.regs.resume("dst");
        assert.ok(resumed, `the first attempt failed on the outage and was retried: ${stderr}`);
        assert.equal(code, 0, stderr);
        assert.ok(JSON.parse(stdout).attempts >= 2, stdout);
        assert.equal(digestOf(x.regs.dst, "app-west/outage:1"), x.built.multi.digest);
    });

    it("gives up after the last retry, with the registry's error", () => {
        x.regs.pause("dst");
        try {
            const started = Date.now();
            const r = run(env({ [IMAGE_ENV.retries]: "1", [IMAGE_ENV.retryDelaySeconds]: "1" }));
            assert.equal(r.code, 1);
            assert.ok(Date.now() - started >= 1000, "waited the delay once");
            assert.equal((r.stderr.match(/image-copy-attempt/g) ?? []).length, 2);
            assert.match(r.stderr, /image-copy-failed .*attempts=2 reason=retries-exhausted/);
            assert.match(r.stderr, /registry error: .*connection refused/);
        } finally {
            x.regs.resume("dst");
        }
    });

    it("an incomplete environment is a usage error (exit 98), never a copy", () => {
        const e = env();
        delete e[IMAGE_ENV.digest];
        const r = run(e);
        assert.equal(r.code, IMAGE_EXIT_USAGE);
        assert.match(r.stderr, /dvm: usage-error missing=DVM_IMAGE_DIGEST/);
    });
});

describe("the image part of the program under the engine (real registries, the command stand-in)", function () {
    let x: Images | undefined;
    let work = "";
    let project = "";
    let broken = "";
    const STACK = "images";
    const pulumi = (...args: string[]): RunResult => runPulumi(work, project, args, { DVM_REPO: repoRoot });
    const pulumiOk = (...args: string[]): RunResult => ok(pulumi(...args), `pulumi ${args.join(" ")}`);
    const up = () => pulumi("up", "--yes", "--skip-preview", "--stack", STACK);
    const migration = () => JSON.parse(pulumiOk("stack", "output", "--json", "--show-secrets", "migration", "--stack", STACK).stdout);
    const wave = (images: string[]) => fs.writeFileSync(path.join(project, "waves", "w.yaml"),
        `name: wave-img\nnamespaces:\n  - name: app\n    targetNamespace: app-west\n    images: [${images.join(", ")}]\n`);
    const secrets = () => {
        const r = x!.regs;
        return [r.src.password, r.dst.password, ...[r.src, r.dst].map((s) => Buffer.from(`${s.user}:${s.password}`).toString("base64"))];
    };

    before(async function () {
        x = await setUp("engine");
        work = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-engine-images-"));
        fs.mkdirSync(path.join(work, "state"));
        fs.mkdirSync(path.join(work, "pulumi-home"));
        project = copyProject(work, ["Pulumi.yaml", "index.ts"], path.join(__dirname, "fixtures", "images"));
        fs.copyFileSync(path.join(repoRoot, "tsconfig.json"), path.join(project, "tsconfig.json"));
        fs.mkdirSync(path.join(project, "waves"));
        fs.mkdirSync(path.join(project, "certs"));
        fs.copyFileSync(x.regs.src.caFile, path.join(project, "certs", "src-ca.pem"));
        wave(["app/web:1.4", "app/multi:1.0"]);
        pulumiOk("stack", "init", STACK);
        // set-all takes key=value, so a value may start with '-' (a PEM)
        const set = (key: string, value: string, secret = false) => pulumiOk("config", "set-all", "--stack", STACK, "--path", secret ? "--secret" : "--plaintext", `${key}=${value}`);
        set("dvm:source.context", "unused-src");
        set("dvm:destination.context", "unused-dst");
        set("dvm:destination.endpoint.type", "nodePort");
        set("dvm:destination.endpoint.nodeAddress", "192.0.2.10");
        pulumiOk("config", "set", "--stack", STACK, "dvm:wave", "waves/w.yaml");
        set("dvm:images.source.registry", x.regs.src.host);
        set("dvm:images.source.username", x.regs.src.user);
        set("dvm:images.source.password", x.regs.src.password, true);
        set("dvm:images.source.caBundle", "certs/src-ca.pem");
        set("dvm:images.destination.registry", x.regs.dst.host);
        set("dvm:images.destination.username", x.regs.dst.user);
        set("dvm:images.destination.password", x.regs.dst.password, true);
        set("dvm:images.destination.caBundle", x.regs.dst.ca);
        set("dvm:images.discover", "false");
        set("dvm:images.retryDelaySeconds", "1");
    });
    beforeEach(function () {
        if (broken) throw new Error(`not run: the earlier step "${broken}" failed`);
    });
    afterEach(function () {
        if (this.currentTest?.state === "failed" && !broken) broken = this.currentTest.title;
    });
    after(function () {
        tearDown(x);
        if (work) removeWorkDir(work);
    });

    it("pulumi up copies both images; skopeo inspect shows equal digests; the records are in the migration output", function () {
        const r = ok(up(), "pulumi up");
        assert.match(r.output, /\+ 5 created/, r.output);
        const b = x!.built;
        assert.equal(digestOf(x!.regs.dst, "app-west/web:1.4"), b["web-1"].digest);
        assert.equal(digestOf(x!.regs.dst, "app-west/multi:1.0"), b.multi.digest);
        assert.deepEqual(platformsOf(x!.regs.dst, "app-west/multi:1.0"), ["linux/amd64", "linux/arm64/v8"]);
        const images = migration().namespaces.app.images;
        assert.deepEqual(images.map((i: any) => [i.source, i.destination, i.digest, i.result, i.origin, i.attempts]), [
            [`${x!.regs.src.host}/app/web:1.4`, `${x!.regs.dst.host}/app-west/web:1.4`, b["web-1"].digest, "Copied", "wave", 1],
            [`${x!.regs.src.host}/app/multi:1.0`, `${x!.regs.dst.host}/app-west/multi:1.0`, b.multi.digest, "Copied", "wave", 1],
        ]);
        assert.equal(images[1].bytes, layoutBytes(x!.layout, b.multi.digest));
        assert.equal(typeof images[1].seconds, "number");
    });

    it("a second pulumi up changes nothing", function () {
        ok(pulumi("preview", "--expect-no-changes", "--stack", STACK), "pulumi preview --expect-no-changes");
        const r = ok(up(), "pulumi up");
        assert.match(r.output, /5 unchanged/, r.output);
        assert.doesNotMatch(r.output, /created|replaced|updated|image-copy-attempt/, r.output);
    });

    it("pulumi stack export holds no credential in plain text; the commands' environment is ciphertext", function () {
        const text = pulumiOk("stack", "export", "--stack", STACK).stdout;
        for (const s of secrets()) assert.ok(!text.includes(s), "a credential in plain text in the state");
        const commands = JSON.parse(text).deployment.resources.filter((res: any) => res.type === "command:local:Command");
        assert.equal(commands.length, 2);
        for (const c of commands) {
            for (const k of [IMAGE_ENV.srcUsername, IMAGE_ENV.srcPassword, IMAGE_ENV.dstUsername, IMAGE_ENV.dstPassword]) {
                assert.ok(c.inputs.environment[k]?.ciphertext, `${k} is ciphertext in the inputs: ${JSON.stringify(c.inputs.environment[k])}`);
                assert.ok(c.outputs.environment[k]?.ciphertext, `${k} is ciphertext in the outputs`);
            }
            assert.equal(c.inputs.environment[IMAGE_ENV.destination], c.outputs.environment[IMAGE_ENV.destination], "the rest stays readable");
            assert.equal(c.inputs.delete, undefined, "no delete command");
        }
        // nor in the stack file, where pulumi config set --secret put them
        const stackFile = fs.readFileSync(path.join(project, `Pulumi.${STACK}.yaml`), "utf8");
        for (const s of secrets()) assert.ok(!stackFile.includes(s));
    });

    it("a new source digest copies that image again, and only that one", function () {
        seed(x!.regs.src, `oci:${x!.layout}:web-2`, "app/web:1.4");
        const r = ok(up(), "pulumi up");
        assert.match(r.output, /\+-\s*1 replaced/, r.output);
        assert.match(r.output, /4 unchanged/, r.output);
        assert.equal(digestOf(x!.regs.dst, "app-west/web:1.4"), x!.built["web-2"].digest);
        assert.equal(migration().namespaces.app.images[0].digest, x!.built["web-2"].digest);
    });

    it("a wrong destination password fails pulumi up naming the image, dvm:images.destination and the registry's error", function () {
        pulumiOk("config", "set", "--stack", STACK, "--path", "--secret", "dvm:images.destination.password", "wrong-password");
        seed(x!.regs.src, `oci:${x!.layout}:web-1`, "app/extra:2");
        wave(["app/web:1.4", "app/multi:1.0", "app/extra:2"]);
        const r = up();
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, /image-copy-failed source=\S+\/app\/extra:2 destination=\S+\/app-west\/extra:2/);
        assert.match(r.output, /dvm:images\.destination\.password/);
        assert.match(r.output, /unauthorized: authentication required/);
        assert.ok(!r.output.includes("wrong-password"), "the error never shows the password");
        assert.deepEqual(tagsOf(x!.regs.dst, "app-west/extra"), []);
        // the images copied before are untouched: a password change alone copies nothing
        assert.equal(digestOf(x!.regs.dst, "app-west/web:1.4"), x!.built["web-2"].digest);
        pulumiOk("config", "set", "--stack", STACK, "--path", "--secret", "dvm:images.destination.password", x!.regs.dst.password);
        ok(up(), "pulumi up with the right password");
        assert.equal(digestOf(x!.regs.dst, "app-west/extra:2"), x!.built["web-1"].digest);
    });

    it("a wrong source password fails before anything is created, naming dvm:images.source.password", function () {
        pulumiOk("config", "set", "--stack", STACK, "--path", "--secret", "dvm:images.source.password", "wrong-password");
        try {
            const r = up();
            assert.notEqual(r.code, 0, r.output);
            assert.match(r.output, /nothing was created or changed/);
            assert.match(r.output, /dvm:images\.source\.password: the source registry refused the credentials .*unauthorized: authentication required/);
            assert.doesNotMatch(r.output, /\n\s+at .*\.(ts|js):\d+/, "no stack trace");
        } finally {
            pulumiOk("config", "set", "--stack", STACK, "--path", "--secret", "dvm:images.source.password", x!.regs.src.password);
        }
    });

    it("passwords in a dvm:images that is not a secret are refused, naming the keys", function () {
        // pulumi itself asks for --plaintext before it stores a value that looks like a secret
        const plain = (side: "source" | "destination", value: string) =>
            pulumiOk("config", "set", "--stack", STACK, "--path", "--plaintext", `dvm:images.${side}.password`, value);
        plain("source", x!.regs.src.password);
        plain("destination", x!.regs.dst.password);
        try {
            const r = up();
            assert.notEqual(r.code, 0, r.output);
            assert.match(r.output, /dvm:images\.source\.password: is not a Pulumi secret/);
            assert.match(r.output, /dvm:images\.destination\.password: is not a Pulumi secret/);
        } finally {
            pulumiOk("config", "set", "--stack", STACK, "--path", "--secret", "dvm:images.source.password", x!.regs.src.password);
            pulumiOk("config", "set", "--stack", STACK, "--path", "--secret", "dvm:images.destination.password", x!.regs.dst.password);
        }
    });

    it("removing the wave (pulumi destroy) leaves every destination image in place", function () {
        ok(pulumi("destroy", "--yes", "--skip-preview", "--stack", STACK), "pulumi destroy");
        assert.equal(digestOf(x!.regs.dst, "app-west/web:1.4"), x!.built["web-2"].digest);
        assert.equal(digestOf(x!.regs.dst, "app-west/multi:1.0"), x!.built.multi.digest);
        assert.equal(digestOf(x!.regs.dst, "app-west/extra:2"), x!.built["web-1"].digest);
    });
});
