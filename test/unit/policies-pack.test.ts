// The policy pack as the pulumi CLI runs it: `policies/index.ts` started by @pulumi/pulumi's run-policy-pack (the
// program behind the CLI's nodejs policy analyzer; ts-node with type checking), then spoken to over the analyzer
// gRPC protocol: GetAnalyzerInfo, Configure (the pack config file, reconciled the way the CLI does), Analyze and
// AnalyzeStack. What this proves beyond policies.test.ts: the pack type-checks and starts from its own directory,
// advertises every policy with its level and config schema, applies config files and enforcement levels, and
// reads properties the way the engine sends them (protobuf Structs, unknown values during preview).
import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import type * as Grpc from "@grpc/grpc-js";
import * as analyzer from "@pulumi/pulumi/proto/analyzer_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as P from "../../policies/policies";
import { DST, Obj, PackConfigFile, POLICIES_DIR, destinationDeployment, edit, readConfigFile, urnOf, wave } from "../support/policies-fixtures";

// grpc-js and google-protobuf as @pulumi/pulumi's stubs above load them: a second copy of grpc-js would refuse the
// credentials, and messages must be of the stubs' own protobuf classes
const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const fromPulumi = (id: string) => require(require.resolve(id, { paths: [pulumiDir] }));
const grpc = fromPulumi("@grpc/grpc-js") as typeof Grpc;
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb") as { Struct: { fromJavaScript(o: object): any } };
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb") as { Empty: new () => any };

const LEVEL: Record<string, analyzer.EnforcementLevel> = {
    advisory: analyzer.EnforcementLevel.ADVISORY,
    mandatory: analyzer.EnforcementLevel.MANDATORY,
    disabled: analyzer.EnforcementLevel.DISABLED,
};
const LEVEL_NAME = Object.fromEntries(Object.entries(LEVEL).map(([k, v]) => [v, k]));

interface Diagnostic {
    policy: string;
    level: string;
    message: string;
    urn: string;
}

function call<Req, Res>(fn: (req: Req, cb: (err: Grpc.ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

function options(): analyzer.AnalyzerResourceOptions {
    const o = new analyzer.AnalyzerResourceOptions();
    o.setCustomtimeouts(new analyzer.AnalyzerResourceOptions.CustomTimeouts());
    return o;
}

function providerOf(o: Obj): analyzer.AnalyzerProviderResource | undefined {
    if (!o.provider) {
        return undefined;
    }
    const p = new analyzer.AnalyzerProviderResource();
    p.setType("pulumi:providers:kubernetes");
    p.setUrn(o.provider);
    p.setName(o.provider.split("::").pop()!);
    p.setProperties(Struct.fromJavaScript({}));
    return p;
}

function diagnostics(res: analyzer.AnalyzeResponse): Diagnostic[] {
    return res.getDiagnosticsList().map((d) => ({
        policy: d.getPolicyname(),
        level: LEVEL_NAME[d.getEnforcementlevel()],
        message: d.getMessage(),
        urn: d.getUrn(),
    }));
}

describe("policy pack: served as the pulumi CLI runs it", function () {
    this.timeout(120_000);
    let child: ChildProcess | undefined;
    let client: AnalyzerClient;
    let info: analyzer.AnalyzerInfo;
    let stderr = "";

    before(async () => {
        // the pack's own @pulumi/pulumi (policies/node_modules when installed, else the root's, the same version)
        const runner = path.dirname(require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [POLICIES_DIR] }));
        child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: POLICIES_DIR, stdio: ["ignore", "pipe", "pipe"] });
        child.stderr!.on("data", (d) => { stderr += d; });
        const port = await new Promise<number>((resolve, reject) => {
            let out = "";
            child!.stdout!.on("data", (d) => {
                out += d;
                const m = /^(\d+)\s*$/m.exec(out);
                if (m) {
                    resolve(Number(m[1]));
                }
            });
            child!.on("exit", (code) => reject(new Error(`the policy pack exited with ${code} before serving:\n${stderr}`)));
        });
        client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        info = await call(client.getAnalyzerInfo.bind(client), new Empty());
    });

    after(() => {
        client?.close();
        if (child && child.exitCode === null) {
            child.kill("SIGTERM");
        }
    });

    /** Sends the configuration the CLI would send for this pack config file (ReconcilePolicyPackConfig: schema
     * defaults and each policy's level, then "all", then the file's entries). */
    async function configure(file: PackConfigFile): Promise<void> {
        const req = new analyzer.ConfigureAnalyzerRequest();
        const map = req.getPolicyconfigMap();
        const all = typeof file.all === "string" ? file.all : undefined;
        for (const p of info.getPoliciesList()) {
            const props: Record<string, unknown> = {};
            const schema = p.getConfigschema()?.getProperties()?.toJavaScript() ?? {};
            for (const [k, v] of Object.entries(schema)) {
                if (v && typeof v === "object" && "default" in v) {
                    props[k] = (v as { default: unknown }).default;
                }
            }
            let level = all ?? LEVEL_NAME[p.getEnforcementlevel()];
            const entry = file[p.getName()];
            if (typeof entry === "string") {
                level = entry;
            } else if (entry) {
                const { enforcementLevel, ...rest } = entry;
                level = typeof enforcementLevel === "string" ? enforcementLevel : level;
                Object.assign(props, rest);
            }
            const pc = new analyzer.PolicyConfig();
            pc.setEnforcementlevel(LEVEL[level]);
            pc.setProperties(Struct.fromJavaScript(props));
            map.set(p.getName(), pc);
        }
        await call(client.configure.bind(client), req);
    }

    async function analyze(o: Obj): Promise<Diagnostic[]> {
        const req = new analyzer.AnalyzeRequest();
        req.setType(o.type);
        req.setName(o.name);
        req.setUrn(urnOf(o));
        req.setProperties(Struct.fromJavaScript(o.props));
        req.setOptions(options());
        const provider = providerOf(o);
        if (provider) {
            req.setProvider(provider);
        }
        return diagnostics(await call(client.analyze.bind(client), req));
    }

    async function analyzeStack(objs: Obj[]): Promise<Diagnostic[]> {
        const req = new analyzer.AnalyzeStackRequest();
        req.setResourcesList(objs.map((o) => {
            const r = new analyzer.AnalyzerResource();
            r.setType(o.type);
            r.setName(o.name);
            r.setUrn(urnOf(o));
            r.setProperties(Struct.fromJavaScript(o.props));
            r.setOptions(options());
            const provider = providerOf(o);
            if (provider) {
                r.setProvider(provider);
            }
            return r;
        }));
        return diagnostics(await call(client.analyzeStack.bind(client), req));
    }

    async function analyzeWave(objs: Obj[]): Promise<Diagnostic[]> {
        const out: Diagnostic[] = [];
        for (const o of objs) {
            out.push(...(await analyze(o)));
        }
        return [...out, ...(await analyzeStack(objs))];
    }

    it("starts from policies/ and advertises every policy with its level and config schema", () => {
        assert.equal(info.getName(), "dvm-transfer-privileges");
        assert.ok(info.getSupportsconfig());
        const served = info.getPoliciesList();
        assert.deepEqual(served.map((p) => p.getName()), P.policies.map((p) => p.name));
        for (const p of served) {
            const expected = P.policies.find((x) => x.name === p.getName())!;
            assert.equal(LEVEL_NAME[p.getEnforcementlevel()], expected.enforcementLevel, p.getName());
        }
        const caps = served.find((p) => p.getName() === "transfer-capabilities")!.getConfigschema()!.getProperties()!.toJavaScript();
        assert.deepEqual((caps.allowedCapabilities as { default: string[] }).default, [...P.PACK_DEFAULTS.allowedCapabilities]);
    });

    it("passes the default wave; blocks a root wave (mandatory) until root.json relaxes it", async () => {
        await configure({});
        assert.deepEqual(await analyzeWave(wave("nonroot")), []);
        const blocked = await analyzeWave(wave("root"));
        assert.ok(blocked.length > 0);
        assert.ok(blocked.every((d) => d.level === "mandatory" && ["transfer-run-as-non-root", "transfer-capabilities"].includes(d.policy)),
            JSON.stringify(blocked, null, 1));
        await configure(readConfigFile("root.json"));
        assert.deepEqual(await analyzeWave(wave("root")), []);
    });

    it("blocks a root wave without PSA labels under root.json, against each transfer pod's URN", async () => {
        await configure(readConfigFile("root.json"));
        const found = await analyzeWave(wave("root", { psa: false }));
        assert.equal(found.length, 4, JSON.stringify(found, null, 1));
        assert.ok(found.every((d) => d.policy === "root-needs-privileged-namespace" && d.level === "mandatory"));
        assert.deepEqual(new Set(found.map((d) => d.urn)).size, 4);
    });

    it("applies enforcement levels from the config file: advisory, disabled, and \"all\"", async () => {
        await configure({ "transfer-run-as-non-root": "advisory", "transfer-capabilities": { enforcementLevel: "disabled" } });
        const d = await analyze(destinationDeployment("app-1", "root"));
        assert.deepEqual([...new Set(d.map((x) => `${x.policy}/${x.level}`))], ["transfer-run-as-non-root/advisory"]);
        await configure({ all: "disabled" });
        assert.deepEqual(await analyzeWave(wave("super", { psa: false })), []);
    });

    it("during preview, a value not known yet turns that check into an advisory, not a pass or a crash", async () => {
        await configure({});
        const unknownBool = "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7"; // the engine's unknown-boolean sentinel
        const o = edit(destinationDeployment("app-1"), (p) => { p.spec.template.spec.containers[0].securityContext.privileged = unknownBool; });
        const d = (await analyze(o)).filter((x) => x.policy === "transfer-privileged");
        assert.equal(d.length, 1, JSON.stringify(d));
        assert.equal(d[0].level, "advisory");
        assert.match(d[0].message, /can't run policy 'transfer-privileged'.*during preview/);
        assert.equal(o.provider, DST);
    });
});
