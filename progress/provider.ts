// The dynamic provider behind `TransferProgress`: it is the completion gate of a namespace's transfer. The source
// transfer Job is created with `pulumi.com/skipAwait`, so `create` waits (wait.ts) for the Job to complete or fail and
// fails `pulumi up` naming namespace, PVC, reason and the last rsync lines when a PVC failed.
//
// Serialization: Pulumi serializes this provider object by value (functions + what they capture) into the state and
// runs it in the engine's dynamic-provider host. So: no module-level state, no captured clients, packages are
// require()d inside the functions that use them, and the kubeconfig is only ever an input argument (never captured,
// never an output).
import { kubeSource, TransferSource } from "./source";
import { renderedOutputs, TransferInputs, TransferOutputs, waitForTransfer } from "./wait";

/** Inputs whose change means another transfer to wait for (a new pass, a new Job, other PVCs, out of render mode),
 * and a record that never reached Succeeded (read again). */
export function diffTransfer(olds: Partial<TransferOutputs> & { pvcs?: unknown }, news: TransferInputs): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
    const oldPairs = olds.pvcPairs ?? (Array.isArray(olds.pvcs) ? (olds.pvcs as { source: string; target: string }[]) : []);
    const key = (pairs: { source: string; target: string }[]) => JSON.stringify(pairs.map((p) => `${p.source}:${p.target}`).sort());
    const replaces: string[] = [];
    if (olds.namespace !== news.namespace) replaces.push("namespace");
    if (olds.jobName !== news.jobName) replaces.push("jobName");
    if (Number(olds.pass) !== Number(news.pass)) replaces.push("pass");
    if (key(oldPairs) !== key(news.pvcs ?? [])) replaces.push("pvcs");
    if (!!olds.render !== !!news.render) replaces.push("render");
    // a record that never reached Succeeded (an earlier `up` failed or was interrupted): wait/read again
    const unfinished = olds.phase !== undefined && olds.phase !== "Succeeded" && olds.phase !== "Rendered";
    return { changes: replaces.length > 0 || unfinished, replaces, deleteBeforeReplace: true };
}

/** The source used by the provider; tests replace it through `makeProvider(sourceFactory)`.
 * (Names of functions the provider calls must not shadow globals — e.g. mocha's `run` — or the closure serializer
 * takes the global instead of capturing the function.) */
export type SourceFactory = (kubeconfig: string | undefined, context: string | undefined) => TransferSource;

async function runTransfer(inputs: TransferInputs, factory: SourceFactory | undefined): Promise<TransferOutputs> {
    if (inputs.render) return renderedOutputs(inputs);
    const source = (factory ?? kubeSource)(inputs.kubeconfig, inputs.context);
    return waitForTransfer(source, inputs);
}

/**
 * A failed transfer is reported as a resource that failed to initialize (the error's id/properties/reasons): the
 * engine stores `properties` as the resource's state. The dynamic-provider host adds the serialized provider
 * (`__provider`) to normal results but not to these, and a state without it could not be diffed or deleted later.
 */
async function keepProvider<T>(p: Promise<T>, inputs: TransferInputs): Promise<T> {
    try {
        return await p;
    } catch (e) {
        const err = e as { id?: string; properties?: Record<string, unknown> };
        const key = "__provider";
        const serialized = (inputs as unknown as Record<string, unknown>)[key];
        if (err && err.id && err.properties && serialized !== undefined) err.properties[key] = serialized;
        throw e;
    }
}

/**
 * The dynamic provider object. `factory` is for tests (a fake cluster); the real one builds the client from the
 * kubeconfig input each call.
 */
export function makeProvider(factory?: SourceFactory) {
    return {
        async check(_olds: unknown, news: TransferInputs) {
            const failures: { property: string; reason: string }[] = [];
            if (!news.namespace) failures.push({ property: "namespace", reason: "the source namespace is required" });
            if (!news.render && !news.jobName) failures.push({ property: "jobName", reason: "the transfer Job name is required" });
            if (!Array.isArray(news.pvcs)) failures.push({ property: "pvcs", reason: "a list of {source, target} PVC pairs is required" });
            if (!news.render && !(Number(news.timeoutSeconds) > 0)) failures.push({ property: "timeoutSeconds", reason: "must be > 0 (dvm:transferTimeoutMinutes)" });
            return { inputs: news, failures };
        },
        async diff(_id: string, olds: TransferOutputs, news: TransferInputs) {
            return diffTransfer(olds, news);
        },
        async create(inputs: TransferInputs) {
            const outs = await keepProvider(runTransfer(inputs, factory), inputs);
            return { id: `${inputs.namespace}/${inputs.jobName || "rendered"}`, outs };
        },
        async update(_id: string, _olds: TransferOutputs, news: TransferInputs) {
            return { outs: await keepProvider(runTransfer(news, factory), news) };
        },
        async delete() {
            // nothing to delete: the Job belongs to the Kubernetes provider; the record goes with the state
        },
    };
}
