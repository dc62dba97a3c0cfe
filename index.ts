// dvm: one migration wave between one cluster pair. Config + wave file -> validated plan -> components.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./config/errors";
import { loadPlan } from "./config/load";
import { Plan } from "./config/plan";
import { checkClusters, kubeReader } from "./components/preflight";
import { readSourceViews, SourceViews } from "./components/quiesce";
import { kubeWorkloadApi } from "./components/quiesce/cluster";
import { MigrationWave, SourceStateError } from "./components/wave";
import { resolveKubeconfig } from "./kube";

// Which config keys hold secrets: the SDK's own record (runtime/config, not in its typings; @pulumi/pulumi is pinned).
const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as { isConfigSecret: (key: string) => boolean };

function load(): { plan: Plan; source?: string; destination?: string } {
    const projectDir = process.cwd();
    try {
        const plan = loadPlan({ config: pulumi.runtime.allConfig(), projectDir, isSecret: isConfigSecret });
        if (plan.render !== undefined) return { plan };
        const read = (side: "source" | "destination") => {
            try {
                return resolveKubeconfig(plan[side], projectDir);
            } catch (e) {
                throw new ConfigError([{
                    where: `dvm:${side}`,
                    what: `cannot read the ${side} cluster's kubeconfig: ${(e as Error).message}`,
                    example: `pulumi config set --secret --path dvm:${side}.kubeconfig "$(cat ~/.kube/${side}.yaml)"`,
                }]);
            }
        };
        return { plan, source: read("source"), destination: read("destination") };
    } catch (e) {
        // RunError: the message is shown as is, without a Node stack trace
        if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
        throw e;
    }
}

/** What the clusters already hold, before anything is declared: another stack's objects under this wave's names
 * fail the run with a ConfigError; a removed wave whose copy never succeeded is a warning (components/preflight.ts).
 * Returns the destination PVCs this stack made that the cluster holds (re-adopted with force). */
async function check(plan: Plan, source: string, destination: string): Promise<string[]> {
    const stackId = `${pulumi.getProject()}/${pulumi.getStack()}`;
    try {
        const { warnings, ownClaims } = await checkClusters(plan, stackId,
            kubeReader(source, plan.source.context, "source"), kubeReader(destination, plan.destination.context, "destination"));
        for (const w of warnings) pulumi.log.warn(w);
        return ownClaims;
    } catch (e) {
        if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
        // a convenience, not a gate: server-side apply still refuses a real clash, if less clearly (and a retained
        // PVC is not re-adopted: its apply fails on the field conflict rather than force)
        pulumi.log.warn(`dvm: could not check the clusters for other stacks' objects and removed waves: ${(e as Error).message}`);
        return [];
    }
}

/** The source namespaces as they are now (where an RWO volume is in use, what a cutover will quiesce), read before
 * anything is declared; nothing in render mode. */
async function readSource(plan: Plan, kubeconfig: string | undefined): Promise<SourceViews | undefined> {
    if (plan.render !== undefined) return undefined;
    try {
        return await readSourceViews(plan, kubeWorkloadApi(kubeconfig, plan.source.context), (m) => { void pulumi.log.warn(m); });
    } catch (e) {
        throw new pulumi.RunError((e as Error).message);
    }
}

export = async () => {
    const { plan, source, destination } = load();
    const ownClaims = plan.render === undefined ? await check(plan, source!, destination!) : [];
    const sourceViews = await readSource(plan, source);
    let wave: MigrationWave;
    try {
        wave = new MigrationWave("wave", { plan, sourceKubeconfig: source, destinationKubeconfig: destination, sourceViews, ownClaims });
    } catch (e) {
        if (e instanceof SourceStateError) throw new pulumi.RunError(e.message);
        throw e;
    }
    /** `{wave, pass, mode, namespaces: {<ns>: {phase, target, pvcs: {<pvc>: <progress record>}, mode, quiesced, workloads, images?}}}` */
    return { migration: wave.migration };
};
