// Self-tests of the benchmark's arithmetic and bookkeeping (in make unit, and first in hack/bench.sh): a wrong median,
// ratio or target would publish wrong numbers in docs/benchmarks.md.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RunSample } from "./dataplane";
import type { E2EMeasured } from "./e2e";
import { CutoverSample, cutoverStats, E2ESample, enginePoints, PassPoints, podTimeline } from "./e2e-timeline";
import {
    BENCH_DOC, BENCH_DOC_BEGIN, BENCH_DOC_END, cutoverMarkdown, e2eMarkdown, markdown, median, streamProjection, summarize, summarizeCutover, summarizeE2E, updateBenchDoc,
} from "./report";
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
    const link = (config: string, rep: number, mbps: number, cpuTotal: number): RunSample => ({
        dataset: "link", config, rep, pass: "full", seconds: 10, bytes: mbps * 1e6 * 10, files: 0, cpu: { total: cpuTotal }, loadavg: "0 0 0",
    });
    const runs = [
        ...[1, 2, 3].map((rep) => link("iperf", rep, 2000, 10)),
        ...[1, 2, 3].map((rep) => link("iperf-stunnel", rep, 500, 40)),
        ...[1, 2, 3].map((rep) => run("pipe", "large", rep, [4, 5, 100][rep - 1], "full", 2)),
        ...[1, 2, 3].map((rep) => run("read", "large", rep, 1, "full", 0.5)),
        ...[1, 2, 3].map((rep) => run("generated", "large", rep, 5, "full", 3)),
        ...[1, 2, 3].map((rep) => run("mtc", "large", rep, 10)),
        ...[1, 2, 3].map((rep) => run("pipe", "small", rep, 1)),
        ...[1, 2, 3].map((rep) => run("generated", "small", rep, 2)),
        ...[1, 2, 3].map((rep) => run("mtc", "small", rep, 4)),
        ...[1, 2, 3].map((rep) => run("generated", "small", rep, 0.1 * rep, "incremental")),
        ...[1, 2, 3].map((rep) => run("generated", "small", rep, 0.05, "unchanged")),
        ...[1, 2, 3].map((rep) => run("generated", "mix", rep, 20)),
        ...[1, 2, 3].map((rep) => run("generated", "mix", rep, 1 + rep, "incremental")),
        ...[1, 2, 3].map((rep) => run("split-3", "small", rep, 3)),
        ...[1, 2, 3].map((rep) => run("parallel-3", "small", rep, 1.5)),
    ];
    const s = summarize(results(runs));
    const row = (ds: string, c: string) => s.rows.find((r) => r.dataset === ds && r.config === c)!;

    it("throughput and ratios come from the medians (one outlier does not move them)", () => {
        assert.equal(row("large", "pipe").seconds, 5);
        assert.equal(row("large", "generated").mbps, 2e9 / 1e6 / 5);
        assert.equal(row("large", "generated").vs.pipe, 1);
        assert.equal(row("large", "generated").vs.read, 0.2);
        assert.equal(row("large", "generated").vsMtc, 2);
        assert.equal(row("small", "generated").vs.pipe, 0.5);
        assert.equal(row("small", "generated").filesPerSecond, 500);
        assert.equal(row("large", "generated").cpuPerGB, 1.5);
        assert.equal(row("large", "generated").cpuVs.pipe, 1.5);
        assert.equal(row("large", "generated").stunnelCpuPerGB, 0.375);
    });

    it("the link's limits (iperf3, bare and through stunnel) are set against every data set's MB/s and CPU per GB", () => {
        assert.equal(row("link", "iperf").mbps, 2000);
        assert.equal(row("link", "iperf-stunnel").vs.iperf, 0.25, "stunnel's share of the link");
        assert.equal(row("link", "iperf").vs.pipe, undefined, "the link is not compared with a data set's pipe");
        assert.equal(row("large", "generated").vs["iperf-stunnel"], 400 / 500);
        assert.equal(row("large", "generated").vs.iperf, 400 / 2000);
        assert.equal(row("large", "generated").cpuVs["iperf-stunnel"], 1.5 / 8);
        assert.equal(row("large", "pipe").vs.pipe, undefined, "a limit is not compared with itself");
    });

    it("incremental fraction pairs each pass with the full pass of the same repetition, per data set", () => {
        const g = s.incremental.find((x) => x.config === "generated" && x.dataset === "small")!;
        assert.equal(g.fraction, 0.1); // 0.1/2, 0.2/2, 0.3/2 -> median 0.1
        assert.equal(g.unchangedFraction, 0.025);
        assert.equal(s.incremental.find((x) => x.config === "generated" && x.dataset === "mix")!.fraction, 0.15);
    });

    it("targets: met, missed, and not measured (with the reason where one is known)", () => {
        const t = (name: string) => s.targets.find((x) => x.target.startsWith(name))!;
        assert.equal(t("large files: dvm / iperf3 through").met, false); // 0.80
        assert.equal(t("large files: dvm / iperf3 through").shown, "0.80");
        assert.equal(t("small files: dvm / the `tar").met, false);
        assert.equal(t("small files: dvm vs MTC").met, true);
        assert.equal(t("large files: dvm's CPU").met, false); // 1.5x
        assert.equal(t("incremental pass on the mix").met, false); // 0.15
        assert.equal(t("3 PVCs in parallel").met, true);
        assert.equal(t("3 PVCs in parallel").shown, "2.00x");
        assert.equal(t("waiting loops").met, null);
        assert.equal(t("waiting loops").shown, "not measured");
        assert.equal(t("first byte").shown, "not measured: none");
        assert.equal(t("cutover window").met, null);
        assert.equal(t("cutover window").shown, "not measured: none");
    });

    it("the report marks runs under 10 s and lists dvm against every limit", () => {
        const r = { ...results(runs), datasets: { large: { files: 8, bytes: 2e9 }, small: { files: 1000, bytes: 1e8 }, mix: { files: 1000, bytes: 1e8 } } };
        const md = markdown(r, s);
        assert.match(md, /\| large \| \*\*dvm generated\*\* \| 5\.00 † \(5\.00-5\.00\)/);
        assert.match(md, /\| mix \| \*\*dvm generated\*\* \| 20\.00 \(/, "a 20 s run is not marked");
        assert.match(md, /† median under 10 s/);
        assert.match(md, /\| large \| 0\.20 \/ 3\.00x \| 0\.80 \/ 0\.19x \| 1\.00 \/ 1\.50x \| 0\.20 \/ 6\.00x \|/);
    });
});

describe("bench: streams projection", () => {
    it("one stream's floor is its busiest process; k streams on c cores: the final pass plus their CPU over c", () => {
        const cpu = (total: number, parts: Record<string, number> = {}) => ({ total, ...parts });
        const runs: RunSample[] = [1, 2, 3].flatMap((rep) => [
            { ...run("generated", "small", rep, 4), cpu: cpu(6, { rsyncClient: 2, stunnelClient: 1, stunnelServer: 1, rsyncd: 2 }) },
            { ...run("generated", "small", rep, 1, "unchanged"), cpu: cpu(1) },
            { ...run("streams-3", "small", rep, 5), cpu: cpu(9) },
        ]);
        const [p] = streamProjection(results(runs), [2, 8]);
        assert.equal(p.streams, 3);
        assert.equal(p.singleStream.floorSeconds, 2);
        assert.equal(p.cpuPerStream, 8 / 3);
        assert.deepEqual(p.projected, [{ cores: 2, seconds: 1 + 8 / 2 }, { cores: 8, seconds: 1 + 8 / 8 }]);
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

    const transfer = (namespace: string, pvc: string, seconds: number, start = 0) => ({ namespace, pvc, seconds, attempts: 1, start, end: start + seconds * 1000, result: "ok" });
    const sample = (namespaces: number, rep: number, upSeconds: number, transfers: E2ESample["transfers"]): E2ESample => ({
        namespaces, pvcs: transfers.length, rep, bytes: transfers.length * 100 * 2 ** 20, files: transfers.length * 10, upSeconds, destroySeconds: 3,
        transfers, verified: { files: transfers.length * 10, bytes: transfers.length * 100 * 2 ** 20 }, transferredBytes: 0, loadavg: "1 1 1",
        milestones: {
            engineStarted: 3, firstObject: 6, destinationReady: 8, destinationDone: 16, sourceJob: 16, sourceStarted: 17.5, tunnelUp: 17.75,
            firstByte: 18, lastByte: upSeconds - 5, jobComplete: upSeconds - 3, progressDone: upSeconds - 0.5,
        },
    });
    const samples = [
        sample(1, 1, 30, [transfer("a", "v1", 1), transfer("a", "v2", 2, 1000)]),
        sample(1, 2, 40, [transfer("a", "v1", 3), transfer("a", "v2", 2, 3000)]),
        sample(4, 1, 50, [transfer("a", "v1", 4), transfer("a", "v2", 1, 4000), transfer("b", "v1", 2), transfer("c", "v1", 3), transfer("d", "v1", 6)]),
    ];

    it("overhead against the sum of the transfers and against the longest namespace (first pvc-start to last pvc-end)", () => {
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
        // PVCs of a namespace at the same time: the span, not the sum
        const [par] = summarizeE2E([sample(1, 1, 30, [transfer("a", "v1", 3), transfer("a", "v2", 2, 500)])]);
        assert.equal(par.sumSeconds, 5);
        assert.equal(par.longestSeconds, 3);
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
            measured: true, params: { parts: ["waves"], cutoverReps: 2, namespaces: [1, 4], pvcsPerNamespace: 2, largeMiB: 64, smallFiles: 2000, smallKiB: 4, reps: 2, experiments: [] }, samples,
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

describe("bench: cutover window", () => {
    it("engine events: the first SourceQuiesce step that does something starts the quiesce, the last one done ends it", () => {
        const ev = (ts: number, e: object) => JSON.stringify({ sequence: 1, timestamp: ts, ...e });
        const q = "pulumi-nodejs:dynamic/quiesce:SourceQuiesce";
        const out = [
            ev(100, { preludeEvent: { config: {} } }),
            ev(101, { resourcePreEvent: { metadata: { op: "same", type: q } } }),
            ev(102, { resourcePreEvent: { metadata: { op: "create", type: "pulumi-nodejs:dynamic/progress:TransferProgress" } } }),
            ev(104, { resourcePreEvent: { metadata: { op: "create", type: q } } }),
            ev(105, { resourcePreEvent: { metadata: { op: "update", type: q } } }),
            ev(107, { resOutputsEvent: { metadata: { op: "create", type: q } } }),
            ev(109, { resOutputsEvent: { metadata: { op: "update", type: q } } }),
        ].join("\n");
        assert.deepEqual(enginePoints(out), { prelude: 100000, quiesceStart: 104000, quiesceDone: 109000 });
    });

    const pass = (n: number, upSeconds: number, points: PassPoints) => ({ pass: n, upSeconds, transfers: [], points });
    const sample = (rep: number, incr: [number, number], q: number, last: number, up: number): CutoverSample => ({
        rep, pvcs: 2, changedFiles: 42, bytes: 2 * 72 * 2 ** 20, files: 4002, rollbackSeconds: 9, loadavg: "1 1 1",
        incremental: pass(2 * rep, 20, { firstByte: incr[0], lastByte: incr[1] }),
        cutover: pass(2 * rep + 1, up, { quiesceStart: q, quiesceDone: q + 3, sourceJob: q + 4, sourceStarted: q + 5, tunnelUp: q + 5.5, firstByte: q + 6, lastByte: last }),
    });
    const samples = [sample(1, [10, 12], 4, 13, 16), sample(2, [10, 11.5], 3, 18, 20), sample(3, [10, 13], 5, 16, 18)];

    it("a repetition: the window from the quiesce's start to the final pass's last pvc-end and to the exit; its steps add up", () => {
        const s = cutoverStats(samples[0]);
        assert.equal(s.incrementalSeconds, 2);
        assert.equal(s.windowSeconds, 9);
        assert.equal(s.windowToExitSeconds, 12);
        assert.equal(s.excessSeconds, 7);
        assert.equal(s.quiesceSeconds, 3);
        assert.equal(s.finalPassSeconds, 3);
        assert.deepEqual(Object.values(s.steps), [3, 1, 1, 0.5, 0.5, 3, 3]);
        assert.equal(Object.values(s.steps).reduce((n, x) => n + x, 0), s.windowToExitSeconds);
        const noQuiesce = { ...samples[0], cutover: { ...samples[0].cutover, points: { firstByte: 10, lastByte: 13 } } };
        assert.ok(Number.isNaN(cutoverStats(noQuiesce).windowSeconds), "no quiesce event: no window, never one from 0");
    });

    const measured = (cut: CutoverSample[] | undefined, parts: Array<"waves" | "cutover"> = ["cutover"]): Results => ({
        ...results([]),
        e2e: {
            measured: true, params: { parts, cutoverReps: 3, namespaces: [1], pvcsPerNamespace: 2, largeMiB: 64, smallFiles: 2000, smallKiB: 4, reps: 2, experiments: [] },
            samples: [], clustersUpSeconds: 0, broughtUp: false, seedSeconds: 1, startedAt: "t", seconds: 60, command: "pulumi up",
            ...(cut ? { cutover: { samples: cut, fullPassUpSeconds: 30, startedAt: "t0", seconds: 240 } } : {}),
        },
    });
    const target = (r: Results) => summarize(r).targets.find((x) => x.target.startsWith("cutover window"))!;

    it("medians, and the target: the median window against the median incremental pass + 10 s", () => {
        const c = summarizeCutover(samples)!;
        assert.equal(c.windowSeconds, 11); // 9, 15, 11
        assert.equal(c.incrementalSeconds, 2); // 2, 1.5, 3
        assert.equal(c.excessSeconds, 9);
        assert.equal(c.windowToExitSeconds, 13); // 12, 17, 13
        assert.equal(summarizeCutover([]), undefined);
        assert.deepEqual([target(measured(samples)).met, target(measured(samples)).shown], [true, "11.0 s = incremental 2.0 s + 9.0 s"]);
        // 15 s against 1.5 s: 13.5 s over
        assert.deepEqual([target(measured([samples[1]])).met, target(measured([samples[1]])).value], [false, 13.5]);
        assert.equal(target(measured(undefined, ["waves"])).shown, "not measured: not selected (DVM_BENCH_E2E_PARTS=waves)");
        assert.equal(target(measured(undefined, ["waves"])).met, null);
    });

    it("renders one row per repetition and the medians, the steps of the window; says why when the part is missing", () => {
        const e = measured(samples).e2e as E2EMeasured;
        const md = cutoverMarkdown(e).join("\n");
        assert.match(md, /^\| 1 \| 2\.00 \(20\.0\) \| 3\.0 \| 3\.00 \| \*\*9\.0\*\* \| 12\.0 \| 7\.0 \| 16\.0 \| 9\.0 \|$/m);
        assert.match(md, /^\| median \| 2\.00 \(20\.0\) \| 3\.0 \| 5\.00 \| \*\*11\.0\*\* \| 13\.0 \| 9\.0 \| 18\.0 \| 9\.0 \|$/m);
        assert.match(md, /42: 64 bytes appended/);
        assert.match(md, /quiesce \(workloads patched, their pods gone\) 3\.0; .*final pass \(to the last pvc-end\) 5\.0; `pulumi up` exit 2\.0\./);
        assert.match(e2eMarkdown(e).join("\n"), /^End-to-end wave time: not selected \(DVM_BENCH_E2E_PARTS=cutover\)\.$/m);
        assert.deepEqual(cutoverMarkdown(measured(undefined, ["waves"]).e2e as E2EMeasured), ["Cutover window: not selected (DVM_BENCH_E2E_PARTS=waves)."]);
        const old = measured(undefined).e2e as E2EMeasured;
        delete (old.params as Partial<E2EMeasured["params"]>).parts;
        assert.deepEqual(cutoverMarkdown(old), ["Cutover window: the run was made before the step had this part."]);
    });
});
