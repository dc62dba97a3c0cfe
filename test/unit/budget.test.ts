// The concurrency budget (dvm:maxConcurrentNamespaces): the lane plan as a pure function, the config key, and under
// Pulumi mocks the dependency graph the engine gets - simulated with random transfer times, never more than N source
// Jobs run at once and every one finishes.
import * as assert from "assert";
import { Plan } from "../../config/plan";
import { ConfigError } from "../../config/errors";
import { validateStackConfig } from "../../config/stack";
import { namespaceWeight, transferTurns } from "../../components/budget";
import { declaredOpts, installMocks, makePlan, ofType, promiseOf, reset, settle } from "../support/mocks";

installMocks();
const { MigrationWave } = require("../../components/wave") as typeof import("../../components/wave");

const ns = (name: string, ...capacities: string[]) => ({
    source: name, target: name, pvcs: capacities.map((c, i) => ({ source: `d${i}`, target: `d${i}`, capacity: c, accessModes: ["ReadWriteOnce"], verify: false })),
});

function wave(count: number, capacity = (i: number) => `${1 + (i % 3)}Gi`) {
    return { name: "budget", namespaces: Array.from({ length: count }, (_, i) => ({ name: `app-${i}`, pvcs: [{ name: "data", capacity: capacity(i) }] })) };
}

async function build(plan: Plan) {
    reset();
    const w = new MigrationWave("wave", { plan, sourceKubeconfig: "apiVersion: v1\nkind: Config\n", destinationKubeconfig: "apiVersion: v1\nkind: Config\n" });
    const migration = await promiseOf(w.migration);
    await settle();
    return migration;
}

/** namespace -> the namespaces whose progress resource its source Job depends on */
function jobWaits(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const j of ofType("kubernetes:batch/v1:Job")) {
        const opts = [...declaredOpts.entries()].find(([name, o]) => name === j.name && o.type === "kubernetes:batch/v1:Job")![1];
        const waits = opts.dependencies.filter((u) => u.includes("dynamic/progress:TransferProgress")).map((u) => u.split("::").pop()!.replace(/-progress$/, ""));
        out.set(j.inputs.metadata.namespace, waits);
    }
    return out;
}

/** Runs the graph as the engine would: a Job starts when the transfers it waits for are done; returns the most
 * Jobs running at once and the order they finished in. */
function simulate(waits: Map<string, string[]>, seed: number): { peak: number; finished: string[] } {
    let s = seed;
    const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const done = new Set<string>();
    const running = new Map<string, number>();
    const finished: string[] = [];
    let now = 0;
    let peak = 0;
    while (done.size < waits.size) {
        for (const [n, w] of waits) {
            if (!done.has(n) && !running.has(n) && w.every((x) => done.has(x))) running.set(n, now + 1 + rand() * 20);
        }
        peak = Math.max(peak, running.size);
        if (running.size === 0) throw new Error(`deadlock: ${[...waits.keys()].filter((n) => !done.has(n)).join(", ")} can never start`);
        const [next, end] = [...running.entries()].sort((a, b) => a[1] - b[1])[0];
        now = end;
        running.delete(next);
        done.add(next);
        finished.push(next);
    }
    return { peak, finished };
}

describe("budget: dvm:maxConcurrentNamespaces", function () {
    this.timeout(60000);

    it("no limit (0, or at least the number of namespaces): every namespace starts at once", () => {
        const nss = [ns("a", "1Gi"), ns("b", "1Gi"), ns("c", "1Gi")];
        assert.deepStrictEqual(transferTurns(nss, 0), [undefined, undefined, undefined]);
        assert.deepStrictEqual(transferTurns(nss, 3), [undefined, undefined, undefined]);
        assert.deepStrictEqual(transferTurns(nss, 7), [undefined, undefined, undefined]);
    });

    it("the first N start in the wave file's order; each later one joins the lane with the least capacity so far", () => {
        // lanes after the first two: a=10Gi, b=1Gi; c goes behind b (lane b: 2Gi), d behind c (3Gi), e behind d
        const nss = [ns("a", "10Gi"), ns("b", "1Gi"), ns("c", "1Gi"), ns("d", "512Mi", "512Mi"), ns("e", "1Gi")];
        assert.deepStrictEqual(transferTurns(nss, 2), [undefined, undefined, 1, 2, 3]);
        // equal sizes: round robin
        assert.deepStrictEqual(transferTurns([ns("a", "1Gi"), ns("b", "1Gi"), ns("c", "1Gi"), ns("d", "1Gi"), ns("e", "1Gi")], 2), [undefined, undefined, 0, 1, 2]);
        assert.deepStrictEqual(transferTurns([ns("a", "1Gi"), ns("b", "1Gi"), ns("c", "1Gi")], 1), [undefined, 0, 1]);
        assert.strictEqual(namespaceWeight(ns("a", "1Gi", "1Ki")), 2 ** 30 + 1024);
    });

    it("a namespace that only moves images (no PVCs, no source Job) takes no place in a lane and waits for nothing", () => {
        assert.deepStrictEqual(transferTurns([ns("a", "1Gi"), ns("img"), ns("b", "1Gi"), ns("c", "1Gi")], 1), [undefined, undefined, 0, 2]);
        // two transfers within a budget of two: no lanes at all
        assert.deepStrictEqual(transferTurns([ns("img"), ns("a", "1Gi"), ns("b", "1Gi")], 2), [undefined, undefined, undefined]);
    });

    it("config: defaults to 0 (no limit); a negative or fractional value is an error naming the key with an example", () => {
        const base = { source: { context: "s" }, destination: { context: "d", endpoint: { type: "clusterIP" } }, wave: "w.yaml" };
        assert.strictEqual(validateStackConfig(base).maxConcurrentNamespaces, 0);
        assert.strictEqual(validateStackConfig({ ...base, maxConcurrentNamespaces: "4" }).maxConcurrentNamespaces, 4);
        for (const bad of [-1, 2.5, "many"]) {
            assert.throws(() => validateStackConfig({ ...base, maxConcurrentNamespaces: bad }), (e: unknown) => {
                assert.ok(e instanceof ConfigError);
                assert.match(e.message, /dvm:maxConcurrentNamespaces: must be a whole number from 0 to 100000/);
                assert.match(e.message, /pulumi config set dvm:maxConcurrentNamespaces 10/);
                return true;
            });
        }
    });

    it("under mocks, no limit: no source Job waits for another namespace", async () => {
        await build(makePlan({}, wave(6)));
        const waits = jobWaits();
        assert.strictEqual(waits.size, 6);
        for (const [n, w] of waits) assert.deepStrictEqual(w, [], `${n} waits for nobody`);
        assert.strictEqual(simulate(waits, 1).peak, 6);
    });

    for (const n of [1, 2, 3]) {
        it(`under mocks, N=${n} of 8 namespaces: each source Job waits for the transfer of its lane's previous namespace; simulated, never more than ${n} run at once and all finish`, async () => {
            const migration = await build(makePlan({ maxConcurrentNamespaces: n }, wave(8)));
            assert.strictEqual(Object.keys(migration.namespaces).length, 8, "every namespace is in the output");
            const waits = jobWaits();
            assert.strictEqual(waits.size, 8);
            const starters = [...waits.values()].filter((w) => w.length === 0).length;
            assert.strictEqual(starters, n, `${n} namespaces start at once`);
            for (const [name, w] of waits) assert.ok(w.length <= 1, `${name} waits for at most one namespace: ${w.join(", ")}`);
            const expected = transferTurns(makePlan({ maxConcurrentNamespaces: n }, wave(8)).namespaces, n);
            expected.forEach((t, i) => assert.deepStrictEqual(waits.get(`app-${i}`), t === undefined ? [] : [`app-${t}`]));
            for (let seed = 1; seed <= 20; seed++) {
                const r = simulate(waits, seed);
                assert.strictEqual(r.peak, n, `seed ${seed}: at most (and with 8 namespaces, exactly) ${n} at once`);
                assert.strictEqual(r.finished.length, 8);
            }
            // the destination side never waits: every namespace's destination pod is declared without a turn
            for (const d of ofType("kubernetes:apps/v1:Deployment")) {
                const o = declaredOpts.get(d.name)!;
                assert.ok(!o.dependencies.some((u) => u.includes("TransferProgress")), `${d.name} does not wait for a transfer`);
            }
        });
    }
});
