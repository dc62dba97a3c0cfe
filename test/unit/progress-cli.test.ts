// The real Kubernetes client path (@kubernetes/client-node with a kubeconfig) of the provider and of `dvm watch`,
// against a local HTTP server that answers the Kubernetes API paths the code must call, serving the REAL captured
// rsync logs; plus `dvm status` formatting and flag errors.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseFlags } from "../../cli/flags";
import { plainLine, statusTable } from "../../cli/format";
import { main } from "../../cli/main";
import { resolveSource } from "../../cli/stack";
import { collectRows, kubeJobLister, newestPass, pvcsFromArgs } from "../../cli/watch";
import { FakeApi, startFakeApi } from "../support/fake-api";
import { kubeSource } from "../../progress/source";
import { waitForTransfer } from "../../progress/wait";

const DIR = path.join(__dirname, "..", "fixtures", "rsync");
const fixture = (name: string) => fs.readFileSync(path.join(DIR, name), "utf8");
const TOKEN = "fake-api-token-1234";

const fakeApi = () => startFakeApi({ token: TOKEN });
/** A kubeconfig naming a server that is never reached (only read and passed on). */
const OFFLINE_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters:\n- name: source\n  cluster:\n    server: http://127.0.0.1:1\n";

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
    let buf = "";
    const stream = { isTTY: false, write: (s: string) => { buf += s; return true; } } as unknown as NodeJS.WriteStream;
    return { stream, text: () => buf };
}

describe("progress: the Kubernetes client path against a local API server", () => {
    let api: FakeApi;
    let tmp: string;
    beforeEach(async () => {
        api = await fakeApi();
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-progress-"));
    });
    afterEach(async () => {
        await api.close();
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("the provider's kubeSource reads Job, pods and --timestamps logs with the kubeconfig's credentials", async () => {
        api.setLog(fixture("local-timestamps.log"));
        api.setJobDone(true);
        const out = await waitForTransfer(kubeSource(api.kubeconfig(), "source"), {
            namespace: "billing", jobName: "dvm-billing-p2", wave: "wave-1", pass: 2, render: false, timeoutSeconds: 30, pollSeconds: 0,
            pvcs: [{ source: "postgresql", target: "postgresql" }, { source: "uploads", target: "uploads" }],
        });
        assert.strictEqual(out.phase, "Succeeded");
        assert.ok(out.pvcs.postgresql.elapsedSeconds! > 1, "elapsed from the log timestamps");
        assert.ok(api.requests.some((r) => r.startsWith("GET /api/v1/namespaces/billing/pods/dvm-billing-p2-abcde/log?container=rsync") && r.includes("timestamps=true")));
        assert.ok(!api.requests.some((r) => r.includes("previous=true")), "no previous log asked for a container that never restarted");
    });

    it("a kubeconfig file path works as well as its content; a wrong token is a clear error", async () => {
        const file = path.join(tmp, "source.yaml");
        fs.writeFileSync(file, api.kubeconfig());
        api.setJobDone(false);
        assert.deepStrictEqual(await kubeSource(file, undefined).job("billing", "dvm-billing-p2"), { complete: false, failed: undefined, active: 1 });
        assert.strictEqual(await kubeSource(file, undefined).job("billing", "gone"), undefined, "404 = no such Job");
        await assert.rejects(kubeSource(api.kubeconfig().replace(TOKEN, "wrong"), undefined).job("billing", "dvm-billing-p2"),
            /source cluster: cannot read Job billing\/dvm-billing-p2: HTTP 401: Unauthorized/);
    });

    it("dvm watch --once --plain: discovers the newest pass by label and prints one line per PVC", async () => {
        const log = fixture("local-complete.log");
        api.setLog(log.slice(0, log.indexOf("dvm: pvc-end pvc=postgresql") - 300));
        const file = path.join(tmp, "source.yaml");
        fs.writeFileSync(file, api.kubeconfig());
        const out = capture();
        const code = await main(["watch", "--kubeconfig", file, "--once", "--plain"], out.stream);
        const text = out.text();
        assert.strictEqual(code, 0);
        assert.match(text, /Jobs labelled dvm\.io\/role=source-transfer/);
        assert.match(text, /billing\/postgresql\s+Running\s+\d{1,2}%\s+\S+ \S+\/\S+ \S+/);
        assert.match(text, /billing\/uploads\s+Pending\s+0%/);
        assert.match(text, /attempt 1/);
        assert.ok(!api.requests.some((r) => r.includes("dvm-billing-p2-old")), "the older pass is not read");
        assert.ok(api.requests.some((r) => r.includes("jobs/dvm-billing-p2")), "the newest pass is read");
    });

    it("dvm watch ends with a summary and exit 0 when the Job completed", async () => {
        api.setLog(fixture("local-complete.log"));
        api.setJobDone(true);
        const out = capture();
        const code = await main(["watch", "--kubeconfig", path.join(tmp, "k.yaml"), "--plain"], out.stream).catch((e) => e);
        assert.match(String(code), /kubeconfig .*k\.yaml \(from flags\) does not exist/);
        fs.writeFileSync(path.join(tmp, "k.yaml"), api.kubeconfig());
        const ok = await main(["watch", "--kubeconfig", path.join(tmp, "k.yaml"), "--plain", "--interval", "0.01"], out.stream);
        assert.strictEqual(ok, 0);
        assert.match(out.text(), /transfer finished:\n\s+billing\/postgresql\s+Succeeded\s+100%/);
    });

    it("dvm watch on a TTY draws one cli-progress bar per PVC", async () => {
        api.setLog(fixture("local-retried.log"));
        api.setJobDone(true);
        fs.writeFileSync(path.join(tmp, "k.yaml"), api.kubeconfig());
        let buf = "";
        const tty = {
            isTTY: true, columns: 140, rows: 40,
            write: (s: string) => { buf += s; return true; },
            on: () => tty, once: () => tty, removeListener: () => tty, off: () => tty,
            cursorTo: (_x: number, _y?: number, cb?: () => void) => { cb?.(); return true; },
            moveCursor: (_x: number, _y: number, cb?: () => void) => { cb?.(); return true; },
            clearLine: (_d: number, cb?: () => void) => { cb?.(); return true; },
            clearScreenDown: (cb?: () => void) => { cb?.(); return true; },
            getWindowSize: () => [140, 40],
        } as unknown as NodeJS.WriteStream;
        const code = await main(["watch", "--kubeconfig", path.join(tmp, "k.yaml"), "--interval", "0.01"], tty);
        assert.strictEqual(code, 0);
        const plain = buf.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
        assert.match(plain, /billing\/postgresql █{20} 100% \S+ MiB\/\S+ MiB\s+\S+ MiB\/s\s+ETA -\s+try 2 Succeeded/);
        assert.match(plain, /billing\/uploads\s+█{20} 100% .*try 1 Succeeded/);
        assert.match(plain, /transfer finished:/);
    });

    it("collectRows reports a failed transfer as finished and failed once the Job says so", async () => {
        api.setLog(fixture("local-failed-auth.log"));
        const source = kubeSource(api.kubeconfig(), undefined);
        const lister = kubeJobLister(api.kubeconfig(), undefined);
        const running = await collectRows(lister, source, {});
        assert.strictEqual(running.finished, false);
        assert.strictEqual(running.rows.find((r) => r.pvc === "postgresql")!.record.reason, "AuthenticationFailed");
        assert.match(plainLine(running.rows[0]), /Failed .*AuthenticationFailed: @ERROR: auth failed on module postgresql/);
    });

    it("collectRows follows the pass being run: an earlier pass's Jobs are not its progress", async () => {
        api.setLog(fixture("local-complete.log"));
        const source = kubeSource(api.kubeconfig(), undefined);
        const lister = kubeJobLister(api.kubeconfig(), undefined);
        const all = await collectRows(lister, source, {});
        assert.ok(all.jobs.length > 0);
        const current = Math.max(...all.jobs.map((j) => j.pass));
        assert.strictEqual((await collectRows(lister, source, { pass: current })).jobs.length, all.jobs.length);
        const next = await collectRows(lister, source, { pass: current + 1 });
        assert.deepStrictEqual(next.jobs, [], "a new pass waits for its own Jobs");
        assert.strictEqual(next.finished, false);
        assert.strictEqual(parseFlags(["watch", "--pass", "3"].slice(1)).pass, 3);
        assert.throws(() => parseFlags(["--pass", "0"]), /--pass must be a whole number >= 1/);
    });
});

describe("progress: dvm status and flags", () => {
    it("prints the table of the stack output 'migration' with failures spelled out", () => {
        const t = statusTable({
            wave: "wave-1",
            pass: 2,
            namespaces: {
                billing: { phase: "Failed", pvcs: {
                    postgresql: { phase: "Succeeded", attempts: 2, exitCode: 0, totalProgressPercentage: 100, transferredBytes: 7240000, throughput: 2868314, elapsedSeconds: 2.5 },
                    uploads: { phase: "Failed", attempts: 1, exitCode: 11, totalProgressPercentage: 53, transferredBytes: 7180000, reason: "NoSpaceLeft", message: "rsync: [receiver] write failed on \"data/big.bin\" (in uploads): No space left on device (28)" },
                } },
            },
        });
        const lines = t.split("\n");
        assert.strictEqual(lines[0], "wave: wave-1 (pass 2)");
        assert.match(lines[1], /^NAMESPACE\s+PVC\s+PHASE\s+ATTEMPTS\s+PROGRESS\s+TRANSFERRED\s+THROUGHPUT\s+ELAPSED\s+EXIT\s+REASON$/);
        assert.match(lines[2], /^billing\s+postgresql\s+Succeeded\s+2\s+100%\s+6\.9 MiB\s+2\.7 MiB\/s\s+3s\s+0$/);
        assert.match(lines[3], /^billing\s+uploads\s+Failed\s+1\s+53%\s+6\.8 MiB\s+-\s+-\s+11\s+NoSpaceLeft$/);
        assert.match(t, /failures:\n  billing\/uploads: rsync: \[receiver\] write failed/);
    });
    it("reads PVCs from the Job args and keeps the newest pass per namespace", () => {
        assert.deepStrictEqual(pvcsFromArgs(["-a", "--", "a:a", "b:c:verify"]), ["a", "b"]);
        assert.deepStrictEqual(pvcsFromArgs(["-a"]), []);
        const jobs = newestPass([
            { namespace: "b", name: "b1", pass: 1, pvcs: [] }, { namespace: "a", name: "a2", pass: 2, pvcs: [] }, { namespace: "a", name: "a1", pass: 1, pvcs: [] },
        ]);
        assert.deepStrictEqual(jobs.map((j) => j.name), ["a2", "b1"]);
    });
    it("the source cluster: flags first, else the stack's dvm:source resolved like the program does", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-src-"));
        const cwd = process.cwd();
        try {
            fs.writeFileSync(path.join(dir, "src.yaml"), OFFLINE_KUBECONFIG);
            process.chdir(dir);
            const none = () => { throw new Error("must not read the stack when flags name the cluster"); };
            assert.deepStrictEqual(resolveSource(parseFlags(["--kubeconfig", "src.yaml"]), none), { kubeconfig: path.join(dir, "src.yaml"), context: undefined, from: "flags" });
            const fromStack = resolveSource(parseFlags(["--stack", "pair"]), (stack) => (stack === "pair" ? { kubeconfig: "src.yaml", context: "source" } : undefined));
            assert.strictEqual(fromStack.kubeconfig, OFFLINE_KUBECONFIG, "a relative path is read from the project directory");
            assert.strictEqual(fromStack.context, "source");
            assert.throws(() => resolveSource(parseFlags(["--stack", "pair"]), () => ({ kubeconfig: "missing.yaml" })),
                /cannot read the source kubeconfig from stack config dvm:source \(pair\): .*missing\.yaml/);
        } finally {
            process.chdir(cwd);
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
    it("flag errors say what is wrong and show the usage", () => {
        assert.throws(() => parseFlags(["--interval", "soon"]), /--interval must be a number of seconds > 0, e.g. --interval 5/);
        assert.throws(() => parseFlags(["--stack"]), /--stack needs a value\nusage:/);
        assert.throws(() => parseFlags(["--frobnicate"]), /unknown argument '--frobnicate'/);
        assert.deepStrictEqual(parseFlags(["--stack=pair", "-n", "a", "--namespace", "b", "--once"]).namespaces, ["a", "b"]);
    });
});
