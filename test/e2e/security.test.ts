// End to end, security: a wave through a Route with TLS passthrough between the local clusters. The destination gets
// the Route CRD; hack/clusters/router.sh runs Debian's HAProxy on the destination node's address in TCP mode, routing
// by SNI as the OpenShift router does for passthrough routes, its config generated from the Route objects dvm
// created (allow-list annotation included). Data must arrive equal; a wrong SNI, or the right one from outside
// dvm:destination.endpoint.sourceRanges, must be refused. The wave's Pod Security labels are patches that go with it.
// The pods run the transfer image pinned by digest, from the OCI archive image/build.sh made.

import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { transferNames } from "../../components/names";
import { PSA_LABELS, ROUTER_IP_ALLOWLIST_ANNOTATION } from "../../contract";
import { diff, generate, snapshot } from "../support/dataset";
import { copyProject, pulumi, pulumiOk, removeWorkDir, RunResult, workDir } from "../support/engine";
import {
    createPvc, deleteNamespaces, DST, DST_NODE_ADDRESS, IMAGE, json, KUBECONFIG, kubectl, kubectlOk, PROJECT_ENTRIES, requireClusters,
    resetVolumes, SRC, volumeDir, waitFor, waveYaml,
} from "../support/clusters";

const NS = "sec-route";
const INGRESS_NS = "sec-ingress";
const SUBDOMAIN = "apps.dst.dvm.local";
/** The names the program gives the objects of a namespace's wave (`<ns>-wave`, pass 1). */
const names = (ns: string) => transferNames(`${ns}-wave`, ns, 1);
const HOST = `${names(NS).hostLabel}.${SUBDOMAIN}`;
/** The source cluster's node: its pods reach other clusters masqueraded to this address. */
const SRC_NODE_ADDRESS = "10.213.0.11";
const ROUTER = path.join(__dirname, "..", "..", "hack", "clusters", "router.sh");

function stackYaml(kind: "route" | "ingress", ns: string): string {
    return [
        "config:",
        "  dvm:source:", `    kubeconfig: ${KUBECONFIG}`, `    context: ${SRC}`,
        "  dvm:destination:", `    kubeconfig: ${KUBECONFIG}`, `    context: ${DST}`,
        "    endpoint:",
        `      type: ${kind}`,
        `      subdomain: ${SUBDOMAIN}`,
        // the clusters have no DNS: the source dials the router, the SNI stays the Route's (Ingress's) host
        `      routerAddress: ${DST_NODE_ADDRESS}`,
        // ingress-nginx cannot enforce source ranges for passthrough: dvm refuses them for ingress
        ...(kind === "route" ? [`      sourceRanges: [${SRC_NODE_ADDRESS}/32]`] : []),
        `  dvm:wave: waves/${ns}.yaml`,
        `  dvm:transferImage: ${IMAGE}`,
        "  dvm:security:", "    runAsRoot: true", "    podSecurityLabels: true",
        "  dvm:stunnelWaitSeconds: 180",
        "",
    ].join("\n");
}

/** TLS ClientHello with `sni` to the router from a network namespace (or the host); how many bytes came back. */
function helloBytes(sni: string, netns?: string): number {
    const args = ["s_client", "-connect", `${DST_NODE_ADDRESS}:443`, "-servername", sni, "-tls1_3"];
    const r = netns
        ? spawnSync("nsenter", [`--net=/run/netns/${netns}`, "--", "timeout", "10", "openssl", ...args], { encoding: "utf8", input: "" })
        : spawnSync("timeout", ["10", "openssl", ...args], { encoding: "utf8", input: "" });
    const m = /SSL handshake has read (\d+) bytes/.exec(`${r.stdout}${r.stderr}`);
    assert.ok(m, `openssl s_client said nothing about the handshake:\n${r.stdout}${r.stderr}`);
    return Number(m[1]);
}

describe("e2e security: Route and Ingress passthrough routed by SNI, source ranges, PSA patches", function () {
    let work = "";
    let project = "";
    let router: ChildProcess | undefined;
    let routerDir = "";
    const deployed = new Set<string>();
    const policyPack = path.join(__dirname, "..", "..", "policies");
    const routerLog = () => fs.readFileSync(path.join(work, "router.log"), "utf8").slice(-3000);

    /** `pulumi up` of a stack with the pack (root mode); the data of its namespace must arrive equal. */
    function wave(stack: string): RunResult {
        deployed.add(stack);
        const r = pulumi(work, project, ["up", "--yes", "--skip-preview", "--stack", stack,
            "--policy-pack", policyPack, "--policy-pack-config", path.join(policyPack, "config", "root.json")]);
        assert.equal(r.code, 0, `${r.output}\n--- router\n${routerLog()}`);
        const out = JSON.parse(pulumiOk(work, project, ["stack", "output", "migration", "--json", "--show-secrets", "--stack", stack]).stdout);
        assert.equal(out.namespaces[stack].pvcs.data.phase, "Succeeded", JSON.stringify(out));
        const d = diff(snapshot(volumeDir(SRC, stack, "data"), ["lost+found"]), snapshot(volumeDir(DST, stack, "data")), { owners: true });
        assert.deepEqual(d.slice(0, 20), [], `${d.length} differences`);
        return r;
    }

    before(function () {
        requireClusters("`DVM_E2E_KEEP_CLUSTERS=1 bash hack/e2e.sh --grep 'e2e security'`");
        deleteNamespaces(SRC, [NS, INGRESS_NS]);
        deleteNamespaces(DST, [NS, INGRESS_NS]);
        resetVolumes();
        for (const ns of [NS, INGRESS_NS]) {
            kubectlOk(SRC, ["create", "namespace", ns]);
            generate(createPvc(SRC, ns, "data"), { smallFiles: 120, largeMiB: 3, owners: true, sparseMiB: 0 }, 1);
        }

        const crd = spawnSync("bash", [ROUTER, "crd"], { encoding: "utf8" });
        assert.equal(crd.status, 0, `${crd.stdout}${crd.stderr}`);
        work = workDir("sec-route");
        routerDir = path.join(work, "router");
        router = spawn("bash", [ROUTER, "run", routerDir], { stdio: ["ignore", "ignore", fs.openSync(path.join(work, "router.log"), "a")], detached: true });

        project = copyProject(work, PROJECT_ENTRIES);
        fs.mkdirSync(path.join(project, "stacks"), { recursive: true });
        for (const [kind, ns] of [["route", NS], ["ingress", INGRESS_NS]] as const) {
            fs.writeFileSync(path.join(project, "waves", `${ns}.yaml`), waveYaml(`${ns}-wave`, [{ ns, pvc: "data", targetNs: ns, targetPvc: "data" }]));
            fs.writeFileSync(path.join(project, "stacks", `Pulumi.${ns}.yaml`), stackYaml(kind, ns));
            pulumiOk(work, project, ["stack", "init", ns]);
        }
    });

    after(function () {
        if (router?.pid) {
            try { process.kill(-router.pid, "SIGTERM"); } catch { /* gone */ }
        }
        for (const stack of work && project ? [...deployed] : []) pulumi(work, project, ["destroy", "--yes", "--skip-preview", "--stack", stack]);
        deleteNamespaces(SRC, [NS, INGRESS_NS]);
        deleteNamespaces(DST, [NS, INGRESS_NS]);
        kubectl(DST, ["delete", "crd", "routes.route.openshift.io", "--ignore-not-found"]);
        if (work) removeWorkDir(work);
    });

    it("route wave: every PVC copied through HAProxy by SNI, data equal, the image pinned by digest", function () {
        const up = wave(NS);

        // dvm's Route: passthrough, the host the router routed on, the allow-list from sourceRanges
        const route = json(DST, ["-n", NS, "get", "routes.route.openshift.io", names(NS).server]);
        assert.equal(route.spec.tls.termination, "passthrough");
        assert.equal(route.spec.host, HOST);
        assert.equal(route.metadata.annotations[ROUTER_IP_ALLOWLIST_ANNOTATION], `${SRC_NODE_ADDRESS}/32`);
        const cfg = fs.readFileSync(path.join(routerDir, "haproxy.cfg"), "utf8");
        assert.ok(cfg.includes(`use_backend be_tcp:${NS}:${names(NS).server} if { req.ssl_sni -i ${HOST} }`), cfg);
        assert.ok(cfg.includes(`acl whitelist src ${SRC_NODE_ADDRESS}/32`), cfg);
        // the source pod dialled the router, with the Route's host as SNI
        const conf = json(SRC, ["-n", NS, "get", "configmap", names(NS).config]).data["stunnel-client.conf"];
        assert.match(conf, new RegExp(`^connect = ${DST_NODE_ADDRESS.replace(/\./g, "\\.")}:443$`, "m"));
        assert.match(conf, new RegExp(`^sni = ${HOST.replace(/\./g, "\\.")}$`, "m"));

        // the pods run the clusters' transfer image by digest: the archive image/build.sh wrote, as skopeo reads it
        assert.match(IMAGE, /@sha256:[0-9a-f]{64}$/);
        const pods = json(DST, ["-n", NS, "get", "pods", "-l", "dvm.io/role=destination-transfer"]).items;
        assert.ok(pods.length > 0);
        for (const c of pods[0].spec.containers) assert.equal(c.image, IMAGE);
        const paths = spawnSync("bash", [path.join(__dirname, "..", "..", "hack", "clusters", "images.sh"), "paths"], { encoding: "utf8" }).stdout;
        const archive = paths.split("\n").find((l) => l.startsWith("transfer "))!.split(" ")[2];
        const inspect = spawnSync("skopeo", ["inspect", `oci-archive:${archive}:bookworm`], { encoding: "utf8" });
        assert.equal(inspect.status, 0, inspect.stderr);
        assert.equal(`dvm.local/dvm-transfer@${JSON.parse(inspect.stdout).Digest}`, IMAGE);
        console.log(`    route wave in ${up.seconds.toFixed(0)}s`);
    });

    it("the router refuses a wrong SNI, and the right one from outside sourceRanges; the right one from the source reaches stunnel", function () {
        // stunnel answers a ClientHello without its key with an alert (7 bytes); HAProxy closes without a byte
        assert.ok(helloBytes(HOST, "dvm-src") > 0, "the right SNI from the source node reaches the stunnel server");
        assert.equal(helloBytes(`wrong.${SUBDOMAIN}`, "dvm-src"), 0, "a wrong SNI gets no backend");
        assert.equal(helloBytes(`${transferNames(`${NS}-wave`, "other", 1).hostLabel}.${SUBDOMAIN}`, "dvm-src"), 0, "another route's name gets no backend");
        assert.equal(helloBytes(HOST), 0, "the host (10.213.0.1) is outside sourceRanges: the allow-list rejects it");
    });

    it("ingress wave: an Ingress with ssl-passthrough, routed by SNI the same way: data equal, a wrong SNI refused", function () {
        const up = wave(INGRESS_NS);
        const ing = json(DST, ["-n", INGRESS_NS, "get", "ingress", names(INGRESS_NS).server]);
        const host = `${names(INGRESS_NS).hostLabel}.${SUBDOMAIN}`;
        assert.equal(ing.spec.rules[0].host, host);
        assert.equal(ing.metadata.annotations["nginx.ingress.kubernetes.io/ssl-passthrough"], "true");
        assert.ok(fs.readFileSync(path.join(routerDir, "haproxy.cfg"), "utf8").includes(`if { req.ssl_sni -i ${host} }`));
        assert.ok(helloBytes(host, "dvm-src") > 0, "the Ingress's host reaches its stunnel server");
        assert.equal(helloBytes(`nope.${SUBDOMAIN}`, "dvm-src"), 0, "a wrong SNI gets no backend");
        console.log(`    ingress wave in ${up.seconds.toFixed(0)}s`);
    });

    it("Pod Security labels are patches: privileged during the wave, gone from both namespaces with it; the destination data stays", function () {
        for (const ctx of [SRC, DST]) {
            const labels = json(ctx, ["get", "namespace", NS]).metadata.labels ?? {};
            for (const l of PSA_LABELS) assert.equal(labels[l], "privileged", `${ctx} ${NS} ${l} during the wave`);
        }
        const destroyed = pulumi(work, project, ["destroy", "--yes", "--skip-preview", "--stack", NS]);
        assert.equal(destroyed.code, 0, destroyed.output);
        deployed.delete(NS);
        for (const ctx of [SRC, DST]) {
            const labels = waitFor(`${ctx} ${NS} without PSA labels`, 60, () => {
                const l = json(ctx, ["get", "namespace", NS]).metadata.labels ?? {};
                return PSA_LABELS.some((k) => k in l) ? undefined : l;
            });
            assert.ok(labels, ctx);
        }
        assert.equal(json(DST, ["-n", NS, "get", "pvc", "data"]).status.phase, "Bound", "the destination PVC is retained");
    });
});
