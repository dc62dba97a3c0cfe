// The resource graph of a multi-namespace wave under Pulumi mocks: counts, names, mounts, endpoints of every type,
// security contexts for every privilege mode, retain intent, providers and secrets.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { Plan } from "../../config/plan";
import { nodePortAddress } from "../../components/endpoint/nodePort";
import { declared, declaredOpts, installMocks, isSecret, makePlan, ofType, promiseOf, reset, settle, unsecret } from "../support/mocks";

installMocks();
const { MigrationWave } = require("../../components/wave") as typeof import("../../components/wave");
import {
    CONTAINERS, DONE_FILE, IPC_DIR, IPC_VOLUME, LABELS, PSA_LABELS, ROLE_DESTINATION, ROLE_SOURCE, ROOT_CAPABILITIES, SOURCE_ROOT,
    TARGET_ROOT,
} from "../../contract";

async function build(plan: Plan) {
    reset();
    const wave = new MigrationWave("wave", { plan, sourceKubeconfig: "apiVersion: v1\nkind: Config\n", destinationKubeconfig: "apiVersion: v1\nkind: Config\n" });
    const migration = await promiseOf(wave.migration);
    await settle();
    return migration;
}

const jobs = () => ofType("kubernetes:batch/v1:Job");
const deployments = () => ofType("kubernetes:apps/v1:Deployment");
const podSpec = (d: { inputs: any }) => d.inputs.spec.template.spec;
const container = (spec: any, name: string) => spec.containers.find((c: any) => c.name === name);

describe("components: a two-namespace wave", function () {
    this.timeout(30000);
    let migration: any;
    before(async () => {
        migration = await build(makePlan());
    });

    it("declares one source Job and one destination Deployment per namespace, on the right providers", () => {
        assert.strictEqual(jobs().length, 2);
        assert.strictEqual(deployments().length, 2);
        const providers = ofType("pulumi:providers:kubernetes");
        assert.deepStrictEqual(providers.map((p) => p.name).sort(), ["destination", "source"]);
        for (const j of jobs()) assert.match(j.provider!, /::source::/, "Jobs go to the source cluster");
        for (const d of deployments()) assert.match(d.provider!, /::destination::/, "Deployments go to the destination cluster");
        for (const d of declared.filter((x) => x.type.startsWith("kubernetes:") )) {
            assert.ok(d.provider, `${d.type} ${d.name} has an explicit provider`);
        }
        assert.deepStrictEqual(jobs().map((j) => j.inputs.metadata.namespace).sort(), ["billing", "inventory"]);
        assert.deepStrictEqual(deployments().map((d) => d.inputs.metadata.namespace).sort(), ["billing", "inventory-west"]);
    });

    it("never declares source PVCs; destination PVCs match the wave (size, modes, class, rename) and are retained", () => {
        const pvcs = ofType("kubernetes:core/v1:PersistentVolumeClaim");
        assert.deepStrictEqual(pvcs.map((p) => `${p.inputs.metadata.namespace}/${p.inputs.metadata.name}`).sort(),
            ["billing/postgresql", "billing/uploads", "inventory-west/mysql"]);
        for (const p of pvcs) assert.match(p.provider!, /::destination::/, "no PVC is ever declared on the source cluster");
        const mysql = pvcs.find((p) => p.inputs.metadata.name === "mysql")!;
        assert.strictEqual(mysql.inputs.spec.resources.requests.storage, "20Gi");
        assert.deepStrictEqual(mysql.inputs.spec.accessModes, ["ReadWriteOnce"]);
        assert.strictEqual(mysql.inputs.metadata.annotations["dvm.io/source-pvc"], "inventory/mysql-data");
        const pg = pvcs.find((p) => p.inputs.metadata.name === "postgresql")!;
        assert.strictEqual(pg.inputs.spec.storageClassName, "fast");
        assert.deepStrictEqual(pvcs.find((p) => p.inputs.metadata.name === "uploads")!.inputs.spec.accessModes, ["ReadWriteMany"]);
    });

    it("combines rsync and stunnel in one source pod sharing rsync-stunnel-ipc, with every source PVC read-only", () => {
        for (const j of jobs()) {
            const spec = podSpec(j);
            assert.deepStrictEqual(spec.containers.map((c: any) => c.name).sort(), [CONTAINERS.rsync, CONTAINERS.stunnel].sort());
            const ipc = spec.volumes.find((v: any) => v.name === IPC_VOLUME);
            assert.ok(ipc && ipc.emptyDir, "rsync-stunnel-ipc is an emptyDir");
            for (const c of spec.containers) {
                assert.ok(c.volumeMounts.some((m: any) => m.name === IPC_VOLUME && m.mountPath === IPC_DIR), `${c.name} mounts the ipc dir`);
            }
            const pvcVolumes = spec.volumes.filter((v: any) => v.persistentVolumeClaim);
            assert.ok(pvcVolumes.length > 0);
            for (const v of pvcVolumes) {
                assert.strictEqual(v.persistentVolumeClaim.readOnly, true, `${v.name} claim is read-only`);
                for (const c of spec.containers) {
                    for (const m of c.volumeMounts.filter((m: any) => m.name === v.name)) {
                        assert.strictEqual(m.readOnly, true, `${c.name} mounts ${v.name} read-only`);
                        assert.ok(m.mountPath.startsWith(`${SOURCE_ROOT}/`));
                    }
                }
            }
            assert.strictEqual(spec.restartPolicy, "Never");
            assert.strictEqual(j.inputs.metadata.annotations["pulumi.com/skipAwait"], "true", "the progress resource is the completion gate");
            const rules = j.inputs.spec.podFailurePolicy.rules;
            const ignore = rules.findIndex((r: any) => r.action === "Ignore" && r.onPodConditions?.[0]?.type === "DisruptionTarget");
            const fail = rules.findIndex((r: any) => r.action === "FailJob" && r.onExitCodes?.containerName === CONTAINERS.rsync);
            assert.ok(ignore >= 0 && fail >= 0);
            assert.ok(ignore < fail, "an evicted pod (rsync exits 143) is retried, not taken as rsync giving up");
            assert.strictEqual(j.inputs.spec.template.metadata.labels[LABELS.role], ROLE_SOURCE);
        }
        const inventory = jobs().find((j) => j.inputs.metadata.namespace === "inventory")!;
        assert.strictEqual(podSpec(inventory).nodeName, "worker-1", "nodeName from the wave file is honoured");
        assert.strictEqual(podSpec(jobs().find((j) => j.inputs.metadata.namespace === "billing")!).nodeName, undefined);
    });

    it("passes rsync options and PVC pairs as an argument list, not a shell string", () => {
        const billing = jobs().find((j) => j.inputs.metadata.namespace === "billing")!;
        const rsync = container(podSpec(billing), CONTAINERS.rsync);
        assert.deepStrictEqual(rsync.command.slice(0, 1), ["/bin/bash"]);
        assert.ok(!rsync.command.includes("-c"), "no `bash -c <string>`");
        const sep = rsync.args.indexOf("--");
        assert.ok(sep > 0);
        assert.ok(rsync.args.slice(0, sep).includes("--archive"));
        assert.ok(rsync.args.slice(0, sep).includes("--delete"));
        assert.ok(rsync.args.slice(0, sep).includes("--hard-links"));
        assert.ok(rsync.args.slice(0, sep).includes("--partial"));
        assert.ok(rsync.args.slice(0, sep).includes("--timeout=600"), "a silently lost connection ends the attempt");
        // dvm:rsync.sparse and .inplace default to auto: the script decides per PVC (contract/PROTOCOL.md)
        const chosen = rsync.args.slice(0, sep).filter((a: string) => /sparse|inplace/.test(a));
        assert.deepStrictEqual(chosen, ["--dvm-sparse-if-holes", "--dvm-inplace-if-empty"]);
        assert.deepStrictEqual(rsync.args.slice(sep + 1), ["postgresql:postgresql", "uploads:uploads:verify"]);
        const inventory = jobs().find((j) => j.inputs.metadata.namespace === "inventory")!;
        assert.deepStrictEqual(container(podSpec(inventory), CONTAINERS.rsync).args.slice(-1), ["mysql-data:mysql"]);
        const env = Object.fromEntries(rsync.env.map((e: any) => [e.name, e.value]));
        assert.strictEqual(env.DVM_STUNNEL_WAIT_SECONDS, "600");
        assert.strictEqual(env.DVM_BACKOFF_LIMIT, "20");
    });

    it("gives the destination pod rsyncd + stunnel mounting every destination PVC read-write", () => {
        const billing = deployments().find((d) => d.inputs.metadata.namespace === "billing")!;
        const spec = podSpec(billing);
        assert.deepStrictEqual(spec.containers.map((c: any) => c.name).sort(), [CONTAINERS.rsyncd, CONTAINERS.stunnel].sort());
        const claims = spec.volumes.filter((v: any) => v.persistentVolumeClaim).map((v: any) => v.persistentVolumeClaim.claimName).sort();
        assert.deepStrictEqual(claims, ["postgresql", "uploads"]);
        const mounts = container(spec, CONTAINERS.rsyncd).volumeMounts.filter((m: any) => m.mountPath.startsWith(`${TARGET_ROOT}/`));
        assert.deepStrictEqual(mounts.map((m: any) => m.mountPath).sort(), [`${TARGET_ROOT}/postgresql`, `${TARGET_ROOT}/uploads`]);
        for (const m of mounts) assert.notStrictEqual(m.readOnly, true);
        assert.strictEqual(billing.inputs.spec.replicas, 1);
        assert.strictEqual(billing.inputs.spec.template.metadata.labels[LABELS.role], ROLE_DESTINATION);
    });

    it("keeps key material in Secrets only: ConfigMaps carry scripts and config, never keys or passwords", () => {
        const secrets = ofType("kubernetes:core/v1:Secret");
        assert.strictEqual(secrets.length, 4, "one credentials Secret per namespace per side");
        const creds = ofType("pulumi-nodejs:dynamic/transport:TunnelCredentials");
        assert.strictEqual(creds.length, 2);
        const cms = ofType("kubernetes:core/v1:ConfigMap");
        const cmText = JSON.stringify(cms.map((c) => c.inputs.data));
        for (const s of secrets) {
            const data: Record<string, string> = unsecret(s.inputs.stringData);
            assert.ok(Object.keys(data).length >= 2);
            for (const value of Object.values(data)) {
                const key = value.trim().split(":").pop()!;
                assert.ok(key.length >= 32);
                assert.ok(!cmText.includes(key), "no secret value appears in any ConfigMap");
            }
        }
        // source pods have no fsGroup: the Secret must be readable as is (the script keeps a private copy for rsync);
        // destination pods read it through their fsGroup, and rsyncd's strict modes refuse world-readable secrets
        const credentialVolume = (spec: any) => spec.volumes.find((v: any) => v.secret).secret;
        for (const j of jobs()) assert.strictEqual(credentialVolume(podSpec(j)).defaultMode, 0o444);
        for (const d of deployments()) assert.strictEqual(credentialVolume(podSpec(d)).defaultMode, 0o440);
        const source = secrets.filter((s) => s.provider!.includes("::source::"));
        for (const s of secrets) assert.ok(isSecret(s.inputs.stringData), "Secret data is a Pulumi secret in state");
        for (const s of source) assert.ok(!("rsyncd.secrets" in unsecret(s.inputs.stringData)), "the source never gets the daemon's secrets file");
        // the scripts shipped are the real files
        const scripts = cms.filter((c) => c.inputs.metadata.name === "dvm-transfer-scripts");
        assert.ok(scripts.some((c) => (c.inputs.data["rsync-client.sh"] ?? "").includes(DONE_FILE)));
    });

    it("exposes the destination with a passthrough Route whose host fits DNS limits", () => {
        const routes = ofType("kubernetes:route.openshift.io/v1:Route");
        assert.strictEqual(routes.length, 2);
        for (const r of routes) {
            assert.strictEqual(r.inputs.spec.tls.termination, "passthrough");
            assert.ok(r.inputs.spec.host.endsWith(".apps.dst.example.com"));
            assert.ok(r.inputs.spec.host.split(".")[0].length <= 63);
        }
        const conf = ofType("kubernetes:core/v1:ConfigMap").filter((c) => c.inputs.data?.["stunnel-client.conf"]);
        assert.strictEqual(conf.length, 2);
        for (const c of conf) {
            assert.match(c.inputs.data["stunnel-client.conf"], /apps\.dst\.example\.com:443/);
            assert.match(c.inputs.data["stunnel-client.conf"], /sni\s*=\s*dvm-/);
        }
    });

    it("retains destination namespaces and PVCs (intent visible in the mock's resource options)", () => {
        // the policy lives in destination.ts and is exercised for real by the e2e tier. Here: no Namespace or PVC
        // is declared on the source provider.
        for (const t of ["kubernetes:core/v1:Namespace", "kubernetes:core/v1:PersistentVolumeClaim"]) {
            for (const d of ofType(t)) assert.match(d.provider!, /::destination::/);
        }
    });

    it("retains destination namespaces and PVCs on delete, never lets a PVC be replaced, and retains nothing else", () => {
        const retained = [...declaredOpts.entries()].filter(([, o]) => o.retainOnDelete).map(([, o]) => o.type).sort();
        const namespaces = ofType("kubernetes:core/v1:Namespace").length;
        const pvcs = ofType("kubernetes:core/v1:PersistentVolumeClaim").length;
        assert.strictEqual(namespaces, 2);
        assert.strictEqual(pvcs, 3);
        assert.deepStrictEqual(retained, [
            ...Array(namespaces).fill("kubernetes:core/v1:Namespace"), ...Array(pvcs).fill("kubernetes:core/v1:PersistentVolumeClaim"),
        ].sort());
        for (const d of ofType("kubernetes:core/v1:PersistentVolumeClaim")) {
            assert.deepStrictEqual(declaredOpts.get(d.name)?.ignoreChanges, ["spec.storageClassName", "spec.accessModes"], d.name);
        }
    });

    it("keeps the type tokens (a renamed token replaces every child resource on the next up)", () => {
        const tokens = [...new Set(declared.map((d) => d.type).filter((t) => !t.startsWith("kubernetes:") && !t.startsWith("pulumi:providers:")))].sort();
        assert.deepStrictEqual(tokens, [
            "dvm:destination:DestinationTransfer",
            "dvm:index:MigrationWave",
            "dvm:index:NamespaceMigration",
            "dvm:source:SourceTransfer",
            "pulumi-nodejs:dynamic/progress:TransferProgress",
            "pulumi-nodejs:dynamic/transport:TunnelCredentials",
        ]);
    });

    it("exports the migration output per namespace and PVC", () => {
        assert.strictEqual(migration.wave, "wave-1");
        assert.deepStrictEqual(Object.keys(migration.namespaces).sort(), ["billing", "inventory"]);
        assert.strictEqual(migration.namespaces.inventory.target, "inventory-west");
        assert.deepStrictEqual(Object.keys(migration.namespaces.billing.pvcs).sort(), ["postgresql", "uploads"]);
        assert.ok(typeof migration.namespaces.billing.pvcs.postgresql.phase === "string");
    });
});

describe("components: endpoints", function () {
    this.timeout(30000);
    const conf = () => ofType("kubernetes:core/v1:ConfigMap").map((c) => c.inputs.data?.["stunnel-client.conf"]).filter(Boolean)[0] as string;
    const serviceType = () => ofType("kubernetes:core/v1:Service")[0].inputs.spec.type;

    it("ingress: ingress-nginx ssl-passthrough, host from subdomain, SNI", async () => {
        await build(makePlan({ destination: { context: "d", endpoint: { type: "ingress", subdomain: "dst.example.com", ingressClass: "nginx" } } }));
        const ing = ofType("kubernetes:networking.k8s.io/v1:Ingress");
        assert.strictEqual(ing.length, 2);
        assert.strictEqual(ing[0].inputs.metadata.annotations["nginx.ingress.kubernetes.io/ssl-passthrough"], "true");
        assert.strictEqual(ing[0].inputs.spec.ingressClassName, "nginx");
        assert.strictEqual(serviceType(), "ClusterIP");
        assert.match(conf(), /dst\.example\.com:443/);
    });

    it("loadBalancer: the client dials the load balancer's address", async () => {
        await build(makePlan({ destination: { context: "d", endpoint: { type: "loadBalancer" } } }));
        assert.strictEqual(serviceType(), "LoadBalancer");
        assert.match(conf(), /198\.51\.100\.7:443/);
        assert.strictEqual(ofType("kubernetes:route.openshift.io/v1:Route").length, 0);
    });

    it("nodePort: the client dials nodeAddress on the node port", async () => {
        await build(makePlan({ destination: { context: "d", endpoint: { type: "nodePort", nodeAddress: "192.0.2.10", nodePort: 30873 } } }));
        assert.strictEqual(serviceType(), "NodePort");
        assert.strictEqual(ofType("kubernetes:core/v1:Service")[0].inputs.spec.ports[0].nodePort, 30873);
        assert.match(conf(), /192\.0\.2\.10:30873/);
    });

    it("the Service is awaited only when the address comes from its status (loadBalancer); otherwise skipAwait", async () => {
        const endpoints = {
            route: { type: "route", subdomain: "apps.dst.example.com" },
            ingress: { type: "ingress", subdomain: "dst.example.com", ingressClass: "nginx" },
            nodePort: { type: "nodePort", nodeAddress: "192.0.2.10" },
            clusterIP: { type: "clusterIP" },
            loadBalancer: { type: "loadBalancer" },
        } as const;
        for (const [type, endpoint] of Object.entries(endpoints)) {
            await build(makePlan({ destination: { context: "d", endpoint: endpoint as any } }));
            const annotations = ofType("kubernetes:core/v1:Service")[0].inputs.metadata.annotations ?? {};
            assert.strictEqual(annotations["pulumi.com/skipAwait"], type === "loadBalancer" ? undefined : "true", type);
        }
    });

    it("render mode: loadBalancer and nodePort addresses are fixed placeholders, never an unknown (stable previews)", async () => {
        await build({ ...makePlan({ destination: { context: "d", endpoint: { type: "loadBalancer" } } }), render: "/tmp/dvm-render-test" });
        assert.match(conf(), /connect = unresolved\.invalid:443/);
        await build({ ...makePlan({ destination: { context: "d", endpoint: { type: "nodePort", nodeAddress: "192.0.2.10" } } }), render: "/tmp/dvm-render-test" });
        assert.match(conf(), /connect = 192\.0\.2\.10:30000/);
    });

    it("nodePort: before the API server allocated a port, a preview shows the address as unknown, never port 0", () => {
        const config = { type: "nodePort" as const, nodeAddress: "192.0.2.10" };
        assert.ok(pulumi.isUnknown(nodePortAddress([{}], config, true)));
        assert.deepStrictEqual(nodePortAddress([{ nodePort: 31000 }], config, true), { host: "192.0.2.10", port: 31000 });
        assert.deepStrictEqual(nodePortAddress(undefined, { ...config, nodePort: 30873 }, false), { host: "192.0.2.10", port: 30873 });
        assert.throws(() => nodePortAddress([{}], config, false), /dvm:destination\.endpoint\.nodePort/);
    });

    it("clusterIP: the client dials the Service DNS name", async () => {
        await build(makePlan({ destination: { context: "d", endpoint: { type: "clusterIP" } } }));
        assert.strictEqual(serviceType(), "ClusterIP");
        assert.match(conf(), /dvm-rsyncd\.(billing|inventory-west)\.svc\.cluster\.local:443/);
    });

    it("route: long namespace names are shortened deterministically with a hash", async () => {
        const long = "n".repeat(63);
        const wave = { name: "w", namespaces: [{ name: long, pvcs: [{ name: "d", capacity: "1Gi" }] }] };
        await build(makePlan({}, wave));
        const host1 = ofType("kubernetes:route.openshift.io/v1:Route")[0].inputs.spec.host;
        await build(makePlan({}, wave));
        const host2 = ofType("kubernetes:route.openshift.io/v1:Route")[0].inputs.spec.host;
        assert.strictEqual(host1, host2);
        assert.ok(host1.split(".")[0].length <= 63);
        assert.match(host1.split(".")[0], /-[0-9a-f]{8}$/);
    });
});

describe("components: privilege modes", function () {
    this.timeout(30000);
    const pods = () => [...jobs(), ...deployments()].map(podSpec);

    it("default: non-root, nothing added, read-only root fs, RuntimeDefault seccomp, requests and limits", async () => {
        await build(makePlan());
        for (const spec of pods()) {
            assert.strictEqual(spec.securityContext.runAsNonRoot, true);
            assert.strictEqual(spec.securityContext.seccompProfile.type, "RuntimeDefault");
            assert.strictEqual(spec.securityContext.seLinuxOptions, undefined);
            for (const c of spec.containers) {
                assert.strictEqual(c.securityContext.allowPrivilegeEscalation, false);
                assert.strictEqual(c.securityContext.privileged, false);
                assert.deepStrictEqual(c.securityContext.capabilities, { drop: ["ALL"] });
                assert.strictEqual(c.securityContext.readOnlyRootFilesystem, true);
                assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.cpu && c.resources.limits.memory);
            }
            assert.strictEqual(spec.hostNetwork, undefined);
        }
        for (const ns of ofType("kubernetes:core/v1:Namespace")) {
            assert.strictEqual(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], undefined);
        }
        assert.strictEqual(ofType("kubernetes:core/v1:NamespacePatch").length, 0, "the source namespace is not touched");
    });

    it("runAsUser/runAsGroup/supplemental groups: set per side; only the destination gets an fsGroup", async () => {
        await build(makePlan({ security: { runAsUser: 1000, runAsGroup: 2000, sourceSupplementalGroups: [5555], targetSupplementalGroups: [6666] } }));
        for (const j of jobs()) {
            const sc = podSpec(j).securityContext;
            assert.strictEqual(sc.runAsUser, 1000);
            assert.strictEqual(sc.runAsGroup, 2000);
            assert.deepStrictEqual(sc.supplementalGroups, [5555]);
            assert.strictEqual(sc.fsGroup, undefined, "never change ownership on source volumes");
        }
        for (const d of deployments()) {
            const sc = podSpec(d).securityContext;
            assert.deepStrictEqual(sc.supplementalGroups, [6666]);
            assert.strictEqual(sc.fsGroup, 6666);
        }
    });

    it("runAsRoot: uid 0 with exactly the documented capabilities, PSA labels on both namespaces (as patches removed with the wave)", async () => {
        await build(makePlan({ security: { runAsRoot: true } }));
        for (const spec of pods()) {
            assert.strictEqual(spec.securityContext.runAsUser, 0);
            assert.strictEqual(spec.securityContext.runAsNonRoot, false);
            for (const c of spec.containers) {
                assert.deepStrictEqual(c.securityContext.capabilities, { drop: ["ALL"], add: ROOT_CAPABILITIES });
                assert.strictEqual(c.securityContext.privileged, false);
            }
        }
        // the destination Namespace is retained on delete: the labels are not on it, but on a patch of it
        for (const ns of ofType("kubernetes:core/v1:Namespace")) {
            assert.strictEqual(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], undefined);
        }
        const patches = ofType("kubernetes:core/v1:NamespacePatch");
        for (const p of patches) {
            for (const l of PSA_LABELS) assert.strictEqual(p.inputs.metadata.labels[l], "privileged", `${p.name}: ${l}`);
            assert.strictEqual(declaredOpts.get(p.name)?.retainOnDelete, false, `${p.name} goes with the wave`);
        }
        const on = (side: string) => patches.filter((p) => p.provider!.includes(`::${side}::`)).map((p) => p.inputs.metadata.name).sort();
        assert.deepStrictEqual(on("source"), ["billing", "inventory"]);
        assert.deepStrictEqual(on("destination"), ofType("kubernetes:core/v1:Namespace").map((n) => n.inputs.metadata.name).sort());
    });

    it("runAsRoot without PSA labelling leaves namespaces alone (the policy pack then blocks the wave)", async () => {
        await build(makePlan({ security: { runAsRoot: true, podSecurityLabels: false } }));
        assert.strictEqual(ofType("kubernetes:core/v1:NamespacePatch").length, 0);
        for (const ns of ofType("kubernetes:core/v1:Namespace")) {
            assert.strictEqual(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], undefined);
        }
    });

    it("superPrivileged: privileged containers with SELinux type spc_t", async () => {
        await build(makePlan({ security: { runAsRoot: true, superPrivileged: true } }));
        for (const spec of pods()) {
            assert.strictEqual(spec.securityContext.seLinuxOptions.type, "spc_t");
            for (const c of spec.containers) {
                assert.strictEqual(c.securityContext.privileged, true);
                assert.strictEqual(c.securityContext.seLinuxOptions.type, "spc_t");
            }
        }
    });

    it("resources come from dvm:resources per container", async () => {
        await build(makePlan({ resources: { rsync: { limits: { cpu: "3" } }, stunnel: { requests: { memory: "32Mi" } } } }));
        const job = jobs()[0];
        assert.strictEqual(container(podSpec(job), CONTAINERS.rsync).resources.limits.cpu, "3");
        assert.strictEqual(container(podSpec(job), CONTAINERS.stunnel).resources.requests.memory, "32Mi");
        assert.strictEqual(container(podSpec(deployments()[0]), CONTAINERS.rsyncd).resources.limits.cpu, "2");
    });
});

describe("components: passes and rotation", function () {
    this.timeout(30000);
    it("a new dvm:pass gives the source Job a new name (another incremental pass); same pass, same name", async () => {
        await build(makePlan());
        const p1 = jobs().map((j) => j.inputs.metadata.name).sort();
        await build(makePlan());
        assert.deepStrictEqual(jobs().map((j) => j.inputs.metadata.name).sort(), p1, "re-running the same wave changes nothing");
        await build(makePlan({ pass: 2 }));
        const p2 = jobs().map((j) => j.inputs.metadata.name).sort();
        for (const n of p2) assert.ok(!p1.includes(n));
        assert.ok(p2.every((n) => n.length <= 63));
    });

    it("dvm:credentialsVersion reaches the credentials resource (bumping it replaces it)", async () => {
        await build(makePlan({ credentialsVersion: 3 }));
        for (const c of ofType("pulumi-nodejs:dynamic/transport:TunnelCredentials")) assert.strictEqual(c.inputs.version, 3);
    });

    it("render mode: both providers write manifests, the progress resources are told not to read a cluster", async () => {
        await build({ ...makePlan(), render: "/tmp/dvm-render-test" });
        const providers = ofType("pulumi:providers:kubernetes");
        assert.deepStrictEqual(providers.map((p) => p.inputs.renderYamlToDirectory).sort(), ["/tmp/dvm-render-test/destination", "/tmp/dvm-render-test/source"]);
        for (const p of providers) assert.strictEqual(p.inputs.kubeconfig, undefined);
        const progress = declared.filter((d) => d.type.startsWith("pulumi-nodejs:dynamic/progress"));
        assert.strictEqual(progress.length, 2);
        for (const p of progress) assert.strictEqual(p.inputs.render, true);
        await build(makePlan());
        for (const p of declared.filter((d) => d.type.startsWith("pulumi-nodejs:dynamic/progress"))) {
            assert.strictEqual(p.inputs.render, false);
            assert.strictEqual(p.inputs.timeoutSeconds, 1440 * 60);
        }
    });
});
