// components/access.ts against the components: under Pulumi mocks, every plan shape (each endpoint kind, each
// privilege mode) declares exactly the kinds, on exactly the clusters, that the access table's applicable rows name.
// A component that starts declaring a new kind (or stops) fails here until its row is added (or removed), so
// `dvm check` always asks for the permissions `pulumi up` will use.
import * as assert from "assert";
import { Plan } from "../../config/plan";
import * as fs from "fs";
import * as path from "path";
import { ACCESS, accessRows, Cluster, labelsNamespaces, rbacRules, regenerateAccess, resourceName } from "../../components/access";
import { podSecurityLabels } from "../../components/security";
import { declared, installMocks, makePlan, promiseOf, reset, settle } from "../support/mocks";

installMocks();
// Loaded after installMocks(): the components must meet the mocked runtime (an import would be hoisted above it).
const { MigrationWave } = require("../../components/wave") as typeof import("../../components/wave");

const ENDPOINTS: Record<string, unknown> = {
    route: { type: "route", subdomain: "apps.dst.example.com" },
    ingress: { type: "ingress", subdomain: "apps.dst.example.com", ingressClass: "nginx" },
    loadBalancer: { type: "loadBalancer" },
    nodePort: { type: "nodePort", nodeAddress: "192.0.2.10" },
    clusterIP: { type: "clusterIP" },
};
const SECURITY: Record<string, unknown> = {
    default: {},
    root: { runAsRoot: true },
    "root-no-labels": { runAsRoot: true, podSecurityLabels: false },
    privileged: { superPrivileged: true },
};

function plans(): { label: string; plan: Plan }[] {
    const out: { label: string; plan: Plan }[] = [];
    // every endpoint kind once, every privilege mode once (the two choices touch different rows)
    for (const [e, endpoint] of Object.entries(ENDPOINTS)) out.push({ label: e, plan: makePlan({ destination: { context: "dst", endpoint } }) });
    for (const [s, security] of Object.entries(SECURITY)) out.push({ label: `route/${s}`, plan: makePlan({ security }) });
    return out;
}

/** `<cluster> <type>` of every Kubernetes resource the wave declares. */
async function declaredKinds(plan: Plan): Promise<Set<string>> {
    reset();
    const wave = new MigrationWave("wave", { plan, sourceKubeconfig: "apiVersion: v1\nkind: Config\n", destinationKubeconfig: "apiVersion: v1\nkind: Config\n" });
    await promiseOf(wave.migration);
    await settle();
    const out = new Set<string>();
    for (const d of declared) {
        if (!d.type.startsWith("kubernetes:")) continue;
        const side = /::source::/.test(d.provider ?? "") ? "source" : /::destination::/.test(d.provider ?? "") ? "destination" : "?";
        out.add(`${side} ${d.type}`);
    }
    return out;
}

function tableKinds(plan: Plan): Set<string> {
    const out = new Set<string>();
    for (const c of ["source", "destination"] as Cluster[]) {
        for (const r of accessRows(plan, c)) for (const t of r.types ?? []) out.add(`${c} ${t}`);
    }
    return out;
}

describe("components/access: the permissions table `dvm check` asks for", function () {
    this.timeout(60000);

    it("names exactly the kinds the components declare, per cluster, for every endpoint kind and privilege mode", async () => {
        const everDeclared = new Set<string>();
        for (const { label, plan } of plans()) {
            const got = await declaredKinds(plan);
            for (const k of got) everDeclared.add(k);
            assert.deepStrictEqual([...got].sort(), [...tableKinds(plan)].sort(), `${label}: declared kinds vs the access rows that apply`);
        }
        // every row's kinds are declared by some plan: no row outlives its component
        for (const r of ACCESS) for (const t of r.types ?? []) assert.ok(everDeclared.has(`${r.cluster} ${t}`), `${r.cluster} ${t} (row ${resourceName(r)}) is never declared`);
    });

    it("decides the namespaces' Pod Security labels exactly as the components' Pod Security labels do", () => {
        for (const runAsRoot of [false, true]) for (const superPrivileged of [false, true]) for (const labels of [false, true]) {
            const plan = makePlan({ security: { runAsRoot, superPrivileged, podSecurityLabels: labels } });
            assert.strictEqual(labelsNamespaces(plan.security), Object.keys(podSecurityLabels(plan.security)).length > 0, JSON.stringify(plan.security));
        }
    });

    it("managed kinds can be created, patched (server-side apply), deleted and watched while they go; retained ones are never deleted", () => {
        for (const r of ACCESS.filter((x) => x.types)) {
            const retained = ["namespaces", "persistentvolumeclaims"].includes(r.resource);
            for (const v of retained ? ["get", "patch"] : ["get", "list", "watch", "create", "patch", "delete"]) {
                assert.ok(r.verbs.includes(v as never), `${r.cluster} ${resourceName(r)} lacks ${v}`);
            }
            if (retained) assert.ok(!r.verbs.includes("delete"), `${r.cluster} ${resourceName(r)}: dvm never deletes it, so it must not ask for delete`);
        }
        assert.deepStrictEqual(resourceName({ group: "", resource: "pods/log" }), "pods/log");
        assert.deepStrictEqual(resourceName({ group: "apps", resource: "deployments" }), "deployments.apps");
        const rules = rbacRules(makePlan(), "destination");
        assert.ok(rules.some((r) => r.resources[0] === "routes" && r.apiGroups[0] === "route.openshift.io"), "a route plan grants Routes");
        assert.ok(!rbacRules(makePlan({ destination: { context: "dst", endpoint: ENDPOINTS.nodePort } }), "destination").some((r) => r.resources[0] === "routes"));
    });

    it("docs/cli.md shows the table as it is (make docs writes it); every conditional row says when", () => {
        const page = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "cli.md"), "utf8");
        assert.strictEqual(page, regenerateAccess(page), "docs/cli.md is stale: run `make docs`");
        for (const r of ACCESS) assert.strictEqual(!!r.applies, !!r.when, `${r.cluster} ${resourceName(r)}: applies and when go together`);
    });
});
