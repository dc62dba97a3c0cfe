// Self-tests of the benchmark's arithmetic and bookkeeping (in make unit, and first in hack/bench.sh): a wrong median,
// ratio or target would publish wrong numbers in docs/benchmarks.md.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RunSample } from "./dataplane";
import type { E2EMeasured } from "./e2e";
import { E2ESample, enginePoints, podTimeline } from "./e2e-timeline";
import { BENCH_DOC, BENCH_DOC_BEGIN, BENCH_DOC_END, e2eMarkdown, markdown, median, summarize, summarizeE2E, updateBenchDoc } from "./report";
import type { Results } from "./run";
import { growthExponent, scaleWave } from "./scale";

function run(config: string, dataset: string, rep: number, seconds: number, pass: RunSample["pass"] = "full", cpuTotal = 1): RunSample {
    return {
        dataset, config, rep, pass, seconds, bytes: dataset === "large" ? 2e9 : 1e8, files: dataset === "large" ? 8 : 1000,
        cpu: { total: cpuTotal, stunnelServer: 0.5, stunnelClient: 0.25, sidecarLoop: 0.01 }, loadavg: "0 0 0",
    };
}

function results(runs: RunSample[]): Results {
    return {
        machine: {
            host: "h", cpu: "c", cores: 2, aes: true, memoryGiB: 1, kernel: "k", node: "v20", rsync: "rsync", stunnel: "stunnel", openssl: "openssl",
            commit: "x", loadavgStart: "0 0 0", loadavgEnd: "0 0 0", startedAt: "t", seconds: 1,
        },
        params: { reps: 3, smallKiB: 4, scaleReps: 1, scaleExperimentReps: 1 } as Results["params"],
        variants: [], runs, scale: [], scaleExponent: { time: NaN, memory: NaN }, e2e: { measured: false, reason: "none" },
    };
}

describe("bench: arithmetic", () => {
    it("median of odd and even counts, ignoring non-numbers", () => {
        assert.equal(median([3, 1, 2]), 2);
        assert.equal(median([4, 1, 3, 2]), 2.5);
        assert.equal(median([5, NaN, 1, 3]), 3);
        assert.ok(Number.isNaN(median([])));
    });

    it("growth exponent recovers a power law", () => {
        assert.ok(Math.abs(growthExponent([[10, 2 * 10 ** 1.5], [100, 2 * 100 ** 1.5], [1000, 2 * 1000 ** 1.5]]) - 1.5) < 1e-9);
        assert.ok(Math.abs(growthExponent([[10, 7], [1000, 7]])) < 1e-9, "constant -> 0");
    });

    it("scale waves: 10 PVCs per namespace, the remainder in the last", () => {
        const w = scaleWave(25) as { namespaces: { name: string; pvcs: unknown[] }[] };
        assert.deepEqual(w.namespaces.map((n) => n.pvcs.length), [10, 10, 5]);
        assert.equal(new Set(w.namespaces.map((n) => n.name)).size, 3);
    });
});

describe("bench: summary", () => {
    const runs = [
        ...[1, 2, 3].map((rep) => run("raw", "large", rep, [4, 5, 100][rep - 1], "full", 2)),
        ...[1, 2, 3].map((rep) => run("generated", "large", rep, 5, "full", 3)),
        ...[1, 2, 3].map((rep) => run("mtc", "large", rep, 10)),
        ...[1, 2, 3].map((rep) => run("raw", "small", rep, 1)),
        ...[1, 2, 3].map((rep) => run("generated", "small", rep, 2)),
        ...[1, 2, 3].map((rep) => run("mtc", "small", rep, 4)),
        ...[1, 2, 3].map((rep) => run("generated", "small", rep, 0.1 * rep, "incremental")),
        ...[1, 2, 3].map((rep) => run("generated", "small", rep, 0.05, "unchanged")),
    ];
    const s = summarize(results(runs));
    const row = (ds: string, c: string) => s.rows.find((r) => r.dataset === ds && r.config === c)!;

    it("throughput and ratios come from the medians (one outlier does not move them)", () => {
        assert.equal(row("large", "raw").seconds, 5);
        assert.equal(row("large", "generated").mbps, 2e9 / 1e6 / 5);
        assert.equal(row("large", "generated").vsRaw, 1);
        assert.equal(row("large", "generated").vsMtc, 2);
        assert.equal(row("small", "generated").vsRaw, 0.5);
        assert.equal(row("small", "generated").filesPerSecond, 500);
        assert.equal(row("large", "generated").cpuPerGB, 1.5);
        assert.equal(row("large", "generated").cpuVsRaw, 1.5);
        assert.equal(row("large", "generated").stunnelCpuPerGB, 0.375);
    });

    it("incremental fraction pairs each pass with the full pass of the same repetition", () => {
        const g = s.incremental.find((x) => x.config === "generated")!;
        assert.equal(g.fraction, 0.1); // 0.1/2, 0.2/2, 0.3/2 -> median 0.1
        assert.equal(g.unchangedFraction, 0.025);
    });

    it("targets: met, missed, and not measured", () => {
        const t = (name: string) => s.targets.find((x) => x.target.startsWith(name))!;
        assert.equal(t("generated/raw, large").met, true);
        assert.equal(t("generated/raw, small").met, false);
        assert.equal(t("generated vs MTC default, small").met, true);
        assert.equal(t("incremental").met, true);
        assert.equal(t("waiting loops").met, null);
        assert.equal(t("waiting loops").shown, "not measured");
    });
});

describe("bench: docs/benchmarks.md block", () => {
    it("replaces only the text between the markers, with the chart linked from the page's directory", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-bench-test-"));
        try {
            fs.mkdirSync(path.join(dir, "docs"));
            const f = path.join(dir, "docs", "benchmarks.md");
            fs.writeFileSync(f, `# x\nintro\n${BENCH_DOC_BEGIN}\nold table\n${BENCH_DOC_END}\nafter\n## What the numbers say\nkeep\n`);
            updateBenchDoc(f, "| new | table |", path.join(dir, "bench", "throughput.png"));
            const t = fs.readFileSync(f, "utf8");
            assert.ok(t.startsWith(`# x\nintro\n${BENCH_DOC_BEGIN}\n| new | table |\n`), t);
            assert.ok(t.includes("\n![throughput per configuration](../bench/throughput.png)\n"), t);
            assert.ok(!t.includes("old table"));
            assert.ok(t.endsWith(`${BENCH_DOC_END}\nafter\n## What the numbers say\nkeep\n`), t);
            fs.writeFileSync(f, "no markers\n");
            assert.throws(() => updateBenchDoc(f, "x", path.join(dir, "throughput.png")), /no ".*BEGIN GENERATED: bench-results.*" block/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the page make bench writes is docs/benchmarks.md, has the block and links a chart that exists; the README has none", () => {
        const root = path.join(__dirname, "..");
        assert.equal(path.relative(root, BENCH_DOC), path.join("docs", "benchmarks.md"));
        const t = fs.readFileSync(BENCH_DOC, "utf8");
        const i = t.indexOf(BENCH_DOC_BEGIN);
        const j = t.indexOf(BENCH_DOC_END);
        assert.ok(i >= 0 && j > i, `${BENCH_DOC}: the generated block's marker lines are missing, so make bench would fail after the run`);
        const chart = /!\[throughput per configuration\]\(([^)]+)\)/.exec(t.slice(i, j))?.[1];
        assert.ok(chart && fs.existsSync(path.join(path.dirname(BENCH_DOC), chart)), `chart link ${chart} does not resolve`);
        assert.ok(!fs.readFileSync(path.join(root, "README.md"), "utf8").includes("GENERATED: bench-results"));
    });
});

describe("bench: end-to-end step", () => {
    // the rsync container's log as `kubectl logs --timestamps` shows it (contract/PROTOCOL.md): vol-2 fails
    // once and is retried; rsync's \r progress runs precede the script's next line on the same log line
    const log = [
        "2026-11-21T08:00:10.000000000Z dvm: tunnel-wait port=2222 timeout=600",
        "2026-11-21T08:00:10.250000000Z dvm: tunnel-up after=0",
        "2026-11-21T08:00:10.500000000Z dvm: pvc-start pvc=vol-1 target=vol-1 attempt=1 max=21",
        "2026-11-21T08:00:11.000000000Z      32.77K   0%    0.00kB/s    0:00:00 (xfr#1, to-chk=9/10)\r     67.11M 100%  100.00MB/s    0:00:01 (xfr#10, to-chk=0/10)",
        "2026-11-21T08:00:12.000000000Z total size is 67,108,864  speedup is 1.00",
        "2026-11-21T08:00:12.750000000Z dvm: pvc-end pvc=vol-1 attempt=1 exit=0 result=ok",
        "2026-11-21T08:00:12.800000000Z dvm: pvc-start pvc=vol-2 target=vol-2 attempt=1 max=21",
        "2026-11-21T08:00:13.800000000Z rsync: connection unexpectedly closed (0 bytes received so far) [sender]",
        "2026-11-21T08:00:13.800000000Z    1.00M  50%  1.00MB/s  0:00:01\rdvm: pvc-end pvc=vol-2 attempt=1 exit=12 result=retry retry-in=5",
        "2026-11-21T08:00:18.800000000Z dvm: pvc-start pvc=vol-2 target=vol-2 attempt=2 max=21",
        "2026-11-21T08:00:20.300000000Z dvm: pvc-end pvc=vol-2 attempt=2 exit=0 result=ok",
        "2026-11-21T08:00:20.310000000Z dvm: done exit=0",
    ].join("\n");

    it("transfers: pvc-start to pvc-end per attempt, retries summed without their wait; tunnel times", () => {
        const t = podTimeline("ns-a", log);
        assert.equal(t.tunnelWait, Date.parse("2026-11-21T08:00:10Z"));
        assert.equal(t.tunnelUp, Date.parse("2026-11-21T08:00:10.250Z"));
        assert.deepEqual(t.transfers.map((x) => [x.namespace, x.pvc, x.attempts, x.result]), [["ns-a", "vol-1", 1, "ok"], ["ns-a", "vol-2", 2, "ok"]]);
        assert.ok(Math.abs(t.transfers[0].seconds - 2.25) < 1e-9);
        assert.ok(Math.abs(t.transfers[1].seconds - (1.0 + 1.5)) < 1e-9, String(t.transfers[1].seconds));
        assert.equal(t.transfers[1].start, Date.parse("2026-11-21T08:00:12.800Z"));
        assert.equal(t.transfers[1].end, Date.parse("2026-11-21T08:00:20.300Z"));
    });

    it("a transfer cut off (pvc-start without pvc-end) is an error, not a short transfer", () => {
        assert.throws(() => podTimeline("ns-b", log.split("\n").slice(0, 5).join("\n")), /ns-b: .*pvc-start without a pvc-end for vol-1/);
    });

    it("engine events: prelude, first destination side done, last progress resource done", () => {
        const ev = (ts: number, e: object) => JSON.stringify({ sequence: 1, timestamp: ts, ...e });
        const out = [
            "not json", ev(100, { preludeEvent: { config: {} } }),
            ev(108, { resOutputsEvent: { metadata: { type: "dvm:destination:DestinationTransfer" } } }),
            ev(107, { resOutputsEvent: { metadata: { type: "dvm:destination:DestinationTransfer" } } }),
            ev(120, { resOutputsEvent: { metadata: { type: "pulumi-nodejs:dynamic/progress:TransferProgress" } } }),
            ev(125, { resOutputsEvent: { metadata: { type: "pulumi-nodejs:dynamic/progress:TransferProgress" } } }),
            ev(126, { resOutputsEvent: { metadata: { type: "dvm:index:MigrationWave" } } }),
        ].join("\n");
        assert.deepEqual(enginePoints(out), { prelude: 100000, destinationDone: 107000, progressDone: 125000 });
    });

    const transfer = (namespace: string, pvc: string, seconds: number) => ({ namespace, pvc, seconds, attempts: 1, start: 0, end: 0, result: "ok" });
    const sample = (namespaces: number, rep: number, upSeconds: number, transfers: E2ESample["transfers"]): E2ESample => ({
        namespaces, pvcs: transfers.length, rep, bytes: transfers.length * 100 * 2 ** 20, files: transfers.length * 10, upSeconds, destroySeconds: 3,
        transfers, verified: { files: transfers.length * 10, bytes: transfers.length * 100 * 2 ** 20 }, transferredBytes: 0, loadavg: "1 1 1",
        milestones: {
            engineStarted: 3, firstObject: 6, destinationReady: 8, destinationDone: 16, sourceJob: 16, sourceStarted: 17.5, tunnelUp: 17.75,
            firstByte: 18, lastByte: upSeconds - 5, jobComplete: upSeconds - 3, progressDone: upSeconds - 0.5,
        },
    });
    const samples = [
        sample(1, 1, 30, [transfer("a", "v1", 1), transfer("a", "v2", 2)]),
        sample(1, 2, 40, [transfer("a", "v1", 3), transfer("a", "v2", 2)]),
        sample(4, 1, 50, [transfer("a", "v1", 4), transfer("a", "v2", 1), transfer("b", "v1", 2), transfer("c", "v1", 3), transfer("d", "v1", 6)]),
    ];

    it("overhead against the sum of the transfers and against the longest namespace (a namespace's PVCs run one after the other)", () => {
        const [one, four] = summarizeE2E(samples);
        assert.equal(one.namespaces, 1);
        assert.equal(one.reps, 2);
        assert.equal(one.upSeconds, 35);
        assert.equal(one.sumSeconds, 4); // 3 and 5
        assert.equal(one.overheadSeconds, 31); // 27 and 35
        assert.equal(four.sumSeconds, 16);
        assert.equal(four.longestSeconds, 6); // d: 6 > a: 4 + 1
        assert.equal(four.overheadSeconds, 34);
        assert.equal(four.overheadVsLongestSeconds, 44);
        assert.equal(four.ratio, 50 / 16);
    });

    it("time to first byte: each step from the previous point, summing to the first byte; the tail to the exit", () => {
        const [one] = summarizeE2E(samples);
        assert.deepEqual(one.breakdown.map((b) => b.seconds), [3, 3, 2, 8, 0, 1.5, 0.25, 0.25]);
        assert.equal(one.breakdown.reduce((n, b) => n + b.seconds, 0), one.firstByteSeconds);
        assert.deepEqual(one.tail.map((b) => b.seconds), [2, 2.5, 0.5]);
        assert.equal(one.tail.reduce((n, b) => n + b.seconds, 0), one.tailSeconds);
    });

    it("renders the tables of a measured step, why not otherwise, and runs saved before the step existed", () => {
        const e: E2EMeasured = {
            measured: true, params: { namespaces: [1, 4], pvcsPerNamespace: 2, largeMiB: 64, smallFiles: 2000, smallKiB: 4, reps: 2, experiments: [] }, samples,
            clustersUpSeconds: 0, broughtUp: false, seedSeconds: 7, startedAt: "t", seconds: 120, command: "pulumi up --yes",
        };
        const md = e2eMarkdown(e).join("\n");
        assert.match(md, /^\| 1 \| 2 \| 200 \| 35\.0 \(30\.0-40\.0\) \| 4\.00 \| 4\.00 \| 31\.0 \(9\.0x\) \| 31\.0 \| 18\.0 \| 5\.0 \| 3\.0 \|$/m);
        assert.match(md, /^\| 4 \| 5 \| 500 \| 50\.0 /m);
        assert.match(md, /^\| 1 \| 3\.0 \| 3\.0 \| 2\.0 \| 8\.0 \| 0\.0 \| 1\.5 \| 0\.3 \| 0\.3 \| \*\*18\.0\*\* \| 2\.0 \| 2\.5 \| 0\.5 \|$/m);
        assert.equal(e2eMarkdown({ measured: false, reason: "switched off (DVM_BENCH_E2E=0)", how: "make bench-e2e" })[0],
            "End-to-end wave time: not measured in this run - switched off (DVM_BENCH_E2E=0). To measure it: make bench-e2e.");
        const old = results([]);
        delete old.e2e;
        assert.match(markdown(old, summarize(old)), /End-to-end wave time: not measured in this run/);
        const withE2e = { ...results([]), e2e: e };
        assert.match(markdown(withE2e, summarize(withE2e)), /End-to-end waves through `pulumi up --yes`/);
    });
});
