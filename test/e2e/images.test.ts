// Image migration end to end: dvm's whole program through the real engine between the local clusters, with two real
// registries on loopback (hack/registries.sh) and the ImageStream CRD installed on the source cluster. The
// ImageStreams of img-os point at the source test registry under its address, an alias and the internal name
// OpenShift uses; img-plain lists its images in the wave file (the transfer image's own OCI archive among them) and
// moves no volume; img-mixed moves a PVC and an image. Namespaces img-* on both clusters; all removed afterwards.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LABELS, MANAGED_BY } from "../../contract";
import { copyProject, engineEnv, ok, pulumi, pulumiOk, removeWorkDir, repoRoot, RunResult, workDir } from "../support/engine";
import { BuiltImage, buildLayout } from "../support/oci";
import { digestOf, platformsOf, Registries, seed, startRegistries, tagsOf } from "../support/registries";
import {
    createPvc, deleteNamespaces, DST, DST_NODE_ADDRESS, IMAGE, kubectl, kubectlOk, PROJECT_ENTRIES, requireClusters, resetVolumes,
    SRC, STORAGE_CLASS, stackYaml,
} from "../support/clusters";

const INTERNAL = "image-registry.openshift-image-registry.svc:5000";
const ALIAS = "registry.alias.example:5000";
const CRD = "imagestreams.image.openshift.io";
const NS = { src: ["img-os", "img-plain", "img-mixed"], dst: ["img-os", "img-plain-west", "img-mixed"] };
const STACK = "img";
const AMD64 = { os: "linux", architecture: "amd64" };
const ARM64 = { os: "linux", architecture: "arm64", variant: "v8" };

const WAVE = `name: img-wave
namespaces:
  - name: img-os                       # ImageStreams only: no PVCs, no images listed
  - name: img-plain
    targetNamespace: img-plain-west
    images: [img-plain/dvm-transfer:bookworm, img-plain/multi:1.0, shared/base:1]
  - name: img-mixed
    nodeName: ${SRC}
    images: [img-mixed/web:2]
    pvcs:
      - {name: data, capacity: 1Gi, accessModes: [ReadWriteOnce], storageClass: ${STORAGE_CLASS}}
`;
const NEXT_WAVE = `name: img-wave\nnamespaces:\n  - name: img-os\n`;

const CRD_YAML = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ${CRD}}
spec:
  group: image.openshift.io
  scope: Namespaced
  names: {plural: imagestreams, singular: imagestream, kind: ImageStream, shortNames: [is]}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`;

/** An ImageStream as OpenShift's controller keeps it: per tag, the items newest first. */
function imageStream(name: string, tags: Record<string, Array<{ ref: string; digest: string; created: string }>>): string {
    return JSON.stringify({
        apiVersion: "image.openshift.io/v1", kind: "ImageStream",
        metadata: { name, namespace: "img-os" },
        spec: { lookupPolicy: { local: false } },
        status: {
            dockerImageRepository: `${INTERNAL}/img-os/${name}`,
            tags: Object.entries(tags).map(([tag, items]) => ({
                tag, items: items.map((i) => ({ dockerImageReference: `${i.ref}@${i.digest}`, image: i.digest, created: i.created, generation: 1 })),
            })),
        },
    });
}

describe("e2e images: ImageStream discovery, images-only namespaces and wave-file images between two real registries", function () {
    let regs: Registries | undefined;
    let work = "";
    let project = "";
    let built: Record<string, BuiltImage> = {};
    let layout = "";
    let transferDigest = "";
    let broken = "";
    const policyPack = path.join(repoRoot, "policies");
    const up = (): RunResult => pulumi(work, project, ["up", "--yes", "--skip-preview", "--stack", STACK,
        "--policy-pack", policyPack, "--policy-pack-config", path.join(policyPack, "config", "root.json")]);
    const migration = () => JSON.parse(pulumiOk(work, project, ["stack", "output", "migration", "--json", "--show-secrets", "--stack", STACK]).stdout);
    // set-all takes key=value, so a value may start with '-' (a PEM)
    const set = (key: string, value: string, secret = false) =>
        pulumiOk(work, project, ["config", "set-all", "--stack", STACK, "--path", secret ? "--secret" : "--plaintext", `${key}=${value}`]);
    const streams = (web: Array<{ ref: string; digest: string; created: string }>) => {
        kubectlOk(SRC, ["apply", "-f", "-"], imageStream("web", { "1.0": web }));
        kubectlOk(SRC, ["apply", "-f", "-"], imageStream("multi", { latest: [{ ref: `${ALIAS}/img-os/multi`, digest: built.multi.digest, created: "2026-01-05T00:00:00Z" }] }));
        kubectlOk(SRC, ["apply", "-f", "-"], imageStream("upstream", { "1": [{ ref: "quay.io/upstream/tool", digest: `sha256:${"e".repeat(64)}`, created: "2026-01-01T00:00:00Z" }] }));
    };
    const web = () => [
        { ref: `${INTERNAL}/img-os/web`, digest: built["web-2"].digest, created: "2026-01-03T00:00:00Z" },
        { ref: "quay.io/upstream/web", digest: `sha256:${"f".repeat(64)}`, created: "2026-01-02T00:00:00Z" },
        { ref: `${regs!.src.host}/img-os/web`, digest: built["web-1"].digest, created: "2026-01-01T00:00:00Z" },
    ];

    /** Every file of the destination registry's storage with its mtime: a push rewrites at least a tag link. */
    function storage(): Map<string, number> {
        const root = path.join(regs!.dir, "dst", "data");
        const out = new Map<string, number>();
        const walk = (d: string) => {
            for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                const p = path.join(d, e.name);
                if (e.isDirectory()) walk(p);
                else out.set(path.relative(root, p), fs.statSync(p).mtimeMs);
            }
        };
        walk(root);
        return out;
    }
    const changed = (before: Map<string, number>, after: Map<string, number>) =>
        [...after.entries()].filter(([f, t]) => before.get(f) !== t).map(([f]) => f);

    function cleanSlate(): void {
        deleteNamespaces(SRC, NS.src);
        deleteNamespaces(DST, NS.dst);
        kubectl(SRC, ["delete", "crd", CRD, "--ignore-not-found", "--wait=true"]);
        resetVolumes();
    }

    before(async function () {
        requireClusters("`make e2e`");
        cleanSlate();
        work = workDir("images");
        regs = await startRegistries(path.join(work, "registries"));
        layout = path.join(work, "oci");
        built = Object.fromEntries(buildLayout(layout, [
            { tag: "web-1", label: "web build 1", platforms: [AMD64] },
            { tag: "web-2", label: "web build 2", platforms: [AMD64] },
            { tag: "web-3", label: "web build 3", platforms: [AMD64] },
            { tag: "multi", label: "multi", platforms: [AMD64, ARM64], index: true },
        ]).map((b) => [b.tag, b]));
        // the transfer image the clusters run, as the OCI archive hack/clusters/images.sh built
        const paths = spawnSync("bash", [path.join(repoRoot, "hack", "clusters", "images.sh"), "paths"], { encoding: "utf8" });
        assert.equal(paths.status, 0, paths.stderr);
        const archive = /^transfer \S+:(\S+) (\S+)$/m.exec(paths.stdout)!;
        assert.ok(archive && fs.existsSync(archive[2]), `no transfer image archive: ${paths.stdout}`);
        seed(regs.src, `oci-archive:${archive[2]}:${archive[1]}`, "img-plain/dvm-transfer:bookworm");
        transferDigest = digestOf(regs.src, "img-plain/dvm-transfer:bookworm")!;
        seed(regs.src, `oci:${layout}:multi`, "img-plain/multi:1.0");
        seed(regs.src, `oci:${layout}:web-1`, "shared/base:1");
        seed(regs.src, `oci:${layout}:web-2`, "img-mixed/web:2");
        seed(regs.src, `oci:${layout}:web-1`, "img-os/web:build-1");
        seed(regs.src, `oci:${layout}:web-2`, "img-os/web:build-2");
        seed(regs.src, `oci:${layout}:multi`, "img-os/multi:build");

        for (const ns of NS.src) kubectlOk(SRC, ["create", "namespace", ns]);
        fs.writeFileSync(path.join(createPvc(SRC, "img-mixed", "data"), "hello.txt"), "moved with its images\n");
        kubectlOk(SRC, ["apply", "-f", "-"], CRD_YAML);
        kubectlOk(SRC, ["wait", "--for", "condition=established", "--timeout=60s", `crd/${CRD}`]);
        streams(web());

        project = copyProject(work, PROJECT_ENTRIES);
        fs.mkdirSync(path.join(project, "stacks"), { recursive: true });
        fs.writeFileSync(path.join(project, "waves", "img.yaml"), WAVE);
        fs.writeFileSync(path.join(project, "waves", "img-next.yaml"), NEXT_WAVE);
        fs.writeFileSync(path.join(project, "stacks", `Pulumi.${STACK}.yaml`), stackYaml("waves/img.yaml", DST_NODE_ADDRESS, 60));
        fs.writeFileSync(path.join(project, "src-ca.pem"), regs.src.ca);
        pulumiOk(work, project, ["stack", "init", STACK]);
        set("dvm:images.source.registry", regs.src.host);
        set("dvm:images.source.aliases[0]", ALIAS);
        set("dvm:images.source.username", regs.src.user);
        set("dvm:images.source.password", regs.src.password, true);
        set("dvm:images.source.caBundle", "src-ca.pem");
        set("dvm:images.destination.registry", regs.dst.host);
        set("dvm:images.destination.username", regs.dst.user);
        set("dvm:images.destination.password", regs.dst.password, true);
        set("dvm:images.destination.caBundle", regs.dst.ca);
        set("dvm:images.retryDelaySeconds", "1");
    });

    beforeEach(function () {
        if (broken) throw new Error(`not run: the earlier step "${broken}" failed`);
    });
    afterEach(function () {
        if (this.currentTest?.state === "failed" && !broken) broken = this.currentTest.title;
    });

    after(function () {
        regs?.stop();
        cleanSlate();
        if (work) removeWorkDir(work);
    });

    it("pulumi up copies the ImageStream items (oldest first), the listed images and the volume; digests equal on both sides", function () {
        const r = up();
        assert.equal(r.code, 0, r.output);
        const dst = regs!.dst;
        // img-os: the newest item is the tag, the older one is there by digest; the quay.io items stayed where they are
        assert.equal(digestOf(dst, "img-os/web:1.0"), built["web-2"].digest);
        assert.equal(digestOf(dst, `img-os/web@${built["web-1"].digest}`), built["web-1"].digest);
        assert.equal(digestOf(dst, "img-os/multi:latest"), built.multi.digest, "the alias name was read through the registry");
        assert.deepEqual(platformsOf(dst, "img-os/multi:latest"), ["linux/amd64", "linux/arm64/v8"]);
        assert.deepEqual(tagsOf(dst, "img-os/upstream"), []);
        // img-plain (images only, renamed): the transfer image's own archive, a multi-arch index, a shared image
        assert.equal(digestOf(dst, "img-plain-west/dvm-transfer:bookworm"), transferDigest);
        assert.equal(digestOf(dst, "img-plain-west/multi:1.0"), built.multi.digest);
        assert.equal(digestOf(dst, "img-plain-west/shared/base:1"), built["web-1"].digest);
        assert.equal(digestOf(dst, "img-mixed/web:2"), built["web-2"].digest);
        // the destination namespaces exist, dvm's, for the images-only ones too
        for (const ns of NS.dst) {
            const labels = JSON.parse(kubectlOk(DST, ["get", "namespace", ns, "-o", "json"])).metadata.labels;
            assert.equal(labels[LABELS.managedBy], MANAGED_BY, `${ns}: ${JSON.stringify(labels)}`);
        }

        const out = migration();
        assert.deepEqual(out.namespaces["img-os"].images.map((i: any) => [i.destination.replace(`${dst.host}/`, ""), i.digest, i.origin, i.tag, i.result]), [
            ["img-os/multi:latest", built.multi.digest, "imagestream", "multi:latest", "Copied"],
            ["img-os/web:1.0", built["web-1"].digest, "imagestream", "web:1.0", "Copied"],
            ["img-os/web:1.0", built["web-2"].digest, "imagestream", "web:1.0", "Copied"],
        ]);
        assert.equal(out.namespaces["img-os"].images[1].source, `${regs!.src.host}/img-os/web@${built["web-1"].digest}`);
        const plain = out.namespaces["img-plain"];
        assert.deepEqual([plain.phase, plain.target, plain.pvcs], ["Succeeded", "img-plain-west", {}]);
        assert.deepEqual(plain.images.map((i: any) => [i.source.replace(`${regs!.src.host}/`, ""), i.origin, i.result]), [
            ["img-plain/dvm-transfer:bookworm", "wave", "Copied"], ["img-plain/multi:1.0", "wave", "Copied"], ["shared/base:1", "wave", "Copied"],
        ]);
        assert.ok(plain.images[0].bytes > 10 << 20, `the transfer image's bytes: ${plain.images[0].bytes}`);
        const mixed = out.namespaces["img-mixed"];
        assert.equal(mixed.pvcs.data.phase, "Succeeded", JSON.stringify(mixed));
        assert.equal(mixed.images[0].digest, built["web-2"].digest);
        console.log(`    up in ${r.seconds.toFixed(0)}s; transfer image ${plain.images[0].bytes} bytes in ${plain.images[0].seconds}s`);
    });

    it("dvm status shows the images table", function () {
        const r = spawnSync("node", [path.join(repoRoot, "bin", "dvm.js"), "status", "--stack", STACK], { cwd: project, env: engineEnv(work), encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr + r.stdout);
        assert.match(r.stdout, /NAMESPACE\s+IMAGE\s+RESULT\s+DIGEST\s+SIZE/);
        assert.match(r.stdout, new RegExp(`img-plain\\s+${regs!.dst.host}/img-plain-west/dvm-transfer:bookworm\\s+Copied\\s+${transferDigest.slice(0, 19)}`));
        assert.match(r.stdout, /img-mixed\s+data\s+Succeeded/);
    });

    it("a second pulumi up copies nothing; the state holds no credential in plain text", function () {
        const before = storage();
        ok(up(), "pulumi up");
        assert.deepEqual(changed(before, storage()), [], "the destination registry was written to");
        const text = pulumiOk(work, project, ["stack", "export", "--stack", STACK]).stdout;
        const r2 = regs!;
        for (const s of [r2.src.password, r2.dst.password, ...[r2.src, r2.dst].map((x) => Buffer.from(`${x.user}:${x.password}`).toString("base64"))]) {
            assert.ok(!text.includes(s), "a registry credential in plain text in the state");
        }
        assert.equal(JSON.parse(text).deployment.resources.filter((x: any) => x.type === "command:local:Command").length, 7);
    });

    it("a new ImageStream item under a wrong destination password fails naming the image and the key; fixed, only it is copied", function () {
        seed(regs!.src, `oci:${layout}:web-3`, "img-os/web:build-3");
        streams([{ ref: `${INTERNAL}/img-os/web`, digest: built["web-3"].digest, created: "2026-01-04T00:00:00Z" }, ...web()]);
        set("dvm:images.destination.password", "wrong-password", true);
        const bad = up();
        assert.notEqual(bad.code, 0, bad.output);
        assert.match(bad.output, new RegExp(`image-copy-failed source=\\S+/img-os/web@${built["web-3"].digest} destination=\\S+/img-os/web:1\\.0`));
        assert.match(bad.output, /dvm:images\.destination\.password/);
        assert.match(bad.output, /unauthorized: authentication required/);
        assert.equal(digestOf(regs!.dst, "img-os/web:1.0"), built["web-2"].digest, "the tag stays as it was");
        set("dvm:images.destination.password", regs!.dst.password, true);
        const before = storage();
        ok(up(), "pulumi up");
        const written = changed(before, storage());
        assert.ok(written.length > 0);
        assert.deepEqual(written.filter((f) => f.includes("/repositories/") && !f.includes("/repositories/img-os/web/")), [], "only img-os/web was pushed to");
        assert.equal(digestOf(regs!.dst, "img-os/web:1.0"), built["web-3"].digest, "the newest item is the tag");
        assert.equal(migration().namespaces["img-os"].images.length, 4);
    });

    it("a cutover of scope namespace scales down the workloads of a namespace that only moves images, waits for their pods to end; the rollback brings them back", function () {
        const replicas = () => kubectlOk(SRC, ["-n", "img-plain", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"]).trim();
        const pods = () => kubectlOk(SRC, ["-n", "img-plain", "get", "pods", "-l", "app=web", "-o", "name"]).trim();
        // sleep as PID 1 ignores SIGTERM: the pod ends only when its grace period is over, well after the scale-down
        kubectlOk(SRC, ["apply", "-f", "-"], JSON.stringify({
            apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "img-plain" },
            spec: { replicas: 1, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } },
                spec: { terminationGracePeriodSeconds: 15, containers: [{ name: "web", image: IMAGE, command: ["sleep", "3600"] }] } } },
        }));
        kubectlOk(SRC, ["-n", "img-plain", "rollout", "status", "deployment/web", "--timeout=120s"]);
        pulumiOk(work, project, ["config", "set", "--stack", STACK, "dvm:migration", "cutover"]);
        set("dvm:quiesce.scope", "namespace");
        ok(up(), "pulumi up (cutover, quiesce scope namespace)");
        assert.equal(replicas(), "0", "the images-only namespace's Deployment is quiesced");
        assert.equal(pods(), "", "no pod of the quiesced Deployment runs when the cutover is done");
        const cut = migration().namespaces["img-plain"];
        assert.equal(cut.quiesced, true, JSON.stringify(cut));
        assert.deepEqual(cut.workloads.map((w: any) => `${w.kind}/${w.name} ${w.state}`), ["Deployment/web quiesced"]);
        assert.ok(cut.images.length === 3 && cut.images.every((r: any) => r.result === "Copied"), JSON.stringify(cut.images));

        pulumiOk(work, project, ["config", "set", "--stack", STACK, "dvm:migration", "rollback"]);
        ok(up(), "pulumi up (rollback)");
        assert.equal(replicas(), "1", "the rollback restores it");
        assert.deepEqual(migration().namespaces["img-plain"].workloads.map((w: any) => `${w.kind}/${w.name} ${w.state}`), ["Deployment/web restored"]);
        pulumiOk(work, project, ["config", "set", "--stack", STACK, "dvm:migration", "stage"]);
        pulumiOk(work, project, ["config", "rm", "--stack", STACK, "dvm:quiesce"]);
    });

    it("the next wave leaves the earlier wave's images and namespaces on the destination", function () {
        pulumiOk(work, project, ["config", "set", "--stack", STACK, "dvm:wave", "waves/img-next.yaml"]);
        ok(up(), "pulumi up (next wave)");
        assert.deepEqual(Object.keys(migration().namespaces), ["img-os"]);
        assert.equal(digestOf(regs!.dst, "img-plain-west/dvm-transfer:bookworm"), transferDigest);
        assert.equal(digestOf(regs!.dst, "img-mixed/web:2"), built["web-2"].digest);
        assert.equal(kubectl(DST, ["get", "namespace", "img-plain-west"]).code, 0);
        assert.equal(kubectl(DST, ["get", "pvc", "data", "-n", "img-mixed"]).code, 0, "the destination PVC stays");
    });
});
