// `dvm status`: the table recorded in the stack output `migration`.
import { Flags } from "./flags";
import { StatusRecord, statusTable } from "./format";
import { pulumi } from "./stack";

export function status(f: Flags, out: NodeJS.WriteStream): number {
    // --show-secrets: the records hold no secrets (lines are scrubbed), but the engine may mark the output secret
    // because the progress resource had a secret input (the source kubeconfig)
    const text = pulumi(["stack", "output", "--json", "--show-secrets", "migration"], f.stack);
    const migration = JSON.parse(text);
    if (f.json) out.write(`${JSON.stringify(migration, null, 2)}\n`);
    else out.write(`${statusTable(migration)}\n`);
    const phases = Object.values(migration.namespaces ?? {}).flatMap((n) => Object.values((n as { pvcs?: Record<string, StatusRecord> }).pvcs ?? {}).map((r) => r.phase));
    return phases.includes("Failed") ? 1 : 0;
}
