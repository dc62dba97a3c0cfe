// The TransferProgress dynamic provider against a fake source cluster whose pods print the REAL captured rsync logs
// (test/fixtures/rsync/local-*.log) a little more on every poll; and its serialization under Pulumi mocks.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { diffTransfer, makeProvider } from "../../progress/provider";
import { JobStatus, PodStatus, TransferSource } from "../../progress/source";
import { TransferFailedError, TransferInputs, waitForTransfer } from "../../progress/wait";
import { declared, installMocks, settle } from "../support/mocks";

const DIR = path.join(__dirname, "..", "fixtures", "rsync");
const fixture = (name: string) => fs.readFileSync(path.join(DIR, name), "utf8");
const KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    token: kubeconfig-token-must-never-leak-7f3a\n";

interface PodScript {
    name: string;
    log: string;
    /** Polls before this pod exists. */
    from?: number;
    /** Terminated once its whole log is shown (exit code). */
    exitCode?: number;
    reason?: string;
    waiting?: { reason: string; message?: string };
}

/** A fake cluster: each poll (one job() call) reveals one more slice of every pod's log. */
class FakeCluster implements TransferSource {
    polls = 0;
    calls: string[] = [];
    constructor(
        private pods_: PodScript[],
        private jobAt: (poll: number, allShown: boolean) => JobStatus | undefined,
        private slices = 4,
    ) {}
    private shown(p: PodScript): string {
        const k = this.polls - (p.from ?? 0);
        if (k <= 0) return "";
        const n = Math.min(p.log.length, Math.ceil((p.log.length * k) / this.slices));
        return p.log.slice(0, n);
    }
    private allShown(): boolean {
        return this.pods_.every((p) => this.shown(p).length === p.log.length);
    }
    async job(namespace: string, name: string) {
        this.calls.push(`job ${namespace}/${name}`);
        this.polls++;
        return this.jobAt(this.polls, this.allShown());
    }
    async pods(namespace: string, jobName: string): Promise<PodStatus[]> {
        this.calls.push(`pods ${namespace} job-name=${jobName}`);
        return this.pods_
            .filter((p) => this.polls > (p.from ?? 0) - (p.waiting ? 1 : 0))
            .map((p, i) => {
                const done = this.shown(p).length === p.log.length && p.exitCode !== undefined;
                return {
                    name: p.name, created: 1000 + i, phase: done ? (p.exitCode === 0 ? "Succeeded" : "Failed") : "Running",
                    rsync: p.waiting
                        ? { restartCount: 0, running: false, waiting: p.waiting }
                        : { restartCount: 0, running: !done, terminated: done ? { exitCode: p.exitCode!, reason: p.reason } : undefined },
                };
            });
    }
    async log(namespace: string, pod: string, container: string) {
        this.calls.push(`log ${namespace}/${pod}/${container}`);
        return this.shown(this.pods_.find((p) => p.name === pod)!);
    }
}

const inputs = (over: Partial<TransferInputs> = {}): TransferInputs => ({
    kubeconfig: KUBECONFIG, context: "", namespace: "billing", jobName: "dvm-wave-1-billing-p1", wave: "wave-1", pass: 1,
    pvcs: [{ source: "postgresql", target: "postgresql" }, { source: "uploads", target: "uploads" }],
    render: false, timeoutSeconds: 3600, pollSeconds: 0, ...over,
});
const running: JobStatus = { complete: false, active: 1 };

describe("progress provider: waiting for the transfer Job", () => {
    it("create follows a complete transfer to the end and returns both records", async () => {
        const cluster = new FakeCluster([{ name: "job-pod-a", log: fixture("local-complete.log"), exitCode: 0 }],
            (_n, all) => (all ? { complete: true, active: 0 } : running));
        const seen: string[] = [];
        const provider = makeProvider(() => cluster);
        const res = await provider.create(inputs());
        assert.strictEqual(res.id, "billing/dvm-wave-1-billing-p1");
        assert.strictEqual(res.outs.phase, "Succeeded");
        assert.deepStrictEqual(Object.keys(res.outs.pvcs), ["postgresql", "uploads"]);
        for (const r of Object.values(res.outs.pvcs)) {
            assert.strictEqual(r.phase, "Succeeded");
            assert.strictEqual(r.totalProgressPercentage, 100);
            assert.ok(r.transferredBytes > 3 * 1024 * 1024);
        }
        assert.ok(cluster.polls >= 4, `waited over several polls (${cluster.polls})`);
        assert.ok(cluster.calls.includes("log billing/job-pod-a/rsync"));
        assert.ok(!JSON.stringify(res.outs).includes("kubeconfig-token"), "no kubeconfig in the outputs");
        assert.strictEqual((res.outs as unknown as Record<string, unknown>).kubeconfig, undefined);
        void seen;
    });

    it("a Succeeded pod ends the wait without waiting for the Job controller to mark the Job complete; a failed one does not", async () => {
        let now = 0;
        const clock = { sleep: async () => { now += 1000; }, now: () => now };
        const ok = new FakeCluster([{ name: "p", log: fixture("local-complete.log"), exitCode: 0 }], () => running, 4);
        const out = await waitForTransfer(ok, { ...inputs(), timeoutSeconds: 30 }, clock);
        assert.strictEqual(out.phase, "Succeeded");
        assert.strictEqual(ok.polls, 4, "done at the poll that saw the pod Succeeded");
        for (const r of Object.values(out.pvcs)) assert.strictEqual(r.phase, "Succeeded");
        // the same log, but the pod failed (the stunnel container, say): the Job's verdict is awaited
        now = 0;
        const bad = new FakeCluster([{ name: "p", log: fixture("local-complete.log"), exitCode: 1 }], () => running, 4);
        await assert.rejects(waitForTransfer(bad, { ...inputs(), timeoutSeconds: 30 }, clock), /transfer timed out/);
        assert.ok(bad.polls > 4, "kept polling after the failed pod");
    });

    it("shows Running records while the Job runs (onPoll), with progress growing", async () => {
        const cluster = new FakeCluster([{ name: "p", log: fixture("local-complete.log"), exitCode: 0 }],
            (_n, all) => (all ? { complete: true, active: 0 } : running), 8);
        const percents: number[] = [];
        await waitForTransfer(cluster, inputs(), { sleep: async () => undefined, onPoll: (r) => percents.push(r.postgresql.totalProgressPercentage) });
        assert.ok(percents.some((p) => p > 0 && p < 100), `intermediate progress seen: ${percents}`);
        assert.strictEqual(percents[percents.length - 1], 100);
    });

    it("fails promptly (Job still active) naming namespace, PVC, reason and the last rsync lines", async () => {
        const cluster = new FakeCluster([{ name: "p", log: fixture("local-failed-nospace.log") }], () => running, 2);
        const provider = makeProvider(() => cluster);
        await assert.rejects(provider.create({ ...inputs(), __provider: "exports.handler = serialized" } as TransferInputs), (e: TransferFailedError) => {
            // kept in the failed resource's state, so a later diff/delete can still load the provider
            assert.strictEqual((e.properties as unknown as Record<string, unknown>).__provider, "exports.handler = serialized");
            assert.match(e.message, /transfer failed in namespace billing/);
            assert.match(e.message, /PVC postgresql: NoSpaceLeft after 1 attempt\(s\), exit 11/);
            assert.match(e.message, /last rsync lines:\n.*\n?[\s\S]*No space left on device \(28\)/);
            assert.match(e.message, /PVC uploads: NotStarted/);
            assert.match(e.message, /dvm:pass/);
            assert.ok(!e.message.includes("kubeconfig-token"));
            // the engine stores these as the partially-created resource's state (ErrorResourceInitFailed)
            assert.strictEqual(e.id, "billing/dvm-wave-1-billing-p1");
            assert.strictEqual(e.properties.phase, "Failed");
            assert.strictEqual(e.properties.pvcs.postgresql.reason, "NoSpaceLeft");
            assert.deepStrictEqual(e.reasons, [e.message], "the engine prints reasons as the error: the whole message");
            return true;
        });
        assert.ok(cluster.polls <= 2, `failed as soon as the log said so (${cluster.polls} polls)`);
    });

    it("fails on the tunnel never coming up and on an authentication failure", async () => {
        for (const [log, reason] of [["local-tunnel-down.log", "TunnelDown"], ["local-failed-auth.log", "AuthenticationFailed"]]) {
            const cluster = new FakeCluster([{ name: "p", log: fixture(log), exitCode: 1 }], () => running, 1);
            await assert.rejects(waitForTransfer(cluster, inputs(), { sleep: async () => undefined }), (e: TransferFailedError) => {
                assert.strictEqual(e.properties.pvcs.postgresql.reason, reason);
                assert.match(e.message, new RegExp(`PVC postgresql: ${reason}`));
                return true;
            });
        }
    });

    it("follows the Job's second pod after the first was killed: attempts add up, result Succeeded", async () => {
        const full = fixture("local-retried.log");
        const killedAt = full.indexOf("dvm: pvc-end pvc=postgresql attempt=2");
        const cluster = new FakeCluster([
            { name: "pod-1", log: full.slice(0, killedAt - 100), exitCode: 137, reason: "OOMKilled" },
            { name: "pod-2", log: fixture("local-complete.log"), exitCode: 0, from: 4 },
        ], (_n, all) => (all ? { complete: true, active: 0 } : running), 4);
        const out = await waitForTransfer(cluster, inputs(), { sleep: async () => undefined });
        assert.strictEqual(out.pvcs.postgresql.phase, "Succeeded");
        assert.strictEqual(out.pvcs.postgresql.attempts, 3);
        assert.strictEqual(out.pvcs.uploads.attempts, 1);
    });

    it("a killed pod is not a verdict while the Job is active; the Job's failure is", async () => {
        const full = fixture("local-complete.log");
        const cluster = new FakeCluster([{ name: "pod-1", log: full.slice(0, full.indexOf("dvm: pvc-end pvc=postgresql") - 100), exitCode: 137, reason: "OOMKilled" }],
            (n, all) => (all && n >= 6 ? { complete: false, active: 0, failed: { reason: "PodFailurePolicy", message: "Container rsync for pod billing/pod-1 failed with exit code 137" } } : running), 2);
        await assert.rejects(waitForTransfer(cluster, inputs(), { sleep: async () => undefined }), (e: TransferFailedError) => {
            assert.match(e.message, /transfer Job failed in namespace billing/);
            assert.strictEqual(e.properties.pvcs.postgresql.reason, "ContainerTerminated");
            assert.match(e.properties.pvcs.postgresql.message!, /exit 137, OOMKilled/);
            return true;
        });
        assert.strictEqual(cluster.polls, 6, "kept waiting until the Job itself failed");
    });

    it("times out with the pod's waiting reason when the transfer never starts", async () => {
        let clock = 0;
        const cluster = new FakeCluster([{ name: "p", log: "", waiting: { reason: "ImagePullBackOff", message: "Back-off pulling image \"registry.example/dvm:1\"" } }], () => running);
        await assert.rejects(
            waitForTransfer(cluster, inputs({ timeoutSeconds: 60, pollSeconds: 5 }), { now: () => clock, sleep: async (ms) => { clock += ms; } }),
            (e: TransferFailedError) => {
                assert.match(e.message, /transfer timed out in namespace billing/);
                assert.strictEqual(e.properties.pvcs.postgresql.reason, "Timeout");
                assert.match(e.properties.pvcs.postgresql.message!, /ImagePullBackOff/);
                assert.match(e.properties.pvcs.uploads.message!, /no result after 60s/);
                return true;
            });
        assert.strictEqual(clock, 60_000, "slept exactly up to the deadline");
        assert.strictEqual(cluster.polls, 13);
    });

    it("polls every second for the first 10 s and every 2 s to 40 s, then backs off to 30 s: quick on a small wave, light on an hour-long one", async () => {
        let clock = 0;
        const sleeps: number[] = [];
        const cluster = new FakeCluster([{ name: "p", log: "", waiting: { reason: "ContainerCreating" } }], () => running);
        const { pollSeconds: _unset, ...defaults } = inputs({ timeoutSeconds: 3600 });
        await assert.rejects(waitForTransfer(cluster, defaults, {
            now: () => clock, sleep: async (ms) => { sleeps.push(ms); clock += ms; },
        }), /timed out/);
        assert.deepStrictEqual(sleeps.slice(0, 25), [...Array(10).fill(1000), ...Array(15).fill(2000)], "a transfer that ends early is seen within 1 s, then within 2 s");
        for (let i = 1; i < sleeps.length - 1; i++) assert.ok(sleeps[i] >= sleeps[i - 1], `poll ${i} sleeps less than poll ${i - 1}`);
        assert.strictEqual(Math.max(...sleeps), 30_000);
        assert.ok(cluster.polls < 200, `${cluster.polls} polls in an hour (a steady 2 s would be 1800)`);
    });

    it("reports a failed Job (deadline exceeded) as Timeout for the PVCs that did not finish", async () => {
        const log = fixture("local-complete.log");
        const cut = log.indexOf("dvm: pvc-start pvc=uploads");
        const cluster = new FakeCluster([{ name: "p", log: log.slice(0, cut), exitCode: 143 }],
            (_n, all) => (all ? { complete: false, active: 0, failed: { reason: "DeadlineExceeded", message: "Job was active longer than specified deadline" } } : running), 2);
        await assert.rejects(waitForTransfer(cluster, inputs(), { sleep: async () => undefined }), (e: TransferFailedError) => {
            assert.strictEqual(e.properties.pvcs.postgresql.phase, "Succeeded");
            assert.strictEqual(e.properties.pvcs.uploads.phase, "Failed");
            return true;
        });
    });

    it("rides out API errors (a restarting API server), but not lasting ones", async () => {
        const cluster = new FakeCluster([{ name: "p", log: fixture("local-complete.log"), exitCode: 0 }], (_n, all) => (all ? { complete: true, active: 0 } : running), 2);
        let calls = 0;
        const flaky: TransferSource = {
            job: async (ns, name) => {
                if (++calls % 2 === 1 && calls < 6) throw new Error("connect ECONNREFUSED 10.0.0.1:6443");
                return cluster.job(ns, name);
            },
            pods: (ns, j) => cluster.pods(ns, j),
            log: (ns, p, c) => cluster.log(ns, p, c),
        };
        const out = await waitForTransfer(flaky, inputs(), { sleep: async () => undefined });
        assert.strictEqual(out.phase, "Succeeded");
        const down: TransferSource = { ...flaky, job: async () => { throw new Error("source cluster: cannot read Job billing/x: HTTP 403: forbidden"); } };
        let sleeps = 0;
        await assert.rejects(waitForTransfer(down, inputs(), { sleep: async () => { sleeps++; } }),
            /cannot follow the transfer in namespace billing \(Job dvm-wave-1-billing-p1\): source cluster: cannot read Job billing\/x: HTTP 403: forbidden \(6 polls in a row failed\)/);
        assert.strictEqual(sleeps, 5);
    });

    it("a Job that disappears fails the wait instead of polling forever", async () => {
        const cluster = new FakeCluster([], () => undefined);
        await assert.rejects(waitForTransfer(cluster, inputs(), { sleep: async () => undefined }), /transfer Job missing/);
        assert.strictEqual(cluster.polls, 3);
    });

    it("render mode records Rendered and touches no cluster", async () => {
        const provider = makeProvider(() => { throw new Error("render mode must not build a cluster client"); });
        const res = await provider.create(inputs({ render: true, jobName: "", kubeconfig: "" }));
        assert.strictEqual(res.outs.phase, "Rendered");
        assert.deepStrictEqual(Object.values(res.outs.pvcs).map((r) => r.phase), ["Rendered", "Rendered"]);
    });

    it("update waits again (an earlier up failed or was interrupted)", async () => {
        const cluster = new FakeCluster([{ name: "p", log: fixture("local-complete.log"), exitCode: 0 }], (_n, all) => (all ? { complete: true, active: 0 } : running));
        const provider = makeProvider(() => cluster);
        const res = await provider.update("billing/x", { phase: "Running" } as never, inputs());
        assert.strictEqual(res.outs.phase, "Succeeded");
        assert.ok(cluster.polls > 1);
    });

    it("check names the bad input", async () => {
        const res = await makeProvider().check({}, { ...inputs(), jobName: "", timeoutSeconds: 0 });
        assert.deepStrictEqual(res.failures.map((f) => f.property), ["jobName", "timeoutSeconds"]);
    });
});

describe("progress provider: diff", () => {
    const olds = () => ({
        namespace: "billing", jobName: "dvm-wave-1-billing-p1", wave: "wave-1", pass: 1, render: false, phase: "Succeeded",
        pvcPairs: [{ source: "postgresql", target: "postgresql" }, { source: "uploads", target: "uploads" }], pvcs: {},
    });
    it("no change (PVC order, timeout, kubeconfig rotation) is a no-op", () => {
        const d = diffTransfer(olds(), inputs({ timeoutSeconds: 10, kubeconfig: "other", pvcs: [...inputs().pvcs].reverse() }));
        assert.deepStrictEqual(d, { changes: false, replaces: [], deleteBeforeReplace: true });
    });
    it("a new pass or Job replaces (wait and read again)", () => {
        assert.deepStrictEqual(diffTransfer(olds(), inputs({ pass: 2 })).replaces, ["pass"]);
        assert.deepStrictEqual(diffTransfer(olds(), inputs({ jobName: "dvm-wave-1-billing-p2" })).replaces, ["jobName"]);
        assert.deepStrictEqual(diffTransfer(olds(), inputs({ pvcs: [{ source: "postgresql", target: "pg-new" }] })).replaces, ["pvcs"]);
        assert.strictEqual(diffTransfer(olds(), inputs({ pass: 2 })).changes, true);
    });
    it("an unfinished record is updated (waited for) again without replacing", () => {
        const d = diffTransfer({ ...olds(), phase: "Failed" }, inputs());
        assert.deepStrictEqual(d, { changes: true, replaces: [], deleteBeforeReplace: true });
    });
});

describe("progress provider: serialization under Pulumi mocks", () => {
    before(() => installMocks());

    it("construction serializes the provider; no kubeconfig inside; the serialized code runs on its own", async () => {
        const { TransferProgress } = require("../../progress/resource") as typeof import("../../progress/resource");
        const start = declared.length;
        const res = new TransferProgress("billing-progress", {
            kubeconfig: pulumi.secret(KUBECONFIG), namespace: "billing", jobName: "dvm-wave-1-billing-p1",
            pvcs: [{ source: "postgresql", target: "postgresql" }], wave: "wave-1", pass: 1, render: false, timeoutSeconds: 600,
        });
        await settle();
        const mine = declared.slice(start).find((d) => d.name === "billing-progress");
        assert.ok(mine, "registered");
        assert.strictEqual(mine!.type, "pulumi-nodejs:dynamic/progress:TransferProgress");
        const text: string = mine!.inputs.__provider;
        assert.strictEqual(typeof text, "string");
        assert.ok(text.length > 1000 && text.includes("exports.handler"), "the provider was serialized");
        assert.ok(!text.includes("kubeconfig-token-must-never-leak"), "no kubeconfig captured in the serialized provider");
        assert.ok(!/token:/.test(text));
        void res;

        // what the engine's dynamic-provider host does: load the text as a module and call the handler
        const requireFromString = require("require-from-string");
        const provider = requireFromString(text).handler();
        const d = await provider.diff("id", { namespace: "billing", jobName: "j", pass: 1, render: false, phase: "Succeeded", pvcPairs: [{ source: "a", target: "a" }] },
            { namespace: "billing", jobName: "j", pass: 2, render: false, pvcs: [{ source: "a", target: "a" }] });
        assert.deepStrictEqual(d.replaces, ["pass"]);
        const rendered = await provider.create({ ...inputs({ render: true }) });
        assert.strictEqual(rendered.outs.phase, "Rendered");
        // the real cluster path loads @kubernetes/client-node inside the serialized code and checks its input
        await assert.rejects(provider.create(inputs({ kubeconfig: "", context: "" })), /dvm:source: the progress reader got neither a kubeconfig nor a context/);
        await assert.rejects(provider.create(inputs({ kubeconfig: "apiVersion: v1\nkind: Config\ncontexts: []\nclusters: []\nusers: []\n", context: "nope" })), /dvm:source.context: context "nope" is not in the source kubeconfig/);
    });
});
