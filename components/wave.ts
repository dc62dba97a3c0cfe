// MigrationWave: one per `pulumi up`. Owns the two Kubernetes providers (or, in render mode, two providers that write
// manifests to directories) and one NamespaceMigration per namespace of the wave file.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { MigrationMode, Plan } from "../config/plan";
import { NamespaceMigration, NamespaceResult } from "./namespace";
import { decideSource, SourceViews } from "./quiesce";

export interface MigrationWaveArgs {
    plan: Plan;
    /** Kubeconfig contents (resolved from dvm:source/dvm:destination); unused in render mode. */
    sourceKubeconfig?: string;
    destinationKubeconfig?: string;
    /** The source namespaces as the program read them before declaring anything (components/quiesce
     * readSourceViews); undefined in render mode. */
    sourceViews?: SourceViews;
}

export interface MigrationOutput {
    wave: string;
    pass: number;
    /** dvm:migration: stage, cutover or rollback. */
    mode: MigrationMode;
    namespaces: Record<string, NamespaceResult>;
}

/** The source cluster's state makes the wave impossible (RWO PVCs in use on different nodes, a pod a cutover cannot
 * stop): nothing was declared. */
export class SourceStateError extends Error {
    constructor(public readonly problems: string[]) {
        super(problems.join("\n"));
        this.name = "SourceStateError";
    }
}

export class MigrationWave extends pulumi.ComponentResource {
    public readonly migration: pulumi.Output<MigrationOutput>;

    constructor(name: string, args: MigrationWaveArgs, opts?: pulumi.ComponentResourceOptions) {
        const { plan } = args;
        // decided before anything is registered, so a refusal leaves nothing behind
        const { decisions, problems } = decideSource(plan, args.sourceViews);
        if (problems.length > 0) throw new SourceStateError(problems);
        super("dvm:index:MigrationWave", name, {}, opts);
        const provider = (side: "source" | "destination", kubeconfig: string | undefined, context: string | undefined) =>
            new k8s.Provider(`${side}`, plan.render !== undefined
                ? { renderYamlToDirectory: path.join(plan.render, side) }
                : {
                    kubeconfig: pulumi.secret(kubeconfig ?? ""),
                    ...(context ? { context } : {}),
                    // never the ambient cluster: the provider gets exactly the kubeconfig dvm resolved
                    enableServerSideApply: true,
                }, { parent: this });
        const sourceProvider = provider("source", args.sourceKubeconfig, plan.source.context);
        const destinationProvider = provider("destination", args.destinationKubeconfig, plan.destination.context);

        const namespaces = plan.namespaces.map((ns) => new NamespaceMigration(ns.source, {
            plan, namespace: ns, sourceProvider, destinationProvider,
            sourceKubeconfig: pulumi.secret(args.sourceKubeconfig ?? ""),
            sourceContext: plan.source.context,
            decision: args.sourceViews ? decisions[ns.source] : undefined,
        }, { parent: this }));

        this.migration = pulumi.all(namespaces.map((n) => n.result)).apply((results) => ({
            wave: plan.wave.name,
            pass: plan.pass,
            mode: plan.migration,
            namespaces: Object.fromEntries(plan.namespaces.map((ns, i) => [ns.source, results[i]])),
        }));
        this.registerOutputs({ migration: this.migration });
    }
}
