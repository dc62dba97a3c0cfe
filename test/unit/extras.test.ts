// rsync extras (`dvm:rsync.extras`) are an allow-list (config/options.ts EXTRAS): every option that can make a pass
// copy nothing and exit 0, hide the progress dvm parses, or follow links out of a volume is refused with its reason;
// values must come in the same item; the tables drive the generated reference; the daemon refuses the link options.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ConfigError } from "../../config/errors";
import { EXTRA_VALUE_SHAPES, EXTRAS, extrasTable, REFUSED_EXTRAS } from "../../config/options";
import { rsyncExtraError } from "../../config/rules";
import { validateStackConfig } from "../../config/stack";
import { renderRsyncdConf, RSYNCD_REFUSED_OPTIONS } from "../../components/transfer/rsyncd";

const base = (extras: unknown[]) => ({
    source: { context: "src" }, destination: { context: "dst", endpoint: { type: "route", subdomain: "apps.dst.example.com" } },
    wave: "waves/w.yaml", rsync: { extras },
});

/** An example value of each shape, for the accepted rows that take one. */
const SAMPLE: Record<string, string> = {
    count: "3", size: "128K", pattern: "/cache/", chmod: "Dg+s,Fo-w", names: "zstd", idmap: "1000:2000", "relative-dir": ".rsync-partial",
};

describe("rsync extras: an allow-list", () => {
    it("refuses, with a reason, what makes a pass copy nothing and exit 0, hides progress, or follows links", () => {
        const cases: [string, RegExp][] = [
            ["--existing", /skip files and still exit 0/],
            ["--no-r", /--no-recursive.*copies nothing/],
            ["--ignore-non-existing", /skip files and still exit 0/],
            ["--max-size=1", /skip files/],
            ["--info=NONE", /progress.*dvm:rsync\.info/],
            ["-q", /--quiet.*progress/],
            ["-L", /--copy-links.*credentials/],
            ["--copy-links", /credentials/],
            ["--copy-unsafe-links", /credentials/],
            ["-K", /--keep-dirlinks.*outside the volume/],
            ["--keep-dirlinks", /outside the volume/],
            ["-k", /--copy-dirlinks/],
            ["-Tx", /--temp-dir.*outside the destination volume/],
            ["--filter=merge", /source volume itself/],
            ["-avL", /--copy-links/],
            ["--frobnicate", /not on the allow-list/],
        ];
        for (const [option, why] of cases) assert.match(rsyncExtraError(option) ?? "accepted", why, option);
    });

    it("refuses an option given without its value: rsync would swallow dvm's next word (--exclude=/lost+found)", () => {
        for (const option of ["-B", "--exclude", "--exclude=", "--block-size", "--chmod"]) {
            assert.match(rsyncExtraError(option) ?? "accepted", /needs its value in the same item/, option);
        }
        assert.match(rsyncExtraError("-zB") ?? "accepted", /takes a value/);
        // -T is refused for what it is, with or without a value
        assert.match(rsyncExtraError("-T") ?? "accepted", /--temp-dir/);
    });

    it("accepts legitimate negations and values of the right shape, refuses the wrong shape", () => {
        for (const ok of ["--no-D", "--no-devices", "--no-specials", "--no-o", "--no-perms", "--no-whole-file", "-B131072", "--block-size=128K",
            "--exclude=/cache/", "--chmod=Dg+s,Fo-w", "--compress-level=3", "--usermap=1000:2000", "--partial-dir=.rsync-partial", "-aHAXz"]) {
            assert.strictEqual(rsyncExtraError(ok), undefined, ok);
        }
        assert.match(rsyncExtraError("--partial-dir=../../etc") ?? "accepted", /inside the destination volume/);
        assert.match(rsyncExtraError("--partial-dir=/tmp") ?? "accepted", /inside the destination volume/);
        assert.match(rsyncExtraError("--compress-level=max") ?? "accepted", /whole number/);
        assert.match(rsyncExtraError("--compress=9") ?? "accepted", /takes no value/);
        assert.match(rsyncExtraError("--no-H") ?? "accepted", /not on the extras allow-list/);
        assert.match(rsyncExtraError("--no-v") ?? "accepted", /--verbose/);
    });

    it("every accepted row is accepted (with a value of its shape) and every refused row is refused with its own reason", () => {
        for (const r of EXTRAS) {
            const value = r.value ? `=${SAMPLE[r.value]}` : "";
            assert.ok(!r.value || EXTRA_VALUE_SHAPES[r.value].re.test(SAMPLE[r.value]), `sample of ${r.value}`);
            if (r.long.length > 1) assert.strictEqual(rsyncExtraError(`--${r.long}${value}`), undefined, `--${r.long}`);
            if (r.short) assert.strictEqual(rsyncExtraError(`-${r.short}${r.value ? SAMPLE[r.value] : ""}`), undefined, `-${r.short}`);
            if (r.negatable) assert.strictEqual(rsyncExtraError(`--no-${r.short ?? r.long}`), undefined, `--no-${r.short ?? r.long}`);
            assert.ok(r.why.length > 10, `why --${r.long} is safe`);
        }
        for (const r of REFUSED_EXTRAS) {
            const escaped = r.why.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
            if (r.long.length > 1) assert.match(rsyncExtraError(`--${r.long}`) ?? "accepted", new RegExp(escaped), `--${r.long}`);
            if (r.short) assert.match(rsyncExtraError(`-${r.short}`) ?? "accepted", new RegExp(escaped), `-${r.short}`);
        }
        const names = new Set<string>();
        for (const r of [...EXTRAS, ...REFUSED_EXTRAS]) {
            assert.ok(!names.has(`--${r.long}`), `--${r.long} is in one table only`);
            names.add(`--${r.long}`);
            if (r.short && r.short !== r.long) {
                assert.ok(!names.has(`-${r.short}`), `-${r.short} is in one table only`);
                names.add(`-${r.short}`);
            }
        }
    });

    it("the stack config reports each refused extra at its list index", () => {
        try {
            validateStackConfig(base(["--compress", "--existing", "-q", "--no-D"]));
            assert.fail("accepted");
        } catch (e) {
            assert.ok(e instanceof ConfigError, String(e));
            assert.deepStrictEqual(e.problems.map((p) => p.where), ["dvm:rsync.extras[1]", "dvm:rsync.extras[2]"]);
        }
        assert.deepStrictEqual(validateStackConfig(base(["--no-D", "-B131072"])).rsync.extras, ["--no-D", "-B131072"]);
    });

    it("the reference lists every accepted and every refused option (generated from the tables)", () => {
        const page = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "configuration.md"), "utf8");
        const block = /<!-- BEGIN GENERATED: extras -->\n([\s\S]*?)\n<!-- END GENERATED: extras -->/.exec(page);
        assert.ok(block, "docs/configuration.md has the generated extras block");
        assert.strictEqual(block![1], extrasTable(), "the extras block is stale: run `make docs`");
        for (const r of [...EXTRAS, ...REFUSED_EXTRAS]) assert.ok(block![1].includes(r.long.length > 1 ? `\`--${r.long}\`` : `\`-${r.long}\``), r.long);
    });

    it("rsyncd.conf refuses the link-following options from any client", () => {
        const conf = renderRsyncdConf({ modules: ["data"], runAsRoot: false });
        const line = conf.split("\n").find((l) => l.startsWith("refuse options = "));
        assert.ok(line, conf);
        for (const o of ["copy-links", "copy-unsafe-links", "copy-dirlinks", "keep-dirlinks"]) assert.ok(line!.split(/\s+/).includes(o), o);
        assert.deepStrictEqual(line!.slice("refuse options = ".length).split(" "), [...RSYNCD_REFUSED_OPTIONS]);
    });
});
