// The program and the policy pack agree: the objects the program really declares (under Pulumi mocks) pass every
// policy in their default configuration, and the pack stops the configurations it exists to stop.
import { strict as assert } from "node:assert";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import type { ResourceValidationPolicy, StackValidationPolicy } from "../../policies/node_modules/@pulumi/policy";
import * as P from "../../policies/policies";
import { Plan } from "../../config/plan";
import { validateStackConfig, validateWave } from "../../config/validate";
import { declared, installMocks, promiseOf, reset, settle } from "./mocks";
import { Obj, PackConfigFile, readConfigFile, validate, validateStack } from "./policies-fixtures";

installMocks();
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { MigrationWave } = require("../../components/wave") as typeof import("../../components/wave");

const resourcePolicies = P.policies.filter((p): p is ResourceValidationPolicy => "validateResource" in p);
const stackPolicies = P.policies.filter((p): p is StackValidationPolicy => "validateStack" in p);

function unsecret(v: any): any {
    if (Array.isArray(v)) return v.map(unsecret);
    if (v && typeof v === "object") {
        if (v[specialSigKey] === specialSecretSig) return unsecret(v.value);
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unsecret(x)]));
    }
    return v;
}

async function programObjects(security: Record<string, unknown>): Promise<Obj[]> {
    const c = validateStackConfig({
        source: { context: "src" },
        destination: { context: "dst", endpoint: { type: "route", subdomain: "apps.dst.example.com" } },
        wave: "waves/w.yaml",
        security,
    });
    const w = validateWave({
        name: "wave-1",
        namespaces: [
            { name: "billing", pvcs: [{ name: "postgresql", capacity: "10Gi" }, { name: "uploads", capacity: "5Gi" }] },
            { name: "inventory", targetNamespace: "inventory-west", pvcs: [{ name: "mysql-data", targetName: "mysql", capacity: "20Gi" }] },
        ],
    }, "waves/w.yaml");
    const plan: Plan = { ...c, wave: { name: w.name, file: c.wave }, namespaces: w.namespaces };
    reset();
    const wave = new MigrationWave("wave", { plan, sourceKubeconfig: "apiVersion: v1\n", destinationKubeconfig: "apiVersion: v1\n" });
    await promiseOf(wave.migration);
    await settle();
    return declared.map((d) => ({ type: d.type, name: d.name, props: unsecret(d.inputs), provider: d.provider?.split("::").slice(0, -1).join("::") }));
}

async function violations(objs: Obj[], file: PackConfigFile = {}): Promise<string[]> {
    const out: string[] = [];
    for (const p of resourcePolicies) {
        for (const o of objs) out.push(...(await validate(p, o, file)).map((m) => `${p.name}: ${m}`));
    }
    for (const p of stackPolicies) out.push(...(await validateStack(p, objs, file)).map((r) => `${p.name}: ${r.message}`));
    return out;
}

describe("program + policy pack", function () {
    this.timeout(30000);

    it("the default (non-root) wave passes every policy with the pack's defaults", async () => {
        const objs = await programObjects({});
        assert.ok(objs.some((o) => o.type === "kubernetes:batch/v1:Job"));
        assert.deepEqual(await violations(objs), []);
    });

    it("a root wave is blocked by the default pack, and passes with the pack's root config", async () => {
        const objs = await programObjects({ runAsRoot: true });
        const blocked = await violations(objs);
        assert.ok(blocked.some((m) => m.startsWith("transfer-run-as-non-root:")), blocked.join("\n"));
        assert.deepEqual(await violations(objs, readConfigFile("root.json")), []);
    });

    it("a root wave without PSA labels is blocked even when root is allowed", async () => {
        const objs = await programObjects({ runAsRoot: true, podSecurityLabels: false });
        const blocked = await violations(objs, readConfigFile("root.json"));
        assert.ok(blocked.length > 0);
        assert.ok(blocked.every((m) => m.startsWith(`${P.rootNeedsPrivilegedNamespace.name}:`)), blocked.join("\n"));
    });

    it("a super-privileged wave needs the super-privileged pack config", async () => {
        const objs = await programObjects({ runAsRoot: true, superPrivileged: true });
        const blocked = await violations(objs, readConfigFile("root.json"));
        assert.ok(blocked.some((m) => m.startsWith("transfer-privileged:")), blocked.join("\n"));
        assert.ok(blocked.some((m) => m.startsWith("transfer-selinux-spc-t:")), blocked.join("\n"));
        assert.deepEqual(await violations(objs, readConfigFile("super-privileged.json")), []);
    });
});
