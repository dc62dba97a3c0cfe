// SourceTransfer: one combined "source transfer pod" per namespace on the source cluster — an `rsync` container and a
// `stunnel` container sharing the emptyDir `rsync-stunnel-ipc`, every source PVC mounted read-only — run by a Job.
// Source PVCs are only referenced by name, never declared as resources: nothing dvm does can delete or change them.
//
// Retries: attempts happen inside the pod (rsync-client.sh: increasing delay, resume with --partial, fail fast on
// errors that cannot heal), so one log shows every attempt and progress is followed in one stream. The Job adds
// what a pod cannot do for itself: a new pod after an eviction or node loss (backoffLimit), a hard deadline, and a
// podFailurePolicy that fails the Job at once when the rsync container has given up (and starts another pod when a
// signal ended it: a deleted or killed pod is a disruption, not rsync's verdict).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { NamespacePlan, Plan } from "../config/plan";
import { baseLabels, childOpts, containerResources, contentHash, pick, supportMounts, supportObjects, supportVolumes } from "./common";
import { EndpointAddress } from "./endpoint";
import {
    ANNOTATIONS, CONFIG_FILES, CONTAINERS, IPC_DIR, IPC_VOLUME, LABELS, MIGRATION_MODES, ROLE_SOURCE, SCRIPTS_DIR, SCRIPT_FILES,
    SECRET_KEYS, SIGNAL_EXIT_CODES, SOURCE_ROOT, TUNNEL_PORT,
} from "../contract";
import { TransferNames } from "./names";
import { scriptFiles } from "./scripts";
import { containerSecurityContext, podSecurityContext, podSecurityLabels } from "./security";
import { rsyncClientArgs } from "./transfer/rsync";
import { GeneratedCredentials } from "./transport/credentialsResource";
import { renderStunnelClientConf } from "./transport/stunnel";

/** Pod-level retries (a deleted or killed pod, node loss) of the Job; transfer retries happen inside the pod. */
export const JOB_POD_RETRIES = 2;

export interface SourceTransferArgs {
    plan: Pick<Plan, "rsync" | "security" | "resources" | "transferImage" | "stunnelWaitSeconds" | "transferTimeoutMinutes" | "pass" | "debugHoldSeconds"> &
        Partial<Pick<Plan, "migration">>;
    wave: string;
    namespace: NamespacePlan;
    names: TransferNames;
    /** The destination endpoint; the Job is created once it is known. It does not wait for the destination pod to be
     * ready: the rsync container's tunnel probe waits for the rsync daemon's greeting, so both pods start together. */
    address: pulumi.Output<EndpointAddress>;
    /** The Job is created only after these (an earlier namespace's transfer: dvm:maxConcurrentNamespaces). */
    after: pulumi.Resource[];
    credentials: GeneratedCredentials;
    provider: k8s.Provider;
    /** `<project>/<stack>` (ANNOTATIONS.stack on every object), so a clash with another stack can be named. */
    stackId?: string;
}

export class SourceTransfer extends pulumi.ComponentResource {
    public readonly jobName: pulumi.Output<string>;
    public readonly job: k8s.batch.v1.Job;

    constructor(name: string, args: SourceTransferArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dvm:source:SourceTransfer", name, {}, opts);
        const { namespace: ns, names, plan, provider } = args;
        const labels = baseLabels(args.wave, ns.source);
        const annotations: Record<string, string> = args.stackId ? { [ANNOTATIONS.stack]: args.stackId } : {};
        const opt = (extra: pulumi.CustomResourceOptions = {}) => childOpts(this, provider, extra);
        const nsName = ns.source;

        // Root/privileged pods need a namespace that admits them; the source namespace is not ours, so only its
        // labels are patched (and the patch is undone when the wave is removed).
        const psa = podSecurityLabels(plan.security);
        const deps: pulumi.Resource[] = [];
        if (Object.keys(psa).length > 0) {
            deps.push(new k8s.core.v1.NamespacePatch(`${name}-namespace-psa`, {
                // one annotation key per wave: another wave patching the same namespace owns its own (server-side
                // apply would fail on two waves setting one key to two values; the labels' values are the same)
                metadata: { name: nsName, labels: psa, annotations: { [`${ANNOTATIONS.psaPatchedBy}.${args.wave}`]: `wave ${args.wave}` } },
            }, opt()));
        }

        const creds = args.credentials;
        const scripts = pick(scriptFiles(), [SCRIPT_FILES.rsyncClient, SCRIPT_FILES.rsyncClientPvc, SCRIPT_FILES.stunnelClient, SCRIPT_FILES.imageCheck]);
        const clientConf = args.address.apply((a) => renderStunnelClientConf({ connectHost: a.host, connectPort: a.port, sni: a.sni }));
        deps.push(...supportObjects(name, {
            namespace: nsName, names, labels, annotations, credentials: creds, scripts, config: { [CONFIG_FILES.stunnelClient]: clientConf }, opts: opt(),
            // the PSK and the client password; never the daemon's secrets file
            secretKeys: [SECRET_KEYS.psk, SECRET_KEYS.rsyncPassword],
        }));

        // a cutover's final pass says so (and an rsync exit 24 fails it: nothing may change once the source is quiesced)
        const cutover = plan.migration === MIGRATION_MODES.cutover;
        const podLabels = { ...labels, [LABELS.role]: ROLE_SOURCE, [LABELS.pass]: String(plan.pass), ...(cutover ? { [LABELS.migration]: MIGRATION_MODES.cutover } : {}) };
        const containerSecurity = containerSecurityContext(plan.security);
        const sourceVolumes = ns.pvcs.map((pvc, i) => ({ name: `source-${i}`, persistentVolumeClaim: { claimName: pvc.source, readOnly: true } }));
        const sourceMounts = ns.pvcs.map((pvc, i) => ({ name: `source-${i}`, mountPath: `${SOURCE_ROOT}/${pvc.source}`, readOnly: true }));
        const ipcMount = { name: IPC_VOLUME, mountPath: IPC_DIR };
        const env = [
            { name: "DVM_STUNNEL_WAIT_SECONDS", value: String(plan.stunnelWaitSeconds) },
            { name: "DVM_BACKOFF_LIMIT", value: String(plan.rsync.backoffLimit) },
            { name: "DVM_RETRY_BASE_SECONDS", value: String(plan.rsync.retryDelaySeconds) },
            { name: "DVM_RETRY_MAX_SECONDS", value: String(plan.rsync.retryMaxDelaySeconds) },
            { name: "DVM_TUNNEL_PORT", value: String(TUNNEL_PORT) },
            { name: "DVM_IPC_DIR", value: IPC_DIR },
            { name: "DVM_DEBUG_HOLD_SECONDS", value: String(plan.debugHoldSeconds) },
            ...(cutover ? [{ name: "DVM_MIGRATION_MODE", value: MIGRATION_MODES.cutover }] : []),
        ];
        const rollout = pulumi.all([clientConf, creds.version]).apply(([conf, v]) => contentHash({ scripts, conf, credentialsVersion: v }));

        this.job = new k8s.batch.v1.Job(`${name}-job`, {
            metadata: {
                name: names.job,
                namespace: nsName,
                labels: podLabels,
                // The progress resource waits for the Job and fails `pulumi up` with the rsync reason; the provider's
                // own Job await would only say "failed" (and time out after 10 minutes on long transfers).
                annotations: { ...annotations, "pulumi.com/skipAwait": "true" },
            },
            spec: {
                backoffLimit: JOB_POD_RETRIES,
                activeDeadlineSeconds: plan.transferTimeoutMinutes * 60,
                podFailurePolicy: {
                    // Rules are evaluated in order: a disruption first (an evicted pod's rsync exits 143, which the
                    // FailJob rule would otherwise take as rsync giving up).
                    rules: [
                        // evictions, preemptions, node drains: try again in a new pod without counting
                        { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
                        // a signal ended rsync-client.sh (`kubectl delete pod`: 143; SIGKILL, the OOM killer: 137): the
                        // pod was stopped from outside, the next one resumes - counted, so backoffLimit bounds it
                        { action: "Count", onExitCodes: { containerName: CONTAINERS.rsync, operator: "In", values: [...SIGNAL_EXIT_CODES] } },
                        // the rsync container only exits non-zero after its own retries gave up (or on a fatal error)
                        { action: "FailJob", onExitCodes: { containerName: CONTAINERS.rsync, operator: "NotIn", values: [0] } },
                    ],
                },
                template: {
                    metadata: { labels: podLabels, annotations: { [ANNOTATIONS.rollout]: rollout } },
                    spec: {
                        restartPolicy: "Never",
                        ...(ns.nodeName ? { nodeName: ns.nodeName } : {}),
                        securityContext: podSecurityContext(plan.security, "source"),
                        automountServiceAccountToken: false,
                        enableServiceLinks: false,
                        terminationGracePeriodSeconds: 10,
                        containers: [
                            {
                                name: CONTAINERS.rsync,
                                image: plan.transferImage,
                                command: ["/bin/bash", `${SCRIPTS_DIR}/${SCRIPT_FILES.rsyncClient}`],
                                // options and PVCs as separate argv words: never interpolated into a shell string
                                args: rsyncClientArgs(plan.rsync, ns.pvcs, { destinationChroot: plan.security.runAsRoot }),
                                env,
                                securityContext: containerSecurity,
                                resources: containerResources(plan.resources.rsync),
                                volumeMounts: [...supportMounts(), ipcMount, ...sourceMounts],
                            },
                            {
                                name: CONTAINERS.stunnel,
                                image: plan.transferImage,
                                command: ["/bin/bash", `${SCRIPTS_DIR}/${SCRIPT_FILES.stunnelClient}`],
                                env: [{ name: "DVM_IPC_DIR", value: IPC_DIR }],
                                securityContext: containerSecurity,
                                resources: containerResources(plan.resources.stunnel),
                                volumeMounts: [...supportMounts(), ipcMount],
                            },
                        ],
                        // The source pod has no fsGroup (so nothing on a source volume changes owner): the Secret
                        // files must be readable by the transfer user as they are; rsync-client.sh makes the private
                        // copy rsync insists on.
                        volumes: [...supportVolumes(names, 0o444), { name: IPC_VOLUME, emptyDir: {} }, ...sourceVolumes],
                    },
                },
            },
        }, opt({ dependsOn: [...deps, ...args.after], deleteBeforeReplace: true }));
        this.jobName = this.job.metadata.name;
        this.registerOutputs({ jobName: this.jobName });
    }
}
