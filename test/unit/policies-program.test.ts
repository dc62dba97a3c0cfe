// The program's own endpoints against the policy pack: MigrationWave is built under Pulumi mocks (test/unit/mocks.ts)
// for every endpoint type, and every resource it declares goes through every policy (advisory ones included).
// The privilege modes of the program are covered by program-policies.test.ts; the fixtures of policies.test.ts
// describe the contract.
import { strict as assert } from "node:assert";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import type { ResourceValidationPolicy, StackValidationPolicy } from "../../policies/node_modules/@pulumi/policy";
import * as P from "../../policies/policies";
import { Plan } from "../../config/plan";
import { validateStackConfig, validateWave } from "../../config/validate";
import { declared, installMocks, promiseOf, reset, settle } from "./mocks";
import { Obj, PackConfigFile, validate, validateStack } from "./policies-fixtures";

installMocks();
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { MigrationWave } = require("../../components/wave") as typeof import("../../components/wave");

const WAVE = {
    name: "wave-1",
    namespaces: [
        { name: "billing", pvcs: [{ name: "postgresql", capacity: "10Gi" }, { name: "uploads", capacity: "5Gi", accessModes: ["ReadWriteMany"] }] },
        { name: "inventory", targetNamespace: "inventory-west", nodeName: "worker-1", pvcs: [{ name: "mysql-data", targetName: "mysql", capacity: "20Gi" }] },
    ],
};

function makePlan(config: Record<string, unknown> = {}): Plan {
    const c = validateStackConfig({
        source: { context: "src" },
        destination: { context: "dst", endpoint: { type: "route", subdomain: "apps.dst.example.com" } },
        wave: "waves/w.yaml",
        ...config,
    });
    const w = validateWave(WAVE, "waves/w.yaml");
    return {
        ...c, wave: { name: w.name, file: c.wave },
        namespaces: w.namespaces.map((ns) => ({ ...ns, pvcs: ns.pvcs.map((p) => ({ ...p, verify: p.verify || c.rsync.verify })) })),
    };
}

/** Secret inputs reach a policy as plain values (the analyzer deserializes them so); mocks see them wrapped. */
function unwrap(v: any): any {
    if (Array.isArray(v)) {
        return v.map(unwrap);
    }
    if (v && typeof v === "object") {
        if (v[specialSigKey] === specialSecretSig) {
            return unwrap(v.value);
        }
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
    }
    return v;
}

/** Builds the wave and returns what the engine would hand the pack: every resource with its inputs and provider. */
async function program(config: Record<string, unknown>): Promise<Obj[]> {
    reset();
    const wave = new MigrationWave("wave", { plan: makePlan(config), sourceKubeconfig: "apiVersion: v1\nkind: Config\n", destinationKubeconfig: "apiVersion: v1\nkind: Config\n" });
    await promiseOf(wave.migration);
    await settle();
    // a provider reference is "<provider urn>::<id>"
    return declared.map((d) => ({ type: d.type, name: d.name, props: unwrap(d.inputs), provider: d.provider?.replace(/::[^:]+$/, "") }));
}

const resourcePolicies = P.policies.filter((p): p is ResourceValidationPolicy => "validateResource" in p);
const stackPolicies = P.policies.filter((p): p is StackValidationPolicy => "validateStack" in p);

async function violations(objs: Obj[], file: PackConfigFile = {}): Promise<string[]> {
    const out: string[] = [];
    for (const p of resourcePolicies) {
        for (const o of objs) {
            out.push(...(await validate(p, o, file)).map((m) => `${p.name}: ${m}`));
        }
    }
    for (const p of stackPolicies) {
        out.push(...(await validateStack(p, objs, file)).map((r) => `${p.name}: ${r.message}`));
    }
    return out;
}

describe("policy pack: the program's own endpoints", function () {
    this.timeout(60_000);

    it("a default wave passes every policy, advisory ones included, for every endpoint type", async () => {
        const endpoints = [
            { type: "route", subdomain: "apps.dst.example.com" },
            { type: "ingress", subdomain: "dst.example.com", ingressClass: "nginx" },
            { type: "loadBalancer" },
            { type: "nodePort", nodeAddress: "192.0.2.10" },
            { type: "clusterIP" },
        ];
        for (const endpoint of endpoints) {
            const objs = await program({ destination: { context: "dst", endpoint } });
            assert.ok(objs.some((o) => o.type === "kubernetes:batch/v1:Job"), "the program declared its transfer pods");
            assert.deepEqual(await violations(objs), [], `endpoint ${endpoint.type}`);
        }
    });
});
