// NamespaceMigration: one namespace of a wave — credentials, the destination side, the source side, and the
// progress record that waits for the transfer and becomes part of the `migration` stack output.
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MigrationMode, NamespacePlan, Plan } from "../config/plan";
import { MIGRATION_MODES } from "../contract";
import { ProgressRecord, TransferProgress } from "../progress/resource";
import { CopiedMarker, DestinationTransfer, destinationNamespace } from "./destination";
import { ImageCopy, ImageMigration, ImageRecord } from "./images";
import { transferNames } from "./names";
import { NamespaceDecision, QuiescedWorkload } from "./quiesce";
import { SourceQuiesce, SourceQuiesceArgs, SourceRestore } from "./quiesce/resource";
import { SourceTransfer } from "./source";
import { GeneratedCredentials } from "./transport/credentialsResource";

export interface NamespaceMigrationArgs {
    plan: Plan;
    namespace: NamespacePlan;
    sourceProvider: k8s.Provider;
    destinationProvider: k8s.Provider;
    /** Source cluster kubeconfig content (a Pulumi secret) for the progress reader; empty in render mode. */
    sourceKubeconfig: pulumi.Output<string>;
    sourceContext?: string;
    /** The transfer of an earlier namespace this one's source Job waits for (dvm:maxConcurrentNamespaces). */
    waitFor?: pulumi.Resource;
    /** dvm:images: this namespace's copies and the command provider (none in render mode). */
    images?: { copies: Promise<ImageCopy[]>; provider?: command.Provider };
    /** What the program decided from the source namespace it read (placement, the cutover's preview, what the wave
     * quiesced); undefined when it read nothing (render mode). */
    decision?: NamespaceDecision;
    /** The names of this namespace's destination PVCs that this stack made and the cluster holds now. */
    ownClaims?: string[];
}

export interface NamespaceResult {
    phase: string;
    target: string;
    pvcs: Record<string, ProgressRecord>;
    /** With dvm:images only: one record per image copy. */
    images?: ImageRecord[];
    /** dvm:migration of this `pulumi up`. */
    mode: MigrationMode;
    /** Whether the source workloads of the wave are quiesced (as this `pulumi up` left or found them). */
    quiesced: boolean;
    /** What the cutover quiesced (with the saved values), what the rollback restored, or - on a stage pass - what an
     * earlier cutover of the wave left quiesced. */
    workloads: QuiescedWorkload[];
    /** The node the source transfer pod was placed on, and why (the wave's nodeName, or an RWO PVC in use there). */
    sourceNode?: { name: string; why: string };
}

export class NamespaceMigration extends pulumi.ComponentResource {
    public readonly result: pulumi.Output<NamespaceResult>;
    /** Done when this namespace's transfer is (the completion gate a later namespace of the same lane waits for). */
    /** The transfer's progress record; none for a namespace that only moves images. */
    public readonly progress?: TransferProgress;

    constructor(name: string, args: NamespaceMigrationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dvm:index:NamespaceMigration", name, {}, opts);
        const { plan, namespace: ns } = args;
        const mode: MigrationMode = plan.migration;
        const render = plan.render !== undefined;
        const quiesceArgs = {
            kubeconfig: args.sourceKubeconfig, context: args.sourceContext, namespace: ns.source, wave: plan.wave.name, pass: plan.pass,
            pvcs: ns.pvcs.map((p) => p.source), scope: plan.quiesce.scope, timeoutSeconds: plan.quiesce.timeoutSeconds, render,
        };
        if (mode === MIGRATION_MODES.rollback) {
            // the source workloads back; no transfer objects (the destination namespace and PVCs stay: retained)
            const restore = new SourceRestore(`${name}-restore`, quiesceArgs, { parent: this });
            this.result = pulumi.all([restore.phase, restore.quiesced, restore.workloads]).apply(([phase, quiesced, workloads]): NamespaceResult => ({
                phase, target: ns.target, pvcs: {}, mode, quiesced, workloads: workloads as QuiescedWorkload[],
            }));
            this.registerOutputs({ result: this.result });
            return;
        }
        if (ns.pvcs.length === 0) {
            this.result = this.imagesOnly(name, args, quiesceArgs);
            this.registerOutputs({ result: this.result });
            return;
        }
        // a cutover's final pass starts only once no pod mounts a PVC of the wave
        const quiesce = this.quiesce(name, args, quiesceArgs, mode === MIGRATION_MODES.cutover);
        const decision = args.decision;
        const placement = decision?.placement ?? (ns.nodeName ? { nodeName: ns.nodeName, why: "nodeName of the wave file" } : {});
        if (placement.nodeName && !ns.nodeName) pulumi.log.info(`dvm: source transfer pod of namespace ${ns.source} on node ${placement.nodeName}: ${placement.why}`, this);
        const names = transferNames(plan.wave.name, ns.target, plan.pass, mode);
        const stackId = `${pulumi.getProject()}/${pulumi.getStack()}`;

        // Stable across `pulumi up` runs; new keys only when dvm:credentialsVersion changes.
        const credentials = new GeneratedCredentials(`${name}-credentials`, {
            version: plan.credentialsVersion,
            scope: `${plan.wave.name}/${ns.source}`,
        }, { parent: this });

        const destination = new DestinationTransfer(`${name}-dst`, {
            wave: plan.wave.name, namespace: ns, names, endpoint: plan.destination.endpoint, security: plan.security,
            resources: plan.resources, transferImage: plan.transferImage, credentials, provider: args.destinationProvider,
            render: plan.render !== undefined, pass: plan.pass, rsyncTimeout: plan.rsync.timeout, stackId, ownClaims: args.ownClaims,
        }, { parent: this });

        const source = new SourceTransfer(`${name}-src`, {
            plan, wave: plan.wave.name, namespace: { ...ns, nodeName: placement.nodeName }, names, address: destination.address,
            after: [...(args.waitFor ? [args.waitFor] : []), ...(quiesce ? [quiesce] : [])],
            credentials, provider: args.sourceProvider, stackId,
        }, { parent: this });

        const progress = this.progress = new TransferProgress(`${name}-progress`, {
            kubeconfig: args.sourceKubeconfig,
            context: args.sourceContext,
            namespace: ns.source,
            jobName: source.jobName,
            pvcs: ns.pvcs.map((p) => ({ source: p.source, target: p.target })),
            wave: plan.wave.name,
            pass: plan.pass,
            render: plan.render !== undefined,
            timeoutSeconds: plan.transferTimeoutMinutes * 60,
            ...(quiesce ? { mode } : {}),
        }, { parent: this, dependsOn: [source] });

        // the destination PVCs say which pass copied into them completely (not in render mode: nothing is copied)
        if (plan.render === undefined) {
            new CopiedMarker(`${name}-copied`, {
                wave: plan.wave.name, pass: plan.pass, namespace: ns, provider: args.destinationProvider, after: [progress],
            }, { parent: this });
        }

        const images = this.images(name, args, destination.namespace);
        const sourceNode = placement.nodeName ? { sourceNode: { name: placement.nodeName, why: placement.why ?? "" } } : {};
        this.result = pulumi.all([progress.phase, progress.pvcs, ...quiescedState(quiesce, decision), images])
            .apply(([phase, pvcs, quiesced, workloads, images]): NamespaceResult => ({
                phase, target: ns.target, pvcs, mode, quiesced, workloads: workloads as QuiescedWorkload[], ...sourceNode, ...(images ? { images } : {}),
            }));
        this.registerOutputs({ result: this.result });
    }

    /** The cutover's SourceQuiesce of the namespace when `stops`, its preview logged. */
    private quiesce(name: string, args: NamespaceMigrationArgs, quiesceArgs: SourceQuiesceArgs, stops: boolean): SourceQuiesce | undefined {
        if (!stops) return undefined;
        const preview = args.decision?.preview ?? [];
        if (preview.length > 0) pulumi.log.info(`dvm: the cutover quiesces in namespace ${args.namespace.source}:\n  ${preview.join("\n  ")}`, this);
        return new SourceQuiesce(`${name}-quiesce`, quiesceArgs, { parent: this });
    }

    /** The image copies of the namespace (dvm:images), after its destination namespace exists. */
    private images(name: string, args: NamespaceMigrationArgs, target: pulumi.Resource): pulumi.Output<ImageRecord[] | undefined> {
        if (!args.plan.images || !args.images) return pulumi.output(undefined);
        return new ImageMigration(`${name}-images`, {
            images: args.plan.images, copies: args.images.copies, provider: args.images.provider, after: [target],
        }, { parent: this }).images;
    }

    /** A namespace that only moves images: its destination namespace, then the copies. A cutover with dvm:quiesce
     * scope namespace also stops its workloads (scope pvcs: none mounts a PVC of the wave, nothing to stop). */
    private imagesOnly(name: string, args: NamespaceMigrationArgs, quiesceArgs: SourceQuiesceArgs): pulumi.Output<NamespaceResult> {
        const { plan, namespace: ns } = args;
        const target = destinationNamespace(`${name}-dst`, ns, { parent: this, provider: args.destinationProvider });
        const quiesce = this.quiesce(name, args, quiesceArgs, plan.migration === MIGRATION_MODES.cutover && plan.quiesce.scope === "namespace");
        // the copies run beside the quiesce, as beside a final pass: a digest names what is copied, whenever
        return pulumi.all([this.images(name, args, target), ...quiescedState(quiesce, args.decision)])
            .apply(([images, quiesced, workloads]): NamespaceResult => ({
                phase: plan.render !== undefined ? "Rendered" : "Succeeded", target: ns.target, pvcs: {}, mode: plan.migration, quiesced,
                workloads: workloads as QuiescedWorkload[], ...(images ? { images } : {}),
            }));
    }
}

/** Whether the namespace is quiesced and its workloads: from this run's quiesce, else as the program read them. */
function quiescedState(quiesce: SourceQuiesce | undefined, decision: NamespaceDecision | undefined): [pulumi.Input<boolean>, pulumi.Input<QuiescedWorkload[]>] {
    return [quiesce?.quiesced ?? decision?.quiesced ?? false, quiesce?.workloads ?? decision?.workloads ?? []];
}
