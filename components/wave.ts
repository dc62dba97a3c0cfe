// MigrationWave: one per `pulumi up`. Owns the two Kubernetes providers (or, in render mode, two providers that write
// manifests to directories) and one NamespaceMigration per namespace of the wave file.
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { ConfigError } from "../config/errors";
import { Plan } from "../config/plan";
import { ImagePlan, planImages, ResolveDeps } from "./images/resolve";
import { NamespaceMigration, NamespaceResult } from "./namespace";

export interface MigrationWaveArgs {
    plan: Plan;
    /** Kubeconfig contents (resolved from dvm:source/dvm:destination); unused in render mode. */
    sourceKubeconfig?: string;
    destinationKubeconfig?: string;
    /** Tests only: fakes for the registry and ImageStream reads of the image part. */
    imageDeps?: ResolveDeps;
}

export interface MigrationOutput {
    wave: string;
    pass: number;
    namespaces: Record<string, NamespaceResult>;
}

export class MigrationWave extends pulumi.ComponentResource {
    public readonly migration: pulumi.Output<MigrationOutput>;

    constructor(name: string, args: MigrationWaveArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dvm:index:MigrationWave", name, {}, opts);
        const { plan } = args;
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

        // dvm:images: which images to copy is read from the registries and the source cluster once, for every namespace
        let images: { plan: Promise<ImagePlan>; provider?: command.Provider } | undefined;
        if (plan.images) {
            const imagePlan = planImages(plan, args.sourceKubeconfig, args.imageDeps).catch((e) => {
                // shown as is, like the config errors of index.ts
                throw e instanceof ConfigError ? new pulumi.RunError(e.message) : e;
            });
            images = { plan: imagePlan, provider: plan.render === undefined ? new command.Provider("images", {}, { parent: this }) : undefined };
        }

        const namespaces = plan.namespaces.map((ns) => new NamespaceMigration(ns.source, {
            plan, namespace: ns, sourceProvider, destinationProvider,
            sourceKubeconfig: pulumi.secret(args.sourceKubeconfig ?? ""),
            sourceContext: plan.source.context,
            ...(images ? { images: { copies: images.plan.then((m) => m.get(ns.source) ?? []), provider: images.provider } } : {}),
        }, { parent: this }));

        this.migration = pulumi.all(namespaces.map((n) => n.result)).apply((results) => ({
            wave: plan.wave.name,
            pass: plan.pass,
            namespaces: Object.fromEntries(plan.namespaces.map((ns, i) => [ns.source, results[i]])),
        }));
        this.registerOutputs({ migration: this.migration });
    }
}
