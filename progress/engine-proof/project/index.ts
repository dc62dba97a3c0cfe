// One TransferProgress, wired like components/namespace.ts wires it, for the real-engine proof. The resource module
// comes from DVM_PROGRESS_RESOURCE (the repo's progress/resource.ts): this project is copied to a temp dir.
import * as pulumi from "@pulumi/pulumi";

// eslint-disable-next-line @typescript-eslint/no-var-requires, @typescript-eslint/no-explicit-any
const { TransferProgress } = require(process.env.DVM_PROGRESS_RESOURCE as string) as { TransferProgress: any };
const cfg = new pulumi.Config();
const pass = cfg.requireNumber("pass");
const progress = new TransferProgress("billing-progress", {
    kubeconfig: cfg.requireSecret("kubeconfig"),
    namespace: "billing",
    jobName: cfg.require("jobName"),
    pvcs: [{ source: "postgresql", target: "postgresql" }, { source: "uploads", target: "uploads-new" }],
    wave: "wave-1",
    pass,
    render: cfg.getBoolean("render") ?? false,
    timeoutSeconds: 120,
});

export const migration = pulumi.all([progress.phase as pulumi.Output<string>, progress.pvcs as pulumi.Output<unknown>]).apply(([phase, pvcs]) => ({
    wave: "wave-1", pass, namespaces: { billing: { phase, target: "billing", pvcs } },
}));
