// A local HTTP server that answers the few Kubernetes API calls the progress reader and `dvm watch` make (list
// transfer Jobs by label, read one Job, list its pods by `job-name`, read the rsync container log), with bearer-token
// auth. It serves whatever log text the caller sets (the tests use the REAL captured rsync logs). Used by the unit
// tests (test/unit/progress-cli.test.ts) and by the engine tier (test/engine/progress.test.ts).
import * as http from "http";
import { LABELS, ROLE_SOURCE } from "../../contract";

export interface FakeApiOptions {
    namespace?: string;
    jobName?: string;
    podName?: string;
    token: string;
    /** Source PVC pairs in the Job's rsync args. */
    pairs?: string[];
}

export interface FakeApi {
    url: string;
    requests: string[];
    close(): Promise<void>;
    setLog(text: string): void;
    setJobDone(done: boolean): void;
    /** A kubeconfig (content) pointing at this server with the given token. */
    kubeconfig(token?: string): string;
}

export async function startFakeApi(o: FakeApiOptions): Promise<FakeApi> {
    const ns = o.namespace ?? "billing";
    const jobName = o.jobName ?? "dvm-billing-p2";
    const podName = o.podName ?? `${jobName}-abcde`;
    const pairs = o.pairs ?? ["postgresql:postgresql", "uploads:uploads-new:verify"];
    let log = "";
    let done = false;
    const requests: string[] = [];
    const job = (name: string, pass: number) => ({
        apiVersion: "batch/v1", kind: "Job",
        metadata: { name, namespace: ns, labels: { [LABELS.role]: ROLE_SOURCE, [LABELS.wave]: "wave-1", [LABELS.pass]: String(pass) } },
        spec: { template: { spec: { containers: [
            { name: "rsync", image: "x", args: ["--archive", "--info=PROGRESS2,STATS2", "--", ...pairs] },
            { name: "stunnel", image: "x" },
        ] } } },
        status: done ? { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] } : { active: 1 },
    });
    const server = http.createServer((req, res) => {
        requests.push(`${req.method} ${req.url}`);
        const json = (code: number, body: unknown) => res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(body));
        if (req.headers.authorization !== `Bearer ${o.token}`) {
            json(401, { kind: "Status", code: 401, message: "Unauthorized" });
            return;
        }
        const u = new URL(req.url ?? "/", "http://x");
        if (u.pathname === "/apis/batch/v1/jobs" && u.searchParams.get("labelSelector") === "dvm.io/role=source-transfer") {
            json(200, { kind: "JobList", apiVersion: "batch/v1", metadata: {}, items: [job(`${jobName}-old`, 1), job(jobName, 2)] });
        } else if (u.pathname === `/apis/batch/v1/namespaces/${ns}/jobs/${jobName}`) {
            json(200, job(jobName, 2));
        } else if (u.pathname === `/api/v1/namespaces/${ns}/pods` && u.searchParams.get("labelSelector") === `job-name=${jobName}`) {
            json(200, { kind: "PodList", apiVersion: "v1", metadata: {}, items: [{
                metadata: { name: podName, namespace: ns, creationTimestamp: "2026-11-21T05:00:00Z" },
                status: { phase: done ? "Succeeded" : "Running", containerStatuses: [{
                    name: "rsync", restartCount: 0, ready: !done, image: "x", imageID: "",
                    state: done ? { terminated: { exitCode: 0, reason: "Completed" } } : { running: { startedAt: "2026-11-21T05:00:01Z" } },
                }] },
            }] });
        } else if (u.pathname === `/api/v1/namespaces/${ns}/pods/${podName}/log` && u.searchParams.get("container") === "rsync" && u.searchParams.get("timestamps") === "true") {
            res.writeHead(200, { "content-type": "text/plain" }).end(log);
        } else {
            json(404, { kind: "Status", code: 404, message: `not found: ${u.pathname}` });
        }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    return {
        url,
        requests,
        close: () => new Promise<void>((r) => server.close(() => r())),
        setLog: (t) => { log = t; },
        setJobDone: (d) => { done = d; },
        kubeconfig: (token = o.token) => `apiVersion: v1
kind: Config
clusters:
- name: source
  cluster:
    server: ${url}
users:
- name: admin
  user:
    token: ${token}
contexts:
- name: source
  context: {cluster: source, user: admin}
current-context: source
`,
    };
}
