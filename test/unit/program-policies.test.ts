// The program and the policy pack agree: the objects the program really declares (MigrationWave under Pulumi mocks)
// pass every policy (advisory ones included) for every endpoint type in the pack's default configuration, and the
// pack stops the privilege configurations it exists to stop. The fixtures of policies.test.ts describe the contract.
import { strict as assert } from "node:assert";
import * as P from "../../policies/policies";
import { declared, installMocks, makePlan, promiseOf, reset, settle, unsecret } from "../support/mocks";
import { Obj, allViolations as violations, readConfigFile } from "../support/policies-fixtures";

installMocks();
// Loaded after installMocks(): the components must meet the mocked runtime (an import would be hoisted above it).
const { MigrationWave } = require("../../components/wave") as typeof import("../../components/wave");

/** Builds the wave and returns what the engine would hand the pack: every resource with its inputs and provider. */
async function programObjects(config: Record<string, unknown>): Promise<Obj[]> {
    reset();
    const wave = new MigrationWave("wave", { plan: makePlan(config), sourceKubeconfig: "apiVersion: v1\n", destinationKubeconfig: "apiVersion: v1\n" });
    await promiseOf(wave.migration);
    await settle();
    // a provider reference is "<provider urn>::<id>"
    return declared.map((d) => ({ type: d.type, name: d.name, props: unsecret(d.inputs), provider: d.provider?.replace(/::[^:]+$/, "") }));
}

describe("program + policy pack", function () {
    this.timeout(60_000);

    it("a default (non-root) wave passes every policy, advisory ones included, for every endpoint type", async () => {
        const endpoints = [
            { type: "route", subdomain: "apps.dst.example.com" },
            { type: "ingress", subdomain: "dst.example.com", ingressClass: "nginx" },
            { type: "loadBalancer" },
            { type: "nodePort", nodeAddress: "192.0.2.10" },
            { type: "clusterIP" },
        ];
        for (const endpoint of endpoints) {
            const objs = await programObjects({ destination: { context: "dst", endpoint } });
            assert.ok(objs.some((o) => o.type === "kubernetes:batch/v1:Job"), "the program declared its transfer pods");
            assert.deepEqual(await violations(objs), [], `endpoint ${endpoint.type}`);
        }
    });

    it("a root wave is blocked by the default pack, and passes with the pack's root config", async () => {
        const objs = await programObjects({ security: { runAsRoot: true } });
        const blocked = await violations(objs);
        assert.ok(blocked.some((m) => m.startsWith("transfer-run-as-non-root:")), blocked.join("\n"));
        assert.deepEqual(await violations(objs, readConfigFile("root.json")), []);
    });

    it("a root wave without PSA labels is blocked even when root is allowed", async () => {
        const objs = await programObjects({ security: { runAsRoot: true, podSecurityLabels: false } });
        const blocked = await violations(objs, readConfigFile("root.json"));
        assert.ok(blocked.length > 0);
        assert.ok(blocked.every((m) => m.startsWith(`${P.rootNeedsPrivilegedNamespace.name}:`)), blocked.join("\n"));
    });

    it("a super-privileged wave needs the super-privileged pack config", async () => {
        const objs = await programObjects({ security: { runAsRoot: true, superPrivileged: true } });
        const blocked = await violations(objs, readConfigFile("root.json"));
        assert.ok(blocked.some((m) => m.startsWith("transfer-privileged:")), blocked.join("\n"));
        assert.ok(blocked.some((m) => m.startsWith("transfer-selinux-spc-t:")), blocked.join("\n"));
        assert.deepEqual(await violations(objs, readConfigFile("super-privileged.json")), []);
    });
});
