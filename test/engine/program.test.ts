// dvm's own program through the real engine, in render mode (dvm:render = a directory: both Kubernetes providers
// write manifests there, no cluster). Every example stack under stacks/ is previewed and brought up; the rendered
// manifests are checked for what the unit tests promise, the dynamic providers must run under the engine, and bad
// config must fail through the CLI with the program's own message.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import {
    CONFIG_FILES, CONTAINERS, IPC_DIR, IPC_VOLUME, LABELS, ROLE_DESTINATION, ROLE_SOURCE, SOURCE_ROOT, TARGET_ROOT,
} from "../../contract";
import { copyProject, PROJECT_ENTRIES as PROGRAM_ENTRIES, pulumi, pulumiOk, readManifests, removeWorkDir, repoRoot, workDir } from "../support/engine";

const PROJECT_ENTRIES = [...PROGRAM_ENTRIES, "stacks"];

const stackNames = fs.existsSync(path.join(repoRoot, "stacks"))
    ? fs.readdirSync(path.join(repoRoot, "stacks"))
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort()
    : [];

type Manifest = Record<string, any>;

/** The stack's dvm:destination.endpoint.type (default route). */
function endpointType(project: string, stack: string): string {
    const stackConfig = YAML.parse(fs.readFileSync(path.join(project, "stacks", `Pulumi.${stack}.yaml`), "utf8"));
    return stackConfig?.config?.["dvm:destination"]?.endpoint?.type ?? "route";
}

function podSpecOf(m: Manifest): any {
    return m.kind === "Pod" ? m.spec : m.spec?.template?.spec;
}

/** Every value held in the rendered Secrets (data decoded, stringData as is) and the key-like parts of each line. */
function secretMaterial(docs: Manifest[]): string[] {
    const out = new Set<string>();
    for (const s of docs.filter((d) => d.kind === "Secret")) {
        const values: string[] = [
            ...Object.values<string>(s.data ?? {}).map((v) => Buffer.from(v, "base64").toString("utf8")),
            ...Object.values<string>(s.stringData ?? {}),
        ];
        for (const v of values) {
            for (const line of v.split("\n").map((l) => l.trim()).filter(Boolean)) {
                const key = line.split(":").pop()!;
                if (key.length >= 16) out.add(key);
            }
        }
    }
    return [...out];
}

describe("dvm program under the engine (render mode)", function () {
    let work = "";
    let project = "";

    before(function () {
        assert.ok(fs.existsSync(path.join(repoRoot, "index.ts")), "the program entry index.ts is missing");
        assert.ok(stackNames.length > 0, "no example stacks (stacks/Pulumi.<name>.yaml): every test below runs one");
        work = workDir("program");
        project = copyProject(work, PROJECT_ENTRIES);
    });

    after(function () {
        if (work) removeWorkDir(work);
    });

    for (const stack of stackNames) {
        describe(`example stack ${stack}`, function () {
            let rendered = "";
            let docs: Manifest[] = [];
            let source: Manifest[] = [];
            let destination: Manifest[] = [];

            before(function () {
                rendered = path.join(work, "rendered", stack);
                pulumiOk(work, project, ["stack", "init", stack]);
                pulumiOk(work, project, ["config", "set", "--stack", stack, "dvm:render", rendered]);
            });

            it("preview plans the wave and writes nothing", function () {
                const r = pulumiOk(work, project, ["preview", "--stack", stack]);
                assert.match(r.output, /dvm:index:MigrationWave/);
                assert.match(r.output, /kubernetes:batch\/v1:Job/);
                assert.match(r.output, /kubernetes:apps\/v1:Deployment/);
                assert.ok(!fs.existsSync(rendered) || readManifests(rendered).length === 0, "preview rendered manifests");
            });

            it("up renders both clusters' manifests", function () {
                const r = pulumiOk(work, project, ["up", "--yes", "--skip-preview", "--stack", stack]);
                assert.match(r.output, /created/);
                docs = readManifests(rendered);
                source = docs.filter((d) => d.__file.startsWith(`source${path.sep}`));
                destination = docs.filter((d) => d.__file.startsWith(`destination${path.sep}`));
                assert.ok(source.length > 0, `nothing rendered under ${rendered}/source`);
                assert.ok(destination.length > 0, `nothing rendered under ${rendered}/destination`);
            });

            it("source: one Job per namespace, rsync + stunnel sharing rsync-stunnel-ipc, source PVCs read-only", function () {
                const jobs = source.filter((d) => d.kind === "Job");
                assert.ok(jobs.length > 0, "no source Job rendered");
                assert.equal(new Set(jobs.map((j) => j.metadata.namespace)).size, jobs.length, "one Job per namespace");
                assert.equal(source.filter((d) => d.kind === "PersistentVolumeClaim").length, 0, "no PVC on the source");
                for (const j of jobs) {
                    const spec = podSpecOf(j);
                    assert.equal(j.spec.template.metadata.labels[LABELS.role], ROLE_SOURCE);
                    assert.deepEqual(spec.containers.map((c: any) => c.name).sort(), [CONTAINERS.rsync, CONTAINERS.stunnel].sort());
                    assert.ok(spec.volumes.some((v: any) => v.name === IPC_VOLUME && v.emptyDir), "rsync-stunnel-ipc emptyDir");
                    for (const c of spec.containers) {
                        assert.ok(c.volumeMounts.some((m: any) => m.name === IPC_VOLUME && m.mountPath === IPC_DIR));
                    }
                    const claims = spec.volumes.filter((v: any) => v.persistentVolumeClaim);
                    assert.ok(claims.length > 0);
                    for (const v of claims) {
                        assert.equal(v.persistentVolumeClaim.readOnly, true, `${j.metadata.namespace}: ${v.name} claim not read-only`);
                        for (const c of spec.containers) {
                            for (const m of c.volumeMounts.filter((x: any) => x.name === v.name)) {
                                assert.equal(m.readOnly, true);
                                assert.ok(m.mountPath.startsWith(`${SOURCE_ROOT}/`));
                            }
                        }
                    }
                }
            });

            it("destination: rsyncd + stunnel Deployment per namespace mounting its PVCs read-write", function () {
                const deps = destination.filter((d) => d.kind === "Deployment");
                assert.ok(deps.length > 0, "no destination Deployment rendered");
                const pvcs = destination.filter((d) => d.kind === "PersistentVolumeClaim");
                assert.ok(pvcs.length > 0, "no destination PVC rendered");
                for (const d of deps) {
                    const spec = podSpecOf(d);
                    assert.equal(d.spec.replicas, 1);
                    assert.equal(d.spec.template.metadata.labels[LABELS.role], ROLE_DESTINATION);
                    assert.deepEqual(spec.containers.map((c: any) => c.name).sort(), [CONTAINERS.rsyncd, CONTAINERS.stunnel].sort());
                    const claimNames = spec.volumes.filter((v: any) => v.persistentVolumeClaim).map((v: any) => v.persistentVolumeClaim.claimName);
                    const nsPvcs = pvcs.filter((p) => p.metadata.namespace === d.metadata.namespace).map((p) => p.metadata.name);
                    assert.deepEqual([...claimNames].sort(), [...nsPvcs].sort());
                    const rsyncd = spec.containers.find((c: any) => c.name === CONTAINERS.rsyncd);
                    const targets = rsyncd.volumeMounts.filter((m: any) => m.mountPath.startsWith(`${TARGET_ROOT}/`));
                    assert.equal(targets.length, claimNames.length);
                    for (const m of targets) assert.notEqual(m.readOnly, true);
                }
            });

            it("endpoint: the destination is exposed and the source's stunnel client dials it", function () {
                const type = endpointType(project, stack);
                const clientConfs = source.filter((d) => d.kind === "ConfigMap" && d.data?.[CONFIG_FILES.stunnelClient])
                    .map((d) => d.data[CONFIG_FILES.stunnelClient] as string);
                assert.ok(clientConfs.length > 0, "no stunnel client config rendered on the source");
                if (type === "route") {
                    const routes = destination.filter((d) => d.kind === "Route");
                    assert.ok(routes.length > 0, "no Route rendered");
                    for (const r of routes) {
                        assert.equal(r.spec.tls.termination, "passthrough");
                        assert.ok(clientConfs.some((c) => c.includes(`${r.spec.host}:443`)), `no client dials ${r.spec.host}:443`);
                    }
                } else if (type === "loadBalancer" || type === "nodePort") {
                    const want = type === "loadBalancer" ? "LoadBalancer" : "NodePort";
                    const svcs = destination.filter((d) => d.kind === "Service" && d.spec?.type === want);
                    assert.ok(svcs.length > 0, `no ${want} Service rendered`);
                } else if (type === "ingress") {
                    assert.ok(destination.some((d) => d.kind === "Ingress"), "no Ingress rendered");
                } else {
                    assert.fail(`the test does not know endpoint type ${type}`);
                }
            });

            it("no secret material appears in any ConfigMap", function () {
                const material = secretMaterial(docs);
                assert.ok(material.length > 0, "no Secret with key material rendered");
                const cms = docs.filter((d) => d.kind === "ConfigMap");
                for (const cm of cms) {
                    const text = JSON.stringify({ data: cm.data ?? {}, binaryData: cm.binaryData ?? {} });
                    for (const m of material) {
                        assert.ok(!text.includes(m), `ConfigMap ${cm.metadata.namespace}/${cm.metadata.name} holds secret material`);
                        assert.ok(!text.includes(Buffer.from(m).toString("base64")), `ConfigMap ${cm.metadata.name} holds base64 secret material`);
                    }
                }
            });

            it("the `migration` output comes from the dynamic providers through the engine", function () {
                const out = JSON.parse(pulumiOk(work, project, ["stack", "output", "--json", "--stack", stack]).stdout);
                const migration = out.migration;
                assert.ok(migration, `no migration output: ${JSON.stringify(out)}`);
                const wave = fs.readFileSync(path.join(project, "waves", "wave-1.yaml"), "utf8");
                assert.equal(migration.wave, /^name:\s*(\S+)/m.exec(wave)?.[1]);
                const jobs = source.filter((d) => d.kind === "Job");
                assert.deepEqual(Object.keys(migration.namespaces).sort(), jobs.map((j) => j.metadata.namespace).sort());
                for (const [ns, entry] of Object.entries<any>(migration.namespaces)) {
                    assert.ok(Object.keys(entry.pvcs).length > 0, `${ns}: no PVC records`);
                    for (const rec of Object.values<any>(entry.pvcs)) {
                        // the fields ProgressRecord (progress/parser.ts) always carries; render mode touches no cluster
                        for (const k of ["phase", "attempts", "totalProgressPercentage", "transferredBytes"]) {
                            assert.ok(k in rec, `${ns}: progress record lacks ${k}: ${JSON.stringify(rec)}`);
                        }
                        assert.equal(rec.phase, "Rendered");
                    }
                }
            });

            it("the dynamic providers' code is serialized into the state", function () {
                const state = JSON.parse(pulumiOk(work, project, ["stack", "export", "--stack", stack]).stdout);
                const dynamic = state.deployment.resources.filter((r: any) => String(r.type).startsWith("pulumi-nodejs:dynamic"));
                assert.ok(dynamic.length > 0, "no dynamic resources in the state");
                for (const r of dynamic) {
                    assert.equal(typeof r.inputs.__provider, "string", `${r.urn} has no serialized provider`);
                    assert.ok(r.inputs.__provider.length > 100);
                }
            });

            it("a second up changes nothing", function () {
                const r = pulumiOk(work, project, ["up", "--yes", "--skip-preview", "--stack", stack]);
                assert.match(r.output, /Resources:\s+\d+ unchanged\s/, r.output);
                assert.ok(!/\d+ (created|updated|replaced|deleted)/.test(r.output), r.output);
            });

            it("a second preview sees no changes", function () {
                const r = pulumi(work, project, ["preview", "--expect-no-changes", "--stack", stack]);
                assert.equal(r.code, 0, r.output);
            });
        });
    }

    describe("bad config", function () {
        it("a missing wave file fails the preview with the program's message naming dvm:wave", function () {
            // a valid example stack with only the wave path broken, so the wave check is the one that fires
            fs.copyFileSync(path.join(repoRoot, "stacks", `Pulumi.${stackNames[0]}.yaml`), path.join(project, "stacks", "Pulumi.bad-wave.yaml"));
            pulumiOk(work, project, ["stack", "init", "bad-wave"]);
            pulumiOk(work, project, ["config", "set", "--stack", "bad-wave", "dvm:wave", "waves/no-such-wave.yaml"]);
            pulumiOk(work, project, ["config", "set", "--stack", "bad-wave", "dvm:render", path.join(work, "rendered", "bad-wave")]);
            const r = pulumi(work, project, ["preview", "--stack", "bad-wave"]);
            assert.notEqual(r.code, 0, r.output);
            assert.match(r.output, /dvm:wave/);
            assert.match(r.output, /no-such-wave\.yaml/);
            assert.match(r.output, /does not exist/);
            assert.ok(!/at Object\.<anonymous>|at Module\._compile/.test(r.output), `a stack trace instead of a clean message:\n${r.output}`);
        });
    });
});
