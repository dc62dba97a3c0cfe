// NamespaceMigration: one namespace of a wave — credentials, the destination side, the source side, and the
// progress record that waits for the transfer and becomes part of the `migration` stack output.
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { NamespacePlan, Plan } from "../config/plan";
import { ProgressRecord, TransferProgress } from "../progress/resource";
import { CopiedMarker, DestinationTransfer, destinationNamespace } from "./destination";
import { ImageCopy, ImageMigration, ImageRecord } from "./images";
import { transferNames } from "./names";
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
}

export interface NamespaceResult {
    phase: string;
    target: string;
    pvcs: Record<string, ProgressRecord>;
    /** With dvm:images only: one record per image copy. */
    images?: ImageRecord[];
}

export class NamespaceMigration extends pulumi.ComponentResource {
    public readonly result: pulumi.Output<NamespaceResult>;
    /** Done when this namespace's transfer is (the completion gate a later namespace of the same lane waits for). */
    /** The transfer's progress record; none for a namespace that only moves images. */
    public readonly progress?: TransferProgress;

    constructor(name: string, args: NamespaceMigrationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dvm:index:NamespaceMigration", name, {}, opts);
        const { plan, namespace: ns } = args;
        if (ns.pvcs.length === 0) {
            this.result = this.imagesOnly(name, args);
            this.registerOutputs({ result: this.result });
            return;
        }
        const names = transferNames(plan.wave.name, ns.target, plan.pass);
        const stackId = `${pulumi.getProject()}/${pulumi.getStack()}`;

        // Stable across `pulumi up` runs; new keys only when dvm:credentialsVersion changes.
        const credentials = new GeneratedCredentials(`${name}-credentials`, {
            version: plan.credentialsVersion,
            scope: `${plan.wave.name}/${ns.source}`,
        }, { parent: this });

        const destination = new DestinationTransfer(`${name}-dst`, {
            wave: plan.wave.name, namespace: ns, names, endpoint: plan.destination.endpoint, security: plan.security,
            resources: plan.resources, transferImage: plan.transferImage, credentials, provider: args.destinationProvider,
            render: plan.render !== undefined, pass: plan.pass, rsyncTimeout: plan.rsync.timeout, stackId,
        }, { parent: this });

        const source = new SourceTransfer(`${name}-src`, {
            plan, wave: plan.wave.name, namespace: ns, names, address: destination.address,
            after: args.waitFor ? [args.waitFor] : [],
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
        }, { parent: this, dependsOn: [source] });

        // the destination PVCs say which pass copied into them completely (not in render mode: nothing is copied)
        if (plan.render === undefined) {
            new CopiedMarker(`${name}-copied`, {
                wave: plan.wave.name, pass: plan.pass, namespace: ns, provider: args.destinationProvider, after: [progress],
            }, { parent: this });
        }

        const images = this.images(name, args, destination.namespace);
        this.result = pulumi.all([progress.phase, progress.pvcs, images]).apply(([phase, pvcs, images]) => ({ phase, target: ns.target, pvcs, ...(images ? { images } : {}) }));
        this.registerOutputs({ result: this.result });
    }

    /** The image copies of the namespace (dvm:images), after its destination namespace exists. */
    private images(name: string, args: NamespaceMigrationArgs, target: pulumi.Resource): pulumi.Output<ImageRecord[] | undefined> {
        if (!args.plan.images || !args.images) return pulumi.output(undefined);
        return new ImageMigration(`${name}-images`, {
            images: args.plan.images, copies: args.images.copies, provider: args.images.provider, after: [target],
        }, { parent: this }).images;
    }

    /** A namespace that only moves images: its destination namespace, then the copies. */
    private imagesOnly(name: string, args: NamespaceMigrationArgs): pulumi.Output<NamespaceResult> {
        const { plan, namespace: ns } = args;
        const target = destinationNamespace(`${name}-dst`, ns, { parent: this, provider: args.destinationProvider });
        return this.images(name, args, target).apply((images): NamespaceResult => ({
            phase: plan.render !== undefined ? "Rendered" : "Succeeded", target: ns.target, pvcs: {}, ...(images ? { images } : {}),
        }));
    }
}
