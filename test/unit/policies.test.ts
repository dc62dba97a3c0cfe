// The CrossGuard pack (policies/): every policy passes the program's compliant objects and reports each violation
// with a message that names the resource and the fix. Validate functions are called directly with arguments shaped
// like @pulumi/policy's analyzer server builds them (see policies-fixtures.ts).
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as P from "../../policies/policies";
import { compareQuantities, parseQuantity } from "../../policies/quantity";
import * as layout from "../../contract";
import { renderRsyncdConf } from "../../components/transfer/rsyncd";
import { renderStunnelClientConf, renderStunnelServerConf } from "../../components/transport/stunnel";
import { generateCredentials, secretFiles } from "../../components/transport/credentials";
import {
    DST, Obj, POLICIES_DIR, allViolations, configMap, destinationDeployment, destinationPvc, edit, ingress, policySdk,
    readConfigFile, route, service, sourceJob, stackArgs, urnOf, validate, validateStack, wave,
} from "../support/policies-fixtures";

const { UnknownValueError, unknownCheckingProxy } = policySdk;


const DEPLOYMENT = 'Deployment app-1/dvm-destination (resource "app-1-destination")';
const JOB = 'Job app-1/dvm-source (resource "app-1-source")';

function assertOne(messages: string[], ...parts: (string | RegExp)[]): string {
    assert.equal(messages.length, 1, `expected one violation, got ${messages.length}:\n${messages.join("\n")}`);
    for (const part of parts) {
        if (typeof part === "string") {
            assert.ok(messages[0].includes(part), `message lacks ${JSON.stringify(part)}:\n${messages[0]}`);
        } else {
            assert.match(messages[0], part);
        }
    }
    return messages[0];
}

describe("policy pack: contract with the program", () => {
    it("documents root mode's default allowed capabilities as exactly the contract's ROOT_CAPABILITIES", () => {
        assert.deepEqual(P.PACK_DEFAULTS.allowedCapabilities, [...layout.ROOT_CAPABILITIES]);
        const schemaDefault = P.transferCapabilities.configSchema?.properties.allowedCapabilities.default;
        assert.deepEqual(schemaDefault, [...layout.ROOT_CAPABILITIES]);
        const page = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "policies.md"), "utf8");
        for (const cap of layout.ROOT_CAPABILITIES) {
            assert.ok(page.includes(cap), `docs/policies.md does not document capability ${cap}`);
        }
    });

    it("names every policy once, with a description, and makes every privilege rule mandatory by default", () => {
        const names = P.policies.map((p) => p.name);
        assert.equal(new Set(names).size, names.length);
        for (const p of P.policies) {
            assert.match(p.name, /^[a-z0-9-]+$/);
            assert.ok(p.description.length > 20, `${p.name} has no description`);
            assert.ok(["advisory", "mandatory"].includes(p.enforcementLevel!), `${p.name}: ${p.enforcementLevel}`);
        }
        const privilege = ["transfer-privileged", "transfer-selinux-spc-t", "transfer-run-as-non-root", "transfer-capabilities",
            "transfer-no-privilege-escalation", "transfer-seccomp-runtime-default", "transfer-no-host-access",
            "transfer-source-read-only", "root-needs-privileged-namespace"];
        for (const name of privilege) {
            assert.equal(P.policies.find((p) => p.name === name)?.enforcementLevel, "mandatory", name);
        }
        const page = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "policies.md"), "utf8");
        for (const name of names) {
            assert.ok(page.includes(`\`${name}\``), `docs/policies.md does not list policy ${name}`);
        }
    });

    it("ships config files whose every entry names a policy and a property of its config schema", () => {
        for (const file of fs.readdirSync(path.join(POLICIES_DIR, "config"))) {
            const cfg = readConfigFile(file);
            for (const [policy, entry] of Object.entries(cfg)) {
                const p = P.policies.find((x) => x.name === policy);
                assert.ok(p, `${file}: ${policy} is not a policy of the pack`);
                if (typeof entry === "string") {
                    continue;
                }
                for (const key of Object.keys(entry)) {
                    if (key !== "enforcementLevel") {
                        assert.ok(p.configSchema?.properties[key], `${file}: ${policy} has no config property ${key}`);
                    }
                }
            }
        }
    });

    it("refuses a config value of the wrong type, naming the policy and key, instead of reading it as allowed", async () => {
        await assert.rejects(validate(P.transferRunAsNonRoot, destinationDeployment("app-1", "root"), { "transfer-run-as-non-root": { allowRoot: "yes" } }),
            /policy pack config: "transfer-run-as-non-root".allowRoot is "yes", but must be true or false; example: \{"transfer-run-as-non-root":\{"allowRoot":true\}\}/);
        await assert.rejects(validate(P.transferCapabilities, destinationDeployment("app-1", "root"), { "transfer-capabilities": { allowRoot: true, allowedCapabilities: "CHOWN" } }),
            /"transfer-capabilities".allowedCapabilities is "CHOWN", but must be a list of strings/);
    });

    it("is loadable by the pulumi CLI: PulumiPolicy.yaml runtime nodejs with an existing main, SDK pinned to the program's", () => {
        const yaml = fs.readFileSync(path.join(POLICIES_DIR, "PulumiPolicy.yaml"), "utf8");
        assert.match(yaml, /^runtime: nodejs$/m);
        const main = /^main: (.+)$/m.exec(yaml)?.[1];
        assert.ok(main && fs.existsSync(path.join(POLICIES_DIR, main)), `main ${main} does not exist`);
        const pack = JSON.parse(fs.readFileSync(path.join(POLICIES_DIR, "package.json"), "utf8"));
        const root = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8"));
        assert.equal(pack.dependencies["@pulumi/pulumi"], root.dependencies["@pulumi/pulumi"]);
        assert.match(pack.dependencies["@pulumi/policy"], /^\d+\.\d+\.\d+$/);
        assert.match(pack.version, /^\d+\.\d+\.\d+$/); // PolicyPack refuses to start without one
    });
});

describe("policy pack: the program's waves", () => {
    it("passes a default (non-root) wave with no pack config", async () => {
        assert.deepEqual(await allViolations(wave("nonroot")), []);
    });

    it("passes a root wave with PSA labels under config/root.json, and blocks it without", async () => {
        assert.deepEqual(await allViolations(wave("root"), readConfigFile("root.json")), []);
        const blocked = await allViolations(wave("root"));
        // 2 namespaces x (1 Deployment x 2 containers + 1 Job x 2 containers) for each of the two root rules
        assert.equal(blocked.filter((m) => m.startsWith("transfer-run-as-non-root:")).length, 8);
        assert.equal(blocked.filter((m) => m.startsWith("transfer-capabilities:")).length, 8);
        assert.equal(blocked.length, 16, blocked.join("\n"));
    });

    it("blocks a root wave without PSA labels even when root is allowed", async () => {
        const found = await allViolations(wave("root", { psa: false }), readConfigFile("root.json"));
        assert.equal(found.length, 4, found.join("\n")); // 2 namespaces x (destination + source)
        assert.ok(found.every((m) => m.startsWith("root-needs-privileged-namespace:")));
    });

    it("passes a super-privileged wave only under config/super-privileged.json", async () => {
        assert.deepEqual(await allViolations(wave("super"), readConfigFile("super-privileged.json")), []);
        const privilegedOnly = await allViolations(wave("super"), readConfigFile("privileged.json"));
        assert.ok(privilegedOnly.length > 0 && privilegedOnly.every((m) => m.startsWith("transfer-selinux-spc-t:")), privilegedOnly.join("\n"));
        const none = await allViolations(wave("super"));
        assert.ok(none.some((m) => m.startsWith("transfer-privileged:")));
        assert.ok(none.some((m) => m.startsWith("transfer-selinux-spc-t:")));
        assert.ok(none.some((m) => m.startsWith("transfer-run-as-non-root:")));
    });
});

describe("policy pack: pod-spec policies", () => {
    const dep = () => destinationDeployment("app-1");
    const job = () => sourceJob("app-1");
    const rsyncd = (props: any) => props.spec.template.spec.containers[0];

    it("transfer-privileged: privileged: true is reported unless allowed", async () => {
        const o = edit(dep(), (p) => { rsyncd(p).securityContext = { ...rsyncd(p).securityContext, privileged: true, allowPrivilegeEscalation: true }; });
        assertOne(await validate(P.transferPrivileged, o), DEPLOYMENT, 'container "rsyncd"', "privileged is true", "Fix:",
            '{"transfer-privileged":{"allowPrivileged":true}}', "migration_rsync_privileged");
        assert.deepEqual(await validate(P.transferPrivileged, o, { "transfer-privileged": { allowPrivileged: true } }), []);
        assert.deepEqual(await validate(P.transferPrivileged, o, { "transfer-privileged": { allowSuperPrivileged: true } }), []);
        assert.deepEqual(await validate(P.transferPrivileged, dep()), []);
    });

    it("transfer-selinux-spc-t: spc_t on the pod or a container is reported unless super-privileged is allowed", async () => {
        const onPod = edit(dep(), (p) => { p.spec.template.spec.securityContext.seLinuxOptions = { type: "spc_t" }; });
        assertOne(await validate(P.transferSelinuxSpcT, onPod), DEPLOYMENT, "pod securityContext.seLinuxOptions.type is spc_t", "Fix:", "allowSuperPrivileged");
        const onContainer = edit(job(), (p) => { p.spec.template.spec.containers[1].securityContext.seLinuxOptions = { type: "spc_t" }; });
        assertOne(await validate(P.transferSelinuxSpcT, onContainer), JOB, 'container "stunnel"', "migration_rsync_super_privileged");
        assert.deepEqual(await validate(P.transferSelinuxSpcT, onPod, { "transfer-selinux-spc-t": { allowSuperPrivileged: true } }), []);
        const otherType = edit(dep(), (p) => { p.spec.template.spec.securityContext.seLinuxOptions = { type: "container_t", level: "s0:c1,c2" }; });
        assert.deepEqual(await validate(P.transferSelinuxSpcT, otherType), []);
    });

    it("transfer-run-as-non-root: runAsUser 0, or no runAsNonRoot, is reported unless root is allowed", async () => {
        const rootContainer = edit(dep(), (p) => { rsyncd(p).securityContext.runAsUser = 0; });
        assertOne(await validate(P.transferRunAsNonRoot, rootContainer), DEPLOYMENT, 'container "rsyncd"', "runs as root (runAsUser: 0)",
            "Fix:", '{"transfer-run-as-non-root":{"allowRoot":true}}');
        const noNonRoot = edit(job(), (p) => { delete p.spec.template.spec.securityContext.runAsNonRoot; });
        const two = await validate(P.transferRunAsNonRoot, noNonRoot);
        assert.equal(two.length, 2); // rsync and stunnel
        assert.ok(two.every((m) => m.startsWith(JOB) && m.includes("runAsNonRoot is not set") && m.includes("no runAsUser is set")));
        const explicitFalse = edit(job(), (p) => { p.spec.template.spec.securityContext = { runAsNonRoot: false, runAsUser: 1000 }; });
        assert.ok((await validate(P.transferRunAsNonRoot, explicitFalse)).every((m) => m.includes("runAsNonRoot is false and runAsUser is 1000")));
        const numericUser = edit(dep(), (p) => { p.spec.template.spec.securityContext.runAsUser = 1000680000; });
        assert.deepEqual(await validate(P.transferRunAsNonRoot, numericUser), []);
        assert.deepEqual(await validate(P.transferRunAsNonRoot, rootContainer, readConfigFile("root.json")), []);
    });

    it("transfer-capabilities: drop ALL, add nothing without root, and only allowedCapabilities with it", async () => {
        const noDrop = edit(dep(), (p) => { rsyncd(p).securityContext.capabilities = { drop: ["NET_RAW"] }; });
        assertOne(await validate(P.transferCapabilities, noDrop), DEPLOYMENT, 'container "rsyncd"', "does not drop ALL", 'capabilities.drop: ["ALL"]');
        const rootAdds = edit(dep(), (p) => { rsyncd(p).securityContext.capabilities = { drop: ["ALL"], add: ["CHOWN", "cap_setuid"] }; });
        assertOne(await validate(P.transferCapabilities, rootAdds), "adds capabilities CHOWN, cap_setuid, but root transfers are not allowed", "Fix:");
        assert.deepEqual(await validate(P.transferCapabilities, rootAdds, readConfigFile("root.json")), []);
        const sysAdmin = edit(dep(), (p) => { rsyncd(p).securityContext.capabilities = { drop: ["ALL"], add: ["CHOWN", "SYS_ADMIN"] }; });
        // only the capabilities outside the allowed set are named
        assertOne(await validate(P.transferCapabilities, sysAdmin, readConfigFile("root.json")), /adds capabilities SYS_ADMIN, which are not in allowedCapabilities/);
        const widened = { "transfer-capabilities": { allowRoot: true, allowedCapabilities: [...layout.ROOT_CAPABILITIES, "SYS_ADMIN"] } };
        assert.deepEqual(await validate(P.transferCapabilities, sysAdmin, widened), []);
        const privileged = edit(dep(), (p) => { rsyncd(p).securityContext = { privileged: true }; });
        assert.deepEqual(await validate(P.transferCapabilities, privileged), [], "privileged containers are judged by transfer-privileged");
    });

    it("transfer-no-privilege-escalation: allowPrivilegeEscalation must be false (privileged containers excepted)", async () => {
        const unset = edit(job(), (p) => { delete p.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation; });
        assertOne(await validate(P.transferNoPrivilegeEscalation, unset), JOB, 'container "rsync"', "not set (defaults to true)",
            "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation: false");
        const privileged = edit(job(), (p) => { p.spec.template.spec.containers[0].securityContext = { privileged: true, allowPrivilegeEscalation: true }; });
        assert.deepEqual(await validate(P.transferNoPrivilegeEscalation, privileged), []);
    });

    it("transfer-seccomp-runtime-default: RuntimeDefault or Localhost, on the pod or the container", async () => {
        const unset = edit(dep(), (p) => { delete p.spec.template.spec.securityContext.seccompProfile; });
        assert.equal((await validate(P.transferSeccomp, unset)).length, 2);
        const unconfined = edit(dep(), (p) => { rsyncd(p).securityContext.seccompProfile = { type: "Unconfined" }; });
        assertOne(await validate(P.transferSeccomp, unconfined), DEPLOYMENT, 'container "rsyncd"', "is Unconfined", "RuntimeDefault");
        const localhost = edit(dep(), (p) => { p.spec.template.spec.securityContext.seccompProfile = { type: "Localhost", localhostProfile: "dvm.json" }; });
        assert.deepEqual(await validate(P.transferSeccomp, localhost), []);
    });

    it("transfer-no-host-access: host namespaces, hostPath volumes and hostPorts", async () => {
        const host = edit(job(), (p) => {
            const spec = p.spec.template.spec;
            spec.hostNetwork = true;
            spec.hostPID = true;
            spec.hostIPC = true;
            spec.volumes.push({ name: "node-root", hostPath: { path: "/" } });
            spec.containers[1].ports = [{ containerPort: 2222, hostPort: 2222 }];
        });
        const found = await validate(P.transferNoHostAccess, host);
        assert.equal(found.length, 5, found.join("\n"));
        assert.ok(found.every((m) => m.startsWith(JOB) && m.includes("Fix:")));
        for (const what of ["hostNetwork is true", "hostPID is true", "hostIPC is true", 'volume "node-root" is a hostPath (/)', "hostPort 2222"]) {
            assert.ok(found.some((m) => m.includes(what)), what);
        }
    });

    it("transfer-resources: CPU and memory requests and limits on every container, init containers too", async () => {
        const noMemLimit = edit(dep(), (p) => { delete rsyncd(p).resources.limits.memory; });
        assertOne(await validate(P.transferResources, noMemLimit), DEPLOYMENT, 'container "rsyncd"', "resources limits.memory not set", "dvm:resources");
        const init = edit(job(), (p) => { p.spec.template.spec.initContainers = [{ name: "prepare", image: "busybox", securityContext: {} }]; });
        assertOne(await validate(P.transferResources, init), 'init container "prepare"', "requests.cpu, requests.memory, limits.cpu, limits.memory");
    });

    it("transfer-source-read-only: source PVCs attached and mounted read-only", async () => {
        const rwClaim = edit(job(), (p) => { p.spec.template.spec.volumes[1].persistentVolumeClaim.readOnly = false; });
        assertOne(await validate(P.transferSourceReadOnly, rwClaim), JOB, 'source volume "source-0" (claim "postgresql") is attached read-write',
            "spec.template.spec.volumes[1].persistentVolumeClaim.readOnly: true");
        const rwMount = edit(job(), (p) => { delete p.spec.template.spec.containers[0].volumeMounts[2].readOnly; });
        assertOne(await validate(P.transferSourceReadOnly, rwMount), 'container "rsync": source volume "source-1" is mounted read-write at /mnt/source/uploads',
            "volumeMounts[2].readOnly: true");
        // not fooled by a missing role label: whatever is mounted under /mnt/source is source data
        const unlabelled = edit(rwClaim, (p) => { delete p.spec.template.metadata.labels["dvm.io/role"]; delete p.metadata.labels["dvm.io/role"]; });
        assert.equal((await validate(P.transferSourceReadOnly, unlabelled)).length, 1);
        assert.deepEqual(await validate(P.transferSourceReadOnly, dep()), [], "destination PVCs are written");
    });

    it("transfer-read-only-root-filesystem: advisory, reported when the root filesystem is writable", async () => {
        assert.equal(P.transferReadOnlyRootFilesystem.enforcementLevel, "advisory");
        const writable = edit(dep(), (p) => { rsyncd(p).securityContext.readOnlyRootFilesystem = false; });
        assertOne(await validate(P.transferReadOnlyRootFilesystem, writable), DEPLOYMENT, 'container "rsyncd"', "readOnlyRootFilesystem: true");
    });

    it("transfer-no-service-account-token: advisory, reported when an API token would be mounted", async () => {
        assert.equal(P.transferNoServiceAccountToken.enforcementLevel, "advisory");
        const unset = edit(job(), (p) => { delete p.spec.template.spec.automountServiceAccountToken; });
        assertOne(await validate(P.transferNoServiceAccountToken, unset), JOB, "not set (a token is mounted by default)",
            "spec.template.spec.automountServiceAccountToken: false");
        const on = edit(dep(), (p) => { p.spec.template.spec.automountServiceAccountToken = true; });
        assertOne(await validate(P.transferNoServiceAccountToken, on), DEPLOYMENT, "automountServiceAccountToken is true");
    });

    it("is not fooled by a different wrapper kind", async () => {
        const bad = { name: "x", image: "busybox", securityContext: { privileged: true, runAsUser: 0 } };
        const spec = { containers: [bad] };
        const template = { metadata: { labels: {} }, spec };
        const wrappers: [string, any][] = [
            ["kubernetes:core/v1:Pod", { metadata: { name: "p" }, spec }],
            ["kubernetes:core/v1:PodTemplate", { metadata: { name: "t" }, template }],
            ["kubernetes:apps/v1:StatefulSet", { spec: { replicas: 1, template } }],
            ["kubernetes:apps/v1:DaemonSet", { spec: { template } }],
            ["kubernetes:apps/v1:ReplicaSet", { spec: { template } }],
            ["kubernetes:core/v1:ReplicationController", { spec: { template } }],
            ["kubernetes:batch/v1:CronJob", { spec: { schedule: "* * * * *", jobTemplate: { spec: { template } } } }],
            ["kubernetes:apps/v1:DeploymentPatch", { metadata: { name: "existing" }, spec: { template } }],
            ["kubernetes:core/v1:PodList", { items: [{ metadata: { name: "a" }, spec }] }],
            ["kubernetes:argoproj.io/v1alpha1:Rollout", { spec: { template } }],
        ];
        for (const [type, props] of wrappers) {
            const o: Obj = { type, props, name: "w" };
            assert.equal((await validate(P.transferPrivileged, o)).length, 1, `${type}: privileged not reported`);
            assert.equal((await validate(P.transferRunAsNonRoot, o)).length, 1, `${type}: root not reported`);
        }
        assert.deepEqual(await validate(P.transferPrivileged, { type: "random:index/randomString:RandomString", props: { spec }, name: "r" }), []);
    });

    it("judges only the fields a *Patch sets", async () => {
        const scale: Obj = { type: "kubernetes:apps/v1:DeploymentPatch", name: "scale", props: { metadata: { name: "dvm-destination" }, spec: { template: { spec: { containers: [{ name: "rsyncd" }] } } } } };
        assert.deepEqual(await allViolations([scale]), []);
        const escalate = edit(scale, (p) => { p.spec.template.spec.containers[0].securityContext = { allowPrivilegeEscalation: true, runAsNonRoot: false }; });
        assert.equal((await validate(P.transferNoPrivilegeEscalation, escalate)).length, 1);
        assert.equal((await validate(P.transferRunAsNonRoot, escalate)).length, 1);
    });
});

describe("policy pack: wave objects", () => {
    it("parses and compares Kubernetes quantities exactly", () => {
        const q = (s: string) => {
            const v = parseQuantity(s);
            assert.ok(v, `${s} should parse`);
            return v;
        };
        assert.equal(compareQuantities(q("10Gi"), q("10737418240")), 0);
        assert.equal(compareQuantities(q("10G"), q("10Gi")), -1);
        assert.equal(compareQuantities(q("11G"), q("10Gi")), 1);
        assert.equal(compareQuantities(q("1.5Gi"), q("1536Mi")), 0);
        assert.equal(compareQuantities(q("1e3"), q("1k")), 0);
        assert.equal(compareQuantities(q("500m"), q("0.5")), 0);
        assert.equal(compareQuantities(q("1Ei"), q("1152921504606846976")), 0);
        assert.equal(compareQuantities(q("1152921504606846977"), q("1Ei")), 1, "no floating-point rounding");
        for (const bad of ["", "ten", "10 Gi", "10GB", "-1Gi", "1.2.3"]) {
            assert.equal(parseQuantity(bad), undefined, bad);
        }
    });

    it("pvc-capacity-covers-wave: the destination PVC requests at least the wave file's capacity", async () => {
        assert.deepEqual(await validate(P.pvcCapacityCoversWave, destinationPvc("app-1", "postgresql", "10Gi")), []);
        assert.deepEqual(await validate(P.pvcCapacityCoversWave, destinationPvc("app-1", "postgresql", "10Gi", "11G")), []);
        const subject = 'PersistentVolumeClaim app-1/postgresql (resource "app-1-pvc-postgresql")';
        assertOne(await validate(P.pvcCapacityCoversWave, destinationPvc("app-1", "postgresql", "10Gi", "10G")), subject,
            "requests 10G but the wave file asks for 10Gi", 'at least "10Gi"');
        const noAnnotation = edit(destinationPvc("app-1", "postgresql", "10Gi"), (p) => { delete p.metadata.annotations; });
        assertOne(await validate(P.pvcCapacityCoversWave, noAnnotation), subject, "has no dvm.io/requested-capacity annotation", "Fix:");
        assertOne(await validate(P.pvcCapacityCoversWave, destinationPvc("app-1", "postgresql", "10 gigs", "10Gi")), "not a Kubernetes quantity");
        const noStorage = edit(destinationPvc("app-1", "postgresql", "10Gi"), (p) => { delete p.spec.resources; });
        assertOne(await validate(P.pvcCapacityCoversWave, noStorage), "spec.resources.requests.storage is not set");
    });

    it("endpoint-tls-passthrough: Route passthrough, Ingress ssl-passthrough, no Service port to rsyncd", async () => {
        assert.deepEqual(await validate(P.endpointTlsPassthrough, route("app-1")), []);
        assertOne(await validate(P.endpointTlsPassthrough, route("app-1", { termination: "edge" })),
            'Route app-1/dvm-destination (resource "app-1-route")', 'spec.tls.termination is "edge"', "Fix: set spec.tls.termination: passthrough");
        assertOne(await validate(P.endpointTlsPassthrough, route("app-1", null)), "spec.tls.termination is not set");
        assert.deepEqual(await validate(P.endpointTlsPassthrough, ingress("app-1")), []);
        assertOne(await validate(P.endpointTlsPassthrough, ingress("app-1", {})),
            'Ingress app-1/dvm-destination (resource "app-1-ingress")', "nginx.ingress.kubernetes.io/ssl-passthrough is missing", '"true"');
        assertOne(await validate(P.endpointTlsPassthrough, ingress("app-1", { "nginx.ingress.kubernetes.io/ssl-passthrough": "false" })), 'is "false"');
        for (const type of ["ClusterIP", "NodePort", "LoadBalancer"]) {
            assert.deepEqual(await validate(P.endpointTlsPassthrough, service("app-1", type)), []);
        }
        const rsyncd = edit(service("app-1", "LoadBalancer"), (p) => { p.spec.ports.push({ name: "rsync", port: 873, targetPort: layout.RSYNCD_PORT }); });
        assertOne(await validate(P.endpointTlsPassthrough, rsyncd), "spec.ports[1] targets the rsync daemon port 8873");
    });

    it("configmap-no-key-material: the program's real configs and scripts pass", async () => {
        const scripts: Record<string, string> = {};
        for (const dir of ["transfer/scripts", "transport/scripts"]) {
            const full = path.join(__dirname, "..", "..", "components", dir);
            for (const f of fs.readdirSync(full).filter((n) => n.endsWith(".sh"))) {
                scripts[f] = fs.readFileSync(path.join(full, f), "utf8");
            }
        }
        assert.ok(Object.keys(scripts).length >= 4, "the container scripts are where components/ keeps them");
        const configs = {
            "rsyncd.conf": renderRsyncdConf({ modules: ["postgresql", "uploads"], runAsRoot: true }),
            "stunnel-server.conf": renderStunnelServerConf(),
            "stunnel-client.conf": renderStunnelClientConf({ connectHost: "dvm-app-1.apps.dest.example.com", connectPort: 443 }),
        };
        assert.deepEqual(await validate(P.configMapNoKeyMaterial, configMap("app-1", "dvm-scripts", scripts)), []);
        assert.deepEqual(await validate(P.configMapNoKeyMaterial, configMap("app-1", "dvm-config", configs)), []);
    });

    it("configmap-no-key-material: the program's real credentials are reported under any key, never echoed", async () => {
        const files = secretFiles(generateCredentials());
        for (const [file, content] of Object.entries(files)) {
            // under its own name, and disguised under an innocent one
            for (const key of [file, "settings.conf"]) {
                const found = await validate(P.configMapNoKeyMaterial, configMap("app-1", "dvm-config", { [key]: content }));
                const msg = assertOne(found, 'ConfigMap app-1/dvm-config (resource "app-1-dvm-config")', `key "${key}"`, "Secret", "Fix:");
                const secret = content.trim().split(":").pop()!;
                assert.ok(!msg.includes(secret), "the message must not carry the secret");
            }
        }
        const pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        assertOne(await validate(P.configMapNoKeyMaterial, configMap("app-1", "c", { "id": pem })), "contains a PEM private key");
        const binary = configMap("app-1", "c", { "tls.key": Buffer.from("-----BEGIN PRIVATE KEY-----\nMIIE\n").toString("base64") }, DST, "binaryData");
        assertOne(await validate(P.configMapNoKeyMaterial, binary), 'binaryData key "tls.key" contains a PEM private key');
        const psk = `[rsync]\nclient = yes\ndvm-0011223344556677:${"ab".repeat(32)}\n`;
        assertOne(await validate(P.configMapNoKeyMaterial, configMap("app-1", "c", { "stunnel-client.conf": psk })), "a stunnel PSK line");
    });

    it("configmap-no-key-material: a ConfigMapPatch is judged too", async () => {
        const patch: Obj = { type: "kubernetes:core/v1:ConfigMapPatch", name: "p", props: { metadata: { name: "c" }, data: { "rsyncd.secrets": "dvm:hunter2hunter2" } } };
        assertOne(await validate(P.configMapNoKeyMaterial, patch), 'key "rsyncd.secrets" is a credentials file');
    });
});

describe("policy pack: stack policies", () => {
    it("wave-one-transfer-pod-per-namespace: exactly one destination and one source transfer pod per namespace", async () => {
        assert.deepEqual(await validateStack(P.waveOneTransferPodPerNamespace, wave("nonroot")), []);
        const noSource = wave("nonroot").filter((o) => o.name !== "app-3-source");
        const r = await validateStack(P.waveOneTransferPodPerNamespace, noSource);
        assertOne(r.map((x) => x.message), "Namespace app-3", "0 source-transfer pods", "expected exactly 1", "one Job with parallelism: 1");
        const twoReplicas = wave("nonroot").map((o) => o.name === "app-1-destination" ? edit(o, (p) => { p.spec.replicas = 2; }) : o);
        assertOne((await validateStack(P.waveOneTransferPodPerNamespace, twoReplicas)).map((x) => x.message), "Namespace app-1", "2 destination-transfer pods");
        const parallel = wave("nonroot").map((o) => o.name === "app-1-source" ? edit(o, (p) => { p.spec.parallelism = 3; }) : o);
        assertOne((await validateStack(P.waveOneTransferPodPerNamespace, parallel)).map((x) => x.message), "3 source-transfer pods");
        const extraJob = edit(sourceJob("app-1"), () => undefined);
        extraJob.name = "app-1-source-again";
        assertOne((await validateStack(P.waveOneTransferPodPerNamespace, [...wave("nonroot"), extraJob])).map((x) => x.message), "2 source-transfer pods");
    });

    it("wave-one-transfer-pod-per-namespace: pods that are not transfer pods, unattributed pods and DaemonSets", async () => {
        const stray: Obj = { type: "kubernetes:core/v1:Pod", name: "debug", props: { metadata: { name: "debug", namespace: "app-1" }, spec: { containers: [{ name: "sh" }] } } };
        const r = await validateStack(P.waveOneTransferPodPerNamespace, [...wave("nonroot"), stray]);
        assert.equal(r.length, 1);
        assert.ok(r[0].message.includes('Pod app-1/debug (resource "debug"): runs pods that are not dvm transfer pods'));
        assert.equal(r[0].urn, urnOf(stray), "reported against the offending resource");
        const unattributed = edit(sourceJob("app-9"), (p) => { delete p.spec.template.metadata.labels["dvm.io/source-namespace"]; delete p.metadata.labels["dvm.io/source-namespace"]; });
        const r2 = await validateStack(P.waveOneTransferPodPerNamespace, [...wave("nonroot"), unattributed]);
        assertOne(r2.map((x) => x.message), "has no dvm.io/source-namespace label");
        const ds = edit(destinationDeployment("app-1"), (p) => { delete p.spec.replicas; });
        ds.type = "kubernetes:apps/v1:DaemonSet";
        const r3 = await validateStack(P.waveOneTransferPodPerNamespace, [...wave("nonroot").filter((o) => o.name !== "app-1-destination"), ds]);
        assertOne(r3.map((x) => x.message), "a DaemonSet runs one destination-transfer pod per node", "Deployment with replicas: 1");
    });

    it("root-needs-privileged-namespace: root pods need PSA privileged labels on their namespace, on their cluster", async () => {
        const cfg = readConfigFile("root.json");
        assert.deepEqual(await validateStack(P.rootNeedsPrivilegedNamespace, wave("root"), cfg), []);
        assert.deepEqual(await validateStack(P.rootNeedsPrivilegedNamespace, wave("nonroot", { psa: false })), [], "non-root needs no labels");
        const unlabelled = await validateStack(P.rootNeedsPrivilegedNamespace, wave("root", { psa: false }), cfg);
        assert.equal(unlabelled.length, 4);
        const src = unlabelled.find((r) => r.urn === urnOf(sourceJob("app-1")));
        assert.ok(src, "the source Job is reported against its own URN");
        for (const part of [JOB, "needs a privileged namespace (runs as root, adds capabilities CHOWN", 'namespace "app-1"',
            "pod-security.kubernetes.io/enforce=privileged", "dvm:security.podSecurityLabels: true", "privilegedNamespaces"]) {
            assert.ok(src.message.includes(part), `lacks ${part}: ${src.message}`);
        }
    });

    it("root-needs-privileged-namespace: a label on the other cluster's namespace of the same name does not count", async () => {
        // the destination namespace app-1 is labelled, the source namespace app-1 (other cluster) is not patched
        const objs = wave("root").filter((o) => o.type !== "kubernetes:core/v1:NamespacePatch");
        const r = await validateStack(P.rootNeedsPrivilegedNamespace, objs);
        assert.deepEqual(r.map((x) => x.urn).sort(), [urnOf(sourceJob("app-1")), urnOf(sourceJob("app-3"))].sort());
        // with no provider information at all, names are matched as they are
        const noProviders = wave("root").map((o) => ({ ...o, provider: undefined }));
        assert.deepEqual(await validateStack(P.rootNeedsPrivilegedNamespace, noProviders), []);
    });

    it("root-needs-privileged-namespace: partial labels, super-privileged pods, and namespaces labelled outside the stack", async () => {
        const enforceOnly = wave("root").map((o) => o.type === "kubernetes:core/v1:NamespacePatch"
            ? edit(o, (p) => { p.metadata.labels = { "pod-security.kubernetes.io/enforce": "privileged" }; }) : o);
        const r = await validateStack(P.rootNeedsPrivilegedNamespace, enforceOnly);
        assert.equal(r.length, 2);
        assert.ok(r.every((x) => x.message.includes("pod-security.kubernetes.io/audit=privileged, pod-security.kubernetes.io/warn=privileged")
            && !x.message.includes("enforce=privileged")));
        const superNoPsa = await validateStack(P.rootNeedsPrivilegedNamespace, wave("super", { psa: false }));
        assert.ok(superNoPsa.length === 4 && superNoPsa.every((x) => x.message.includes("privileged") && x.message.includes("SELinux type spc_t")));
        const outside = { "root-needs-privileged-namespace": { privilegedNamespaces: ["app-1", "app-3"] } };
        assert.deepEqual(await validateStack(P.rootNeedsPrivilegedNamespace, wave("root", { psa: false }), outside), []);
    });
});

describe("policy pack: values not known during preview", () => {
    /** Wraps props the way the analyzer server does; `unknown` marks values as not known yet. */
    function previewProps(props: any): any {
        return unknownCheckingProxy(props);
    }
    const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // @pulumi/policy's unknownStringValue sentinel

    it("names a resource whose Kubernetes name is not known yet by its Pulumi name", async () => {
        const o = edit(destinationDeployment("app-1"), (p) => {
            p.metadata.name = UNKNOWN_STRING;
            p.spec.template.spec.containers[0].securityContext.privileged = true;
        });
        const msgs = await validate(P.transferPrivileged, { ...o, props: previewProps(o.props) });
        assertOne(msgs, 'Deployment (resource "app-1-destination"), container "rsyncd"');
    });

    it("a workload whose pod spec is not known yet is not passed: the check is left to the engine's preview advisory", async () => {
        const UNKNOWN_OBJECT = "dd056dcd-154b-4c76-9bd3-c8f88648b5ff"; // unknownObjectValue
        const job = edit(sourceJob("app-1"), (p) => { p.spec.template = UNKNOWN_OBJECT; });
        await assert.rejects(validate(P.transferPrivileged, { ...job, props: previewProps(job.props) }),
            (e: unknown) => e instanceof UnknownValueError && /spec\.template/.test((e as Error).message));
        // other kinds are only probed for a pod spec: an unknown Service spec is simply not a pod
        const svc = edit(service("app-1"), (p) => { p.spec = UNKNOWN_OBJECT; });
        assert.deepEqual(await validate(P.transferPrivileged, { ...svc, props: previewProps(svc.props) }), []);
    });

    it("a stack policy reports what it can and then the unknown (the engine makes that advisory)", async () => {
        const unknownNs = edit(sourceJob("app-3", "root"), (p) => { p.metadata.namespace = UNKNOWN_STRING; });
        const objs = [...wave("root", { psa: false }).filter((o) => o.name !== "app-3-source"), { ...unknownNs, props: previewProps(unknownNs.props) }];
        const reported: string[] = [];
        await assert.rejects(
            Promise.resolve().then(() => P.rootNeedsPrivilegedNamespace.validateStack(
                stackArgs(objs),
                (m: string) => { reported.push(m); })),
            (e: unknown) => e instanceof UnknownValueError,
        );
        assert.equal(reported.length, 3, "the three known pods are still judged");
    });
});
