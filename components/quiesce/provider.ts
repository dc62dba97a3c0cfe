// The dynamic providers behind SourceQuiesce (a cutover) and SourceRestore (a rollback), one of each per namespace
// and mode. Both do their work in create/update; delete does nothing on the cluster, on purpose: removing a
// cutover's resource (the next wave, another mode, `pulumi destroy`) must never bring the source applications back
// while the destination runs them too. Only a rollback (SourceRestore) does.
//
// Serialization: like progress/provider.ts - no module-level state, packages required inside functions, the
// kubeconfig only ever an input.
import { MIGRATION_MODES } from "../../contract";
import { kubeWorkloadApi, QuiesceInputs, QuiesceOutputs, quiesceNamespace, renderedQuiesce, restoreNamespace, WorkloadApi } from "./cluster";

/** Tests replace the cluster through `makeQuiesceProvider(factory)`. */
export type WorkloadApiFactory = (kubeconfig: string | undefined, context: string | undefined) => WorkloadApi;

/** A quiesce is checked again for another namespace, wave, pass, PVC set or scope, and after one that did not finish. */
export function diffQuiesce(olds: Partial<QuiesceOutputs>, news: QuiesceInputs, done: QuiesceOutputs["phase"]): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
    const replaces = olds.namespace !== news.namespace ? ["namespace"] : [];
    const set = (x: unknown) => JSON.stringify([...((x as string[] | undefined) ?? [])].sort());
    const changed = olds.wave !== news.wave || Number(olds.pass) !== Number(news.pass) || set(olds.pvcs) !== set(news.pvcs) ||
        olds.scope !== news.scope || !!(olds.phase === "Rendered") !== !!news.render;
    const unfinished = olds.phase !== done && olds.phase !== "Rendered";
    return { changes: replaces.length > 0 || changed || unfinished, replaces, deleteBeforeReplace: true };
}

function checkInputs(news: QuiesceInputs, kind: "quiesce" | "restore"): { property: string; reason: string }[] {
    const failures: { property: string; reason: string }[] = [];
    if (!news.namespace) failures.push({ property: "namespace", reason: "the source namespace is required" });
    if (!news.wave) failures.push({ property: "wave", reason: "the wave name is required" });
    // a restore finds its workloads by the wave's annotations, and the namespace scope quiesces all of them: only a
    // quiesce of the PVCs' workloads needs PVCs (a namespace that only moves images has none)
    if (!Array.isArray(news.pvcs)) failures.push({ property: "pvcs", reason: "the wave's source PVC names are required (a list)" });
    else if (kind === "quiesce" && news.scope !== "namespace" && news.pvcs.length === 0)
        failures.push({ property: "pvcs", reason: "the wave's source PVC names are required to quiesce their workloads (scope pvcs)" });
    if (!news.render && !(Number(news.timeoutSeconds) > 0)) failures.push({ property: "timeoutSeconds", reason: "must be > 0 (dvm:quiesce.timeoutSeconds)" });
    return failures;
}

/** Keeps the serialized provider in a failed resource's state (see progress/provider.ts keepProvider). */
async function keepProvider<T>(p: Promise<T>, inputs: QuiesceInputs): Promise<T> {
    try {
        return await p;
    } catch (e) {
        const err = e as { id?: string; properties?: Record<string, unknown> };
        const k = "__provider";
        const serialized = (inputs as unknown as Record<string, unknown>)[k];
        if (err && err.id && err.properties && serialized !== undefined) err.properties[k] = serialized;
        throw e;
    }
}

function make(kind: "quiesce" | "restore", factory: WorkloadApiFactory | undefined) {
    const done: QuiesceOutputs["phase"] = kind === "quiesce" ? "Quiesced" : "Restored";
    const work = async (inputs: QuiesceInputs): Promise<QuiesceOutputs> => {
        if (inputs.render) return renderedQuiesce(inputs, kind === "quiesce" ? MIGRATION_MODES.cutover : MIGRATION_MODES.rollback);
        const api = (factory ?? kubeWorkloadApi)(inputs.kubeconfig, inputs.context);
        return kind === "quiesce" ? quiesceNamespace(api, inputs) : restoreNamespace(api, inputs);
    };
    return {
        async check(_olds: unknown, news: QuiesceInputs) {
            return { inputs: news, failures: checkInputs(news, kind) };
        },
        async diff(_id: string, olds: QuiesceOutputs, news: QuiesceInputs) {
            return diffQuiesce(olds, news, done);
        },
        async create(inputs: QuiesceInputs) {
            const outs = await keepProvider(work(inputs), inputs);
            return { id: `${inputs.namespace}/${inputs.wave}/${kind}`, outs };
        },
        async update(_id: string, _olds: QuiesceOutputs, news: QuiesceInputs) {
            return { outs: await keepProvider(work(news), news) };
        },
        async delete() {
            // nothing on the cluster: the source stays as the cutover left it (only a rollback restores it)
        },
    };
}

/** A cutover's quiesce of one namespace. */
export function makeQuiesceProvider(factory?: WorkloadApiFactory) {
    return make("quiesce", factory);
}

/** A rollback's restore of one namespace. */
export function makeRestoreProvider(factory?: WorkloadApiFactory) {
    return make("restore", factory);
}
