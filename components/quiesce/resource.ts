// SourceQuiesce (cutover) and SourceRestore (rollback): one per namespace of the wave in that mode. The source
// transfer Job of a cutover depends on its SourceQuiesce, so the final pass starts only once no pod mounts a PVC of
// the wave. The implementation is the dynamic provider in provider.ts.
import * as pulumi from "@pulumi/pulumi";
import type { QuiesceScope } from "./select";
import type { QuiescedWorkload } from "./rules";
import { makeQuiesceProvider, makeRestoreProvider, WorkloadApiFactory } from "./provider";

export interface SourceQuiesceArgs {
    /** SOURCE cluster kubeconfig CONTENT (or a file path), as a Pulumi secret; kept out of the outputs. */
    kubeconfig: pulumi.Input<string>;
    context?: pulumi.Input<string>;
    namespace: pulumi.Input<string>;
    wave: pulumi.Input<string>;
    pass: pulumi.Input<number>;
    /** Source PVC names of the wave in this namespace. */
    pvcs: pulumi.Input<pulumi.Input<string>[]>;
    scope: pulumi.Input<QuiesceScope>;
    timeoutSeconds: pulumi.Input<number>;
    /** Render mode: touch no cluster. */
    render: pulumi.Input<boolean>;
}

/** Tests only: a fake cluster instead of @kubernetes/client-node. */
export interface SourceQuiesceTestOptions {
    factory?: WorkloadApiFactory;
    pollSeconds?: number;
}

function props(args: SourceQuiesceArgs, test?: SourceQuiesceTestOptions) {
    return {
        // a secret in the state's inputs even if the caller forgot to mark it; never an output
        kubeconfig: pulumi.secret(pulumi.output(args.kubeconfig).apply((k) => k ?? "")),
        context: args.context ?? "",
        namespace: args.namespace,
        wave: args.wave,
        pass: args.pass,
        pvcs: args.pvcs,
        scope: args.scope,
        timeoutSeconds: args.timeoutSeconds,
        render: args.render,
        ...(test?.pollSeconds !== undefined ? { pollSeconds: test.pollSeconds } : {}),
        // outputs
        phase: undefined,
        quiesced: undefined,
        workloads: undefined,
        mode: undefined,
    };
}

function withSecretKubeconfig(opts?: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions {
    return { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "kubeconfig"] };
}

export class SourceQuiesce extends pulumi.dynamic.Resource {
    /** Quiesced, Failed or Rendered. */
    public readonly phase!: pulumi.Output<string>;
    /** Every workload the wave quiesced holds its quiesced value and no pod mounts a PVC of the wave. */
    public readonly quiesced!: pulumi.Output<boolean>;
    public readonly workloads!: pulumi.Output<QuiescedWorkload[]>;

    constructor(name: string, args: SourceQuiesceArgs, opts?: pulumi.CustomResourceOptions, test?: SourceQuiesceTestOptions) {
        super(test?.factory ? makeQuiesceProvider(test.factory) : sharedQuiesce(), name, props(args, test), withSecretKubeconfig(opts), "quiesce", "SourceQuiesce");
    }
}

export class SourceRestore extends pulumi.dynamic.Resource {
    /** Restored, Failed or Rendered. */
    public readonly phase!: pulumi.Output<string>;
    public readonly quiesced!: pulumi.Output<boolean>;
    /** What the rollback wrote back (restored) or left as someone changed it (kept). */
    public readonly workloads!: pulumi.Output<QuiescedWorkload[]>;

    constructor(name: string, args: SourceQuiesceArgs, opts?: pulumi.CustomResourceOptions, test?: SourceQuiesceTestOptions) {
        super(test?.factory ? makeRestoreProvider(test.factory) : sharedRestore(), name, props(args, test), withSecretKubeconfig(opts), "quiesce", "SourceRestore");
    }
}

// One provider object per kind for every namespace: serialized once per program (see progress/resource.ts).
let quiesceProvider: ReturnType<typeof makeQuiesceProvider> | undefined;
let restoreProvider: ReturnType<typeof makeRestoreProvider> | undefined;
function sharedQuiesce(): ReturnType<typeof makeQuiesceProvider> {
    quiesceProvider ??= makeQuiesceProvider();
    return quiesceProvider;
}
function sharedRestore(): ReturnType<typeof makeRestoreProvider> {
    restoreProvider ??= makeRestoreProvider();
    return restoreProvider;
}
