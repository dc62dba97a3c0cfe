// NamespaceMigration: one namespace of a wave — credentials, the destination side, the source side, and the
// progress record that waits for the transfer and becomes part of the `migration` stack output.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MigrationMode, NamespacePlan, Plan } from "../config/plan";
import { MIGRATION_MODES } from "../contract";
import { ProgressRecord, TransferProgress } from "../progress/resource";
import { DestinationTransfer } from "./destination";
import { transferNames } from "./names";
import { NamespaceDecision, QuiescedWorkload } from "./quiesce";
import { SourceQuiesce, SourceRestore } from "./quiesce/resource";
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
    /** What the program decided from the source namespace it read (placement, the cutover's preview, what the wave
     * quiesced); undefined when it read nothing (render mode). */
    decision?: NamespaceDecision;
}

export interface NamespaceResult {
    phase: string;
    target: string;
    pvcs: Record<string, ProgressRecord>;
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
        // a cutover's final pass starts only once no pod mounts a PVC of the wave
        const quiesce = mode === MIGRATION_MODES.cutover ? new SourceQuiesce(`${name}-quiesce`, quiesceArgs, { parent: this }) : undefined;
        const decision = args.decision;
        if (decision && decision.preview.length > 0) {
            pulumi.log.info(`dvm: the cutover quiesces in namespace ${ns.source}:\n  ${decision.preview.join("\n  ")}`, this);
        }
        const placement = decision?.placement ?? (ns.nodeName ? { nodeName: ns.nodeName, why: "nodeName of the wave file" } : {});
        if (placement.nodeName && !ns.nodeName) pulumi.log.info(`dvm: source transfer pod of namespace ${ns.source} on node ${placement.nodeName}: ${placement.why}`, this);
        const names = transferNames(plan.wave.name, ns.target, plan.pass, mode);

        // Stable across `pulumi up` runs; new keys only when dvm:credentialsVersion changes.
        const credentials = new GeneratedCredentials(`${name}-credentials`, {
            version: plan.credentialsVersion,
            scope: `${plan.wave.name}/${ns.source}`,
        }, { parent: this });

        const destination = new DestinationTransfer(`${name}-dst`, {
            wave: plan.wave.name, namespace: ns, names, endpoint: plan.destination.endpoint, security: plan.security,
            resources: plan.resources, transferImage: plan.transferImage, credentials, provider: args.destinationProvider,
            render: plan.render !== undefined,
        }, { parent: this });

        const source = new SourceTransfer(`${name}-src`, {
            plan, wave: plan.wave.name, namespace: { ...ns, nodeName: placement.nodeName }, names, address: destination.address,
            after: [destination, ...(quiesce ? [quiesce] : [])],
            credentials, provider: args.sourceProvider,
        }, { parent: this });

        const progress = new TransferProgress(`${name}-progress`, {
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

        const sourceNode = placement.nodeName ? { sourceNode: { name: placement.nodeName, why: placement.why ?? "" } } : {};
        this.result = pulumi.all([progress.phase, progress.pvcs, quiesce?.quiesced ?? decision?.quiesced ?? false, quiesce?.workloads ?? decision?.workloads ?? []])
            .apply(([phase, pvcs, quiesced, workloads]): NamespaceResult => ({
                phase, target: ns.target, pvcs, mode, quiesced, workloads: workloads as QuiescedWorkload[], ...sourceNode,
            }));
        this.registerOutputs({ result: this.result });
    }
}
