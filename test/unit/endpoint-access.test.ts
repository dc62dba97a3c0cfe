// Who may reach the endpoint: `dvm:destination.endpoint.sourceRanges` feeds the load balancer's allow-list, the
// router's (Route annotation) and the destination pod's NetworkPolicy, which admits only the stunnel port and no
// egress whether ranges are given or not. Validation refuses bad CIDRs and a kind that cannot enforce them.
import * as assert from "assert";
import { ConfigError } from "../../config/errors";
import { validateStackConfig } from "../../config/stack";
import { Plan } from "../../config/plan";
import { ROUTER_IP_ALLOWLIST_ANNOTATION, STUNNEL_PORT } from "../../contract";
import { installMocks, makePlan, ofType, promiseOf, reset, settle } from "../support/mocks";

installMocks();
const { MigrationWave } = require("../../components/wave") as typeof import("../../components/wave");

async function build(plan: Plan) {
    reset();
    const wave = new MigrationWave("wave", { plan, sourceKubeconfig: "apiVersion: v1\nkind: Config\n", destinationKubeconfig: "apiVersion: v1\nkind: Config\n" });
    await promiseOf(wave.migration);
    await settle();
}

const RANGES = ["203.0.113.0/24", "2001:db8:5::/48"];
const endpoint = (e: Record<string, unknown>) => ({ destination: { context: "d", endpoint: e } });
const policies = () => ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy");
const service = () => ofType("kubernetes:core/v1:Service")[0].inputs.spec;

describe("endpoint: who may reach it (dvm:destination.endpoint.sourceRanges)", function () {
    this.timeout(60000);

    it("validation: a non-empty list of IPv4/IPv6 CIDRs, refused for ingress (passthrough skips nginx's checks)", () => {
        const base = { source: { context: "s" }, wave: "w.yaml" };
        const where = (e: Record<string, unknown>) => {
            try {
                validateStackConfig({ ...base, ...endpoint(e) });
                return [];
            } catch (err) {
                assert.ok(err instanceof ConfigError, String(err));
                return err.problems.map((p) => p.where);
            }
        };
        assert.deepStrictEqual(validateStackConfig({ ...base, ...endpoint({ type: "loadBalancer", sourceRanges: RANGES }) }).destination.endpoint.sourceRanges, RANGES);
        assert.deepStrictEqual(where({ type: "loadBalancer", sourceRanges: ["203.0.113.0", "10.0.0.0/33", "fe80::/129", "x/8"] }),
            [0, 1, 2, 3].map((i) => `dvm:destination.endpoint.sourceRanges[${i}]`));
        assert.deepStrictEqual(where({ type: "loadBalancer", sourceRanges: [] }), ["dvm:destination.endpoint.sourceRanges"]);
        assert.deepStrictEqual(where({ type: "loadBalancer", sourceRanges: "203.0.113.0/24" }), ["dvm:destination.endpoint.sourceRanges"]);
        assert.deepStrictEqual(where({ type: "ingress", subdomain: "apps.example.com", sourceRanges: RANGES }), ["dvm:destination.endpoint.sourceRanges"]);
        assert.strictEqual(validateStackConfig({ ...base, ...endpoint({ type: "nodePort", nodeAddress: "192.0.2.1" }) }).destination.endpoint.sourceRanges, undefined);
    });

    it("unset: the NetworkPolicy admits only the stunnel port, from anywhere, and no egress", async () => {
        await build(makePlan(endpoint({ type: "loadBalancer" })));
        const nps = policies();
        assert.strictEqual(nps.length, 2, "one per destination namespace");
        for (const np of nps) {
            assert.match(np.provider!, /::destination::/);
            assert.deepStrictEqual(np.inputs.spec.policyTypes, ["Ingress", "Egress"]);
            assert.deepStrictEqual(np.inputs.spec.ingress, [{ ports: [{ protocol: "TCP", port: STUNNEL_PORT }] }]);
            assert.deepStrictEqual(np.inputs.spec.egress, []);
            const pods = ofType("kubernetes:apps/v1:Deployment").filter((d) => d.inputs.metadata.namespace === np.inputs.metadata.namespace);
            assert.strictEqual(pods.length, 1);
            const podLabels = pods[0].inputs.spec.template.metadata.labels;
            for (const [k, v] of Object.entries(np.inputs.spec.podSelector.matchLabels)) assert.strictEqual(podLabels[k], v, `selects the transfer pod: ${k}`);
        }
        assert.strictEqual(service().loadBalancerSourceRanges, undefined);
        assert.strictEqual(service().externalTrafficPolicy, undefined);
    });

    it("loadBalancer: loadBalancerSourceRanges, ipBlocks, externalTrafficPolicy Local", async () => {
        await build(makePlan(endpoint({ type: "loadBalancer", sourceRanges: RANGES })));
        assert.deepStrictEqual(service().loadBalancerSourceRanges, RANGES);
        assert.strictEqual(service().externalTrafficPolicy, "Local");
        for (const np of policies()) assert.deepStrictEqual(np.inputs.spec.ingress[0].from, RANGES.map((cidr) => ({ ipBlock: { cidr } })));
    });

    it("nodePort and clusterIP: ipBlocks (nodePort keeps the client address with externalTrafficPolicy Local)", async () => {
        await build(makePlan(endpoint({ type: "nodePort", nodeAddress: "192.0.2.10", sourceRanges: RANGES })));
        assert.strictEqual(service().externalTrafficPolicy, "Local");
        assert.strictEqual(service().loadBalancerSourceRanges, undefined);
        for (const np of policies()) assert.deepStrictEqual(np.inputs.spec.ingress[0].from, RANGES.map((cidr) => ({ ipBlock: { cidr } })));
        await build(makePlan(endpoint({ type: "clusterIP", sourceRanges: RANGES })));
        assert.strictEqual(service().externalTrafficPolicy, undefined);
        for (const np of policies()) assert.deepStrictEqual(np.inputs.spec.ingress[0].from, RANGES.map((cidr) => ({ ipBlock: { cidr } })));
    });

    it("route: the router's allow-list annotation; the NetworkPolicy admits the router", async () => {
        await build(makePlan(endpoint({ type: "route", subdomain: "apps.example.com", sourceRanges: RANGES })));
        for (const r of ofType("kubernetes:route.openshift.io/v1:Route")) {
            assert.strictEqual(r.inputs.metadata.annotations[ROUTER_IP_ALLOWLIST_ANNOTATION], RANGES.join(" "));
        }
        for (const np of policies()) assert.strictEqual(np.inputs.spec.ingress[0].from, undefined);
        await build(makePlan(endpoint({ type: "route", subdomain: "apps.example.com" })));
        for (const r of ofType("kubernetes:route.openshift.io/v1:Route")) assert.strictEqual(r.inputs.metadata.annotations, undefined);
    });
});

describe("endpoint: routerAddress (route/ingress behind a router the source cannot resolve)", function () {
    this.timeout(60000);
    it("the source dials routerAddress with the transfer host as SNI; refused for other kinds and for non-addresses", async () => {
        await build(makePlan(endpoint({ type: "route", subdomain: "apps.example.com", routerAddress: "192.0.2.20" })));
        const host = ofType("kubernetes:route.openshift.io/v1:Route")[0].inputs.spec.host;
        const conf = ofType("kubernetes:core/v1:ConfigMap").map((c) => c.inputs.data?.["stunnel-client.conf"]).filter(Boolean)[0] as string;
        assert.match(conf, /^connect = 192\.0\.2\.20:443$/m);
        assert.ok(conf.includes(`\nsni = ${host}\n`), conf);
        const base = { source: { context: "s" }, wave: "w.yaml" };
        for (const e of [{ type: "nodePort", nodeAddress: "192.0.2.1", routerAddress: "192.0.2.20" }, { type: "route", subdomain: "a.example.com", routerAddress: "not an address" }]) {
            assert.throws(() => validateStackConfig({ ...base, ...endpoint(e) }), (err: unknown) => err instanceof ConfigError && err.problems[0].where === "dvm:destination.endpoint.routerAddress");
        }
    });
});
