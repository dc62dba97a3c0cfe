// MigrationWave: one per `pulumi up`. Owns the two Kubernetes providers (or, in render mode, two providers that write
// manifests to directories) and one NamespaceMigration per namespace of the wave file.
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { ConfigError } from "../config/errors";
import { MigrationMode, Plan } from "../config/plan";
import { transferTurns } from "./budget";
import { ImagePlan, planImages, ResolveDeps } from "./images/resolve";
import { NamespaceMigration, NamespaceResult } from "./namespace";
import { decideSource, SourceViews } from "./quiesce";

export interface MigrationWaveArgs {
    plan: Plan;
    /** Kubeconfig contents (resolved from dvm:source/dvm:destination); unused in render mode. */
    sourceKubeconfig?: string;
    destinationKubeconfig?: string;
    /** Tests only: fakes for the registry and ImageStream reads of the image part. */
    imageDeps?: ResolveDeps;
    /** The source namespaces as the program read them before declaring anything (components/quiesce
     * readSourceViews); undefined in render mode. */
    sourceViews?: SourceViews;
    /** The destination PVCs (`<namespace>/<name>`) this stack made that the cluster holds now (components/preflight
     * ownClaims): re-adopted with a forced apply. */
    ownClaims?: string[];
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
        // decided before anything is registered, so a refusal leaves nothing behind
        const { decisions, problems } = decideSource(args.plan, args.sourceViews);
        if (problems.length > 0) throw new SourceStateError(problems);
        super("dvm:index:MigrationWave", name, {}, opts);
        this.migration = withoutPromiseStacks(() => this.build(args, decisions));
        this.registerOutputs({ migration: this.migration });
    }

    private build(args: MigrationWaveArgs, decisions: ReturnType<typeof decideSource>["decisions"]): pulumi.Output<MigrationOutput> {
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

        // dvm:maxConcurrentNamespaces: a namespace's source Job may wait for an earlier namespace's transfer
        const turns = transferTurns(plan.namespaces, plan.maxConcurrentNamespaces);
        const namespaces: NamespaceMigration[] = [];
        plan.namespaces.forEach((ns, i) => namespaces.push(new NamespaceMigration(ns.source, {
            plan, namespace: ns, sourceProvider, destinationProvider,
            sourceKubeconfig: pulumi.secret(args.sourceKubeconfig ?? ""),
            sourceContext: plan.source.context,
            waitFor: turns[i] === undefined ? undefined : namespaces[turns[i]!].progress,
            ...(images ? { images: { copies: images.plan.then((m) => m.get(ns.source) ?? []), provider: images.provider } } : {}),
            decision: args.sourceViews ? decisions[ns.source] : undefined,
            ownClaims: (args.ownClaims ?? []).filter((c) => c.startsWith(`${ns.target}/`)).map((c) => c.slice(ns.target.length + 1)),
        }, { parent: this })));

        return pulumi.all(namespaces.map((n) => n.result)).apply((results) => ({
            wave: plan.wave.name,
            pass: plan.pass,
            mode: plan.migration,
            namespaces: Object.fromEntries(plan.namespaces.map((ns, i) => [ns.source, results[i]])),
        }));
    }
}

/**
 * Runs `build` with V8 recording no stack frames. Pulumi records `new Error().stack` on every promise it makes (read
 * only by its leak report with PULUMI_DEBUG_PROMISE_LEAKS) and source-map-support formats each one: about half the CPU
 * of constructing a large wave (bench/scale.ts experiment `stack-limit-0`). Resource source positions keep their
 * frames (Pulumi lifts the limit for them). An error thrown meanwhile says how to get its frames.
 */
export function withoutPromiseStacks<T>(build: () => T): T {
    if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return build();
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        return build();
    } catch (e) {
        if (e instanceof Error && !/\n\s+at /.test(e.stack ?? "")) {
            e.stack = `${e.stack ?? e.message}\n    (no stack frames: dvm records none while it declares the wave; PULUMI_DEBUG_PROMISE_LEAKS=1 records them)`;
        }
        throw e;
    } finally {
        Error.stackTraceLimit = limit;
    }
}
