// TransferProgress: one per namespace and pass. Waits for the source transfer Job (the completion gate of
// `pulumi up`) and records DVMP-like progress per PVC; fails the update naming namespace, PVC, reason and the last
// rsync lines when a PVC fails. The implementation is the dynamic provider in provider.ts.
import * as pulumi from "@pulumi/pulumi";
import type { ProgressRecord } from "./parser";
import { makeProvider, SourceFactory } from "./provider";

export type { ProgressPhase, ProgressReason, ProgressRecord } from "./parser";

export interface TransferProgressArgs {
    /** SOURCE cluster kubeconfig CONTENT (or a file path), passed as a Pulumi secret; kept out of the outputs. */
    kubeconfig: pulumi.Input<string>;
    context?: pulumi.Input<string>;
    /** Source namespace. */
    namespace: pulumi.Input<string>;
    /** The source transfer batch/v1 Job (created with pulumi.com/skipAwait: "true"). */
    jobName: pulumi.Input<string>;
    pvcs: pulumi.Input<pulumi.Input<{ source: string; target: string }>[]>;
    wave: pulumi.Input<string>;
    /** A new pass => replace => wait/read again. */
    pass: pulumi.Input<number>;
    /** Render mode: record phase "Rendered" for every PVC, touch no cluster. */
    render: pulumi.Input<boolean>;
    timeoutSeconds: pulumi.Input<number>;
    /** `cutover` for a cutover's final pass (its failure message says how to roll back); unset: a stage pass. */
    mode?: pulumi.Input<string>;
}

/** Tests only: a fake cluster instead of @kubernetes/client-node. */
export interface TransferProgressTestOptions {
    sourceFactory?: SourceFactory;
    pollSeconds?: number;
}

export class TransferProgress extends pulumi.dynamic.Resource {
    /** Namespace phase: Pending, Running, Succeeded, Failed or Rendered. */
    public readonly phase!: pulumi.Output<string>;
    /** Progress records keyed by source PVC name. */
    public readonly pvcs!: pulumi.Output<Record<string, ProgressRecord>>;

    constructor(name: string, args: TransferProgressArgs, opts?: pulumi.CustomResourceOptions, test?: TransferProgressTestOptions) {
        const props = {
            // a secret in the state's inputs even if the caller forgot to mark it; never an output (see provider.ts)
            kubeconfig: pulumi.secret(pulumi.output(args.kubeconfig).apply((k) => k ?? "")),
            context: args.context ?? "",
            namespace: args.namespace,
            jobName: args.jobName,
            pvcs: args.pvcs,
            wave: args.wave,
            pass: args.pass,
            render: args.render,
            timeoutSeconds: args.timeoutSeconds,
            ...(args.mode !== undefined ? { mode: args.mode } : {}),
            ...(test?.pollSeconds !== undefined ? { pollSeconds: test.pollSeconds } : {}),
            // outputs
            phase: undefined,
            pvcPairs: undefined,
        };
        super(test?.sourceFactory ? makeProvider(test.sourceFactory) : sharedProvider(), name, props, {
            ...opts,
            additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "kubeconfig"],
        }, "progress", "TransferProgress");
    }
}

/** One provider object for every namespace: Pulumi caches the serialized closure per provider object, so sharing it
 * serializes the provider once per program instead of once per namespace (bench: 1000 PVCs, 0.75 of the time). */
let shared: ReturnType<typeof makeProvider> | undefined;
function sharedProvider(): ReturnType<typeof makeProvider> {
    shared ??= makeProvider();
    return shared;
}
