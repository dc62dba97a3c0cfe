// dvm: one migration wave between one cluster pair. Config + wave file -> validated plan -> components.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./config/errors";
import { loadPlan } from "./config/load";
import { Plan } from "./config/plan";
import { MigrationWave } from "./components/wave";
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

const { plan, source, destination } = load();
const wave = new MigrationWave("wave", { plan, sourceKubeconfig: source, destinationKubeconfig: destination });

/** `{wave, pass, namespaces: {<ns>: {phase, target, pvcs: {<pvc>: <progress record>}}}}` */
export const migration = wave.migration;
