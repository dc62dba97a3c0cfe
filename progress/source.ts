// What the progress provider and `dvm watch` read from the source cluster: the transfer Job, its pods and the rsync
// container's log. Tests inject a fake TransferSource; the real one is kubeSource().
import { CONTAINERS, JOB_NAME_LABEL } from "../contract";
import { apiError, kubeConfig, statusCode } from "../kube";

export interface JobStatus {
    /** The Job finished successfully (condition Complete / SuccessCriteriaMet). */
    complete: boolean;
    /** The Job failed (condition Failed): reason (DeadlineExceeded, BackoffLimitExceeded, PodFailurePolicy) + message. */
    failed?: { reason: string; message: string };
    active: number;
}

export interface RsyncContainerStatus {
    restartCount: number;
    running: boolean;
    waiting?: { reason: string; message?: string };
    terminated?: { exitCode: number; reason?: string; message?: string };
}

export interface PodStatus {
    name: string;
    /** ms since epoch */
    created: number;
    phase: string;
    /** Why the pod cannot start (Unschedulable ...), when known. */
    condition?: string;
    rsync?: RsyncContainerStatus;
}

/** What the provider and the watch command read from the source cluster. Tests inject a fake. */
export interface TransferSource {
    job(namespace: string, name: string): Promise<JobStatus | undefined>;
    pods(namespace: string, jobName: string): Promise<PodStatus[]>;
    /** The container log, with `--timestamps` prefixes. */
    log(namespace: string, pod: string, container: string, previous: boolean): Promise<string>;
}

/** The real source: @kubernetes/client-node with the source cluster's kubeconfig (content or path) and context. */
export function kubeSource(kubeconfig: string | undefined, context: string | undefined): TransferSource {
    const k8s = require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
    const kc = kubeConfig({ kubeconfig, context }, { what: "dvm:source", cluster: "source", reader: "the progress reader" });
    const batch = kc.makeApiClient(k8s.BatchV1Api);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const explain = (what: string, e: unknown) => new Error(`source cluster: ${apiError(what, e).message}`);
    return {
        async job(namespace, name) {
            try {
                const res = await batch.readNamespacedJob(name, namespace);
                const st = res.body.status ?? {};
                const conds: { type: string; status: string; reason?: string; message?: string }[] = st.conditions ?? [];
                const on = (t: string) => conds.find((c) => c.type === t && c.status === "True");
                const failed = on("Failed");
                return {
                    complete: !!on("Complete"),
                    failed: failed ? { reason: failed.reason ?? "Failed", message: failed.message ?? "" } : undefined,
                    active: st.active ?? 0,
                };
            } catch (e) {
                if (statusCode(e) === 404) return undefined;
                throw explain(`read Job ${namespace}/${name}`, e);
            }
        },
        async pods(namespace, jobName) {
            const res = await core.listNamespacedPod(namespace, undefined, undefined, undefined, undefined, `${JOB_NAME_LABEL}=${jobName}`)
                .catch((e: unknown) => { throw explain(`list the pods of Job ${namespace}/${jobName}`, e); });
            return res.body.items.map((p) => {
                const cs = (p.status?.containerStatuses ?? []).find((c) => c.name === CONTAINERS.rsync);
                const sched = (p.status?.conditions ?? []).find((c) => c.type === "PodScheduled" && c.status === "False");
                const created = p.metadata?.creationTimestamp;
                return {
                    name: p.metadata?.name ?? "",
                    created: created ? new Date(created).getTime() : 0,
                    phase: p.status?.phase ?? "Unknown",
                    condition: sched ? `${sched.reason ?? "Unschedulable"}: ${sched.message ?? ""}` : undefined,
                    rsync: cs
                        ? {
                              restartCount: cs.restartCount,
                              running: !!cs.state?.running,
                              waiting: cs.state?.waiting ? { reason: cs.state.waiting.reason ?? "Waiting", message: cs.state.waiting.message } : undefined,
                              terminated: cs.state?.terminated,
                          }
                        : undefined,
                };
            });
        },
        async log(namespace, pod, container, previous) {
            const res = await core.readNamespacedPodLog(pod, namespace, container, false, undefined, undefined, undefined, previous, undefined, undefined, true)
                .catch((e: unknown) => { throw explain(`read the ${container} log of pod ${namespace}/${pod}`, e); });
            return typeof res.body === "string" ? res.body : String(res.body ?? "");
        },
    };
}
