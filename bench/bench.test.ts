// Self-tests of the benchmark's arithmetic and bookkeeping (run first by scripts/bench.sh, in seconds): a wrong median,
// ratio or target would publish wrong numbers in the README.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RunSample } from "./dataplane";
import { median, summarize, updateReadme } from "./report";
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

describe("bench: README block", () => {
    it("replaces only the text between the markers", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-bench-test-"));
        const f = path.join(dir, "README.md");
        const begin = "<!-- bench:results:begin (written by `DVM_BENCH_README=1 make bench`) -->";
        fs.writeFileSync(f, `# x\n<!-- section: bench -->\nintro\n${begin}\nold table\n<!-- bench:results:end -->\nafter\n<!-- section: security -->\nkeep\n`);
        updateReadme(f, "| new | table |");
        const t = fs.readFileSync(f, "utf8");
        assert.ok(t.includes(`intro\n${begin}\n| new | table |`));
        assert.ok(!t.includes("old table"));
        assert.ok(t.endsWith("<!-- bench:results:end -->\nafter\n<!-- section: security -->\nkeep\n"));
        fs.writeFileSync(f, "no markers\n");
        assert.throws(() => updateReadme(f, "x"), /no ".*bench:results:begin.*" block/);
        fs.rmSync(dir, { recursive: true, force: true });
    });
});
