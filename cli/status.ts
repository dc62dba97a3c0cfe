// `dvm status`: the table recorded in the stack output `migration` - per PVC, and per namespace the mode and the
// source workloads a cutover quiesced; with --live also what the source cluster holds now.
import { savedState, workloadState } from "../components/quiesce/rules";
import { isAnnotationCopy } from "../components/quiesce/select";
import { kubeConfig } from "../kube";
import { readAllWorkloads, Workload } from "../kube/workloads";
import { Flags } from "./flags";
import { liveLines, StatusRecord, statusTable, StatusWorkload } from "./format";
import { pulumi, readStackSource, resolveSource } from "./stack";

export interface LiveRow { wave: string; namespace: string; workload: StatusWorkload }

/** The workloads that carry dvm's saved values, with the wave that quiesced them and their state now. */
export function liveRows(workloads: Workload[]): LiveRow[] {
    const rows: LiveRow[] = [];
    for (const w of workloads) {
        if (isAnnotationCopy(w, workloads.filter((x) => x.namespace === w.namespace))) continue;
        const st = workloadState(w.kind, w.object);
        if (st) rows.push({ wave: savedState(w.kind, w.object).wave ?? "?", namespace: w.namespace, workload: st });
    }
    return rows;
}

export async function status(f: Flags, out: NodeJS.WriteStream, read: (f: Flags) => Promise<{ from: string; workloads: Workload[] }> = readLive): Promise<number> {
    // --show-secrets: the records hold no secrets (lines are scrubbed), but the engine may mark the output secret
    // because the progress resource had a secret input (the source kubeconfig)
    const text = pulumi(["stack", "output", "--json", "--show-secrets", "migration"], f.stack);
    const migration = JSON.parse(text);
    const live = f.live ? await read(f) : undefined;
    const rows = live ? liveRows(live.workloads) : undefined;
    if (f.json) out.write(`${JSON.stringify(rows ? { ...migration, sourceNow: rows } : migration, null, 2)}\n`);
    else out.write(`${statusTable(migration)}${live ? `\n${liveLines(live.from, rows!).join("\n")}` : ""}\n`);
    const phases = Object.values(migration.namespaces ?? {}).flatMap((n) => Object.values((n as { pvcs?: Record<string, StatusRecord> }).pvcs ?? {}).map((r) => r.phase));
    return phases.includes("Failed") ? 1 : 0;
}

async function readLive(f: Flags): Promise<{ from: string; workloads: Workload[] }> {
    const src = resolveSource(f, readStackSource);
    const kc = kubeConfig({ kubeconfig: src.kubeconfig, context: src.context }, { ambient: true, what: "the source cluster" });
    try {
        return { from: `${src.from}${src.context ? `, context ${src.context}` : ""}`, workloads: await readAllWorkloads(kc) };
    } catch (e) {
        const err = e as { message?: string; body?: { message?: string } };
        throw new Error(`cannot read the source cluster (${src.from}): ${err.body?.message ?? err.message ?? String(e)}`);
    }
}
