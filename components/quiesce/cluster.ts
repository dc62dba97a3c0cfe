// The cutover's and the rollback's work on the source cluster: read the namespace, patch the workloads by the rules
// of rules.ts (a conflicting change is read again and decided anew), and wait until no pod holds a PVC of the wave
// (scope namespace: until the quiesced workloads run no pod).
// The cluster is a small interface (WorkloadApi) so the unit tests run the same loops on a fake one; the real one
// is kubeWorkloadApi() (@kubernetes/client-node, required lazily). Serialized by value with the quiesce provider: no
// module-level state.
import { MIGRATION_MODES } from "../../contract";
import { apiError, kubeConfig, statusCode } from "../../kube";
import { NamespacePod, NamespaceView, patchWorkload, readNamespace, WorkloadKind } from "../../kube/workloads";
import { dropAnnotations, holdsQuiescedValue, JsonPatchOp, QuiescedWorkload, quiesceChange, restoreChange, savedState, workloadState } from "./rules";
import { isAnnotationCopy, podsToEnd, QuiesceScope, quiescedNow, quiescePlan, refusalMessage } from "./select";

export interface WorkloadApi {
    read(namespace: string): Promise<NamespaceView>;
    patch(kind: WorkloadKind, namespace: string, name: string, ops: JsonPatchOp[]): Promise<void>;
}

/** The real cluster: the source kubeconfig (content or path) and context, as the progress reader gets them. */
export function kubeWorkloadApi(kubeconfig: string | undefined, context: string | undefined): WorkloadApi {
    const kc = kubeConfig({ kubeconfig, context }, { what: "dvm:source", cluster: "source", reader: "the cutover" });
    return {
        async read(namespace) {
            try {
                return await readNamespace(kc, namespace);
            } catch (e) {
                throw Object.assign(new Error(`source cluster: ${apiError(`read the workloads of namespace ${namespace}`, e).message}`), { statusCode: statusCode(e) });
            }
        },
        async patch(kind, namespace, name, ops) {
            try {
                await patchWorkload(kc, kind, namespace, name, ops);
            } catch (e) {
                throw Object.assign(new Error(`source cluster: ${apiError(`patch ${kind} ${namespace}/${name}`, e).message}`), { statusCode: statusCode(e) });
            }
        },
    };
}

export interface QuiesceInputs {
    kubeconfig?: string;
    context?: string;
    namespace: string;
    wave: string;
    /** A new pass (a final pass again after a failed one) checks the quiesce again. */
    pass: number;
    /** Source PVC names of the wave in this namespace. */
    pvcs: string[];
    scope: QuiesceScope;
    timeoutSeconds: number;
    render: boolean;
    /** Seconds between polls while waiting for pods to go (tests: 0). */
    pollSeconds?: number;
}

export interface QuiesceOutputs {
    namespace: string;
    wave: string;
    pass: number;
    pvcs: string[];
    scope: QuiesceScope;
    mode: string;
    /** Quiesced / Restored (done), Failed (the source may be partly quiesced), Rendered (render mode). */
    phase: "Quiesced" | "Restored" | "Failed" | "Rendered";
    /** Every workload the wave quiesced holds its quiesced value (and no pod it waits for runs). */
    quiesced: boolean;
    workloads: QuiescedWorkload[];
    message?: string;
}

export interface Hooks {
    sleep?: (ms: number) => Promise<void>;
    now?: () => number;
}

/** Thrown by create/update once something was touched: the dynamic-provider host turns `id` + `properties` +
 * `reasons` into a resource that failed to initialize, so the state keeps what was quiesced (see progress/wait.ts). */
export class QuiesceFailedError extends Error {
    public readonly reasons: string[];
    constructor(message: string, public readonly id: string, public readonly properties: QuiesceOutputs) {
        super(message);
        this.name = "QuiesceFailedError";
        this.reasons = [message];
    }
}

const CONFLICT_ROUNDS = 5;
const MAX_API_ERRORS = 6;
const isConflict = (e: unknown) => statusCode(e) === 409 || statusCode(e) === 422;
const key = (w: { kind: string; name: string }) => `${w.kind}/${w.name}`;
const show = (v: unknown) => (typeof v === "object" ? JSON.stringify(v) : String(v));

/** The command that brings the source back, for every message that leaves it quiesced. */
export function rollbackHint(): string {
    return `the source stays quiesced; to bring it back: pulumi config set dvm:migration ${MIGRATION_MODES.rollback} && pulumi up`;
}

function outputs(inputs: QuiesceInputs, phase: QuiesceOutputs["phase"], workloads: QuiescedWorkload[], message?: string): QuiesceOutputs {
    const quiesced = phase === "Quiesced" && workloads.every((w) => w.state === "quiesced");
    return {
        namespace: inputs.namespace, wave: inputs.wave, pass: Number(inputs.pass), pvcs: [...inputs.pvcs], scope: inputs.scope,
        mode: phase === "Restored" ? MIGRATION_MODES.rollback : MIGRATION_MODES.cutover, phase, quiesced, workloads,
        ...(message ? { message } : {}),
    };
}

/** Render mode: nothing read, nothing touched. */
export function renderedQuiesce(inputs: QuiesceInputs, mode: string): QuiesceOutputs {
    return { ...outputs(inputs, "Rendered", []), mode, quiesced: false };
}

function describeWorkloads(ws: QuiescedWorkload[]): string {
    return ws.length === 0 ? "none" : ws.map((w) => `${key(w)} (${w.field} ${show(w.current)}, saved ${show(w.saved)})`).join(", ");
}

function holderLine(p: NamespacePod, view: NamespaceView): string {
    const owner = view.workloads.find((w) => w.kind === p.owner.kind && w.name === p.owner.name);
    const back = owner && p.owner.kind !== "Pod" && workloadState(owner.kind, owner.object)?.state === "changed"
        ? ` - ${p.owner.kind} ${p.owner.name} no longer holds its quiesced value: something (an admin, GitOps, an operator) scaled it back`
        : "";
    return `pod ${p.name} (${p.owner.kind} ${p.owner.name}, ${p.phase}${p.node ? ` on ${p.node}` : ""})${back}`;
}

/**
 * Quiesces what a cutover of the namespace's wave PVCs stops and waits until no pod mounts one of them (scope
 * namespace: until no pod of what it quiesced runs either). A pod dvm cannot stop refuses the cutover before anything
 * is touched. Safe to run again at any point (an interrupted `pulumi up`): what is quiesced keeps its saved value.
 */
export async function quiesceNamespace(api: WorkloadApi, inputs: QuiesceInputs, hooks: Hooks = {}): Promise<QuiesceOutputs> {
    const now = hooks.now ?? (() => Date.now());
    const sleep = hooks.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const { namespace: ns, wave, pvcs } = inputs;
    const id = `${ns}/${wave}`;
    const done = new Map<string, QuiescedWorkload>();
    const fail = (what: string, workloads = [...done.values()]): never => {
        const message = `dvm: cutover of namespace ${ns} (wave ${wave}) failed: ${what}\n  quiesced so far: ${describeWorkloads(workloads)}\n  ${rollbackHint()}`;
        throw new QuiesceFailedError(message, id, outputs(inputs, "Failed", workloads, message));
    };

    let view = await api.read(ns);
    let plan = quiescePlan(view, pvcs, inputs.scope);
    if (plan.refused.length > 0) throw new Error(refusalMessage(ns, plan.refused, pvcs));

    /** Quiesces the plan's targets; `fresh`: only those never quiesced (a later poll must not fight a controller
     * that scales one back - the wait then names it). Returns the number of conflicts. */
    const apply = async (fresh: boolean): Promise<number> => {
        let conflicts = 0;
        for (const w of plan.targets) {
            let c;
            try {
                c = quiesceChange(w.kind, w.object, wave);
            } catch (e) {
                return fail((e as Error).message);
            }
            if (fresh && c.action === "again") continue;
            if (c.ops.length > 0) {
                try {
                    await api.patch(w.kind, ns, w.name, c.ops);
                } catch (e) {
                    if (isConflict(e)) {
                        conflicts++;
                        continue;
                    }
                    return fail((e as Error).message);
                }
            }
            done.set(key(w), c.result);
        }
        return conflicts;
    };

    for (let round = 1; (await apply(false)) > 0; round++) {
        if (round >= CONFLICT_ROUNDS) fail(`the workloads kept changing while dvm patched them (${CONFLICT_ROUNDS} conflicts in a row)`);
        view = await api.read(ns);
        plan = quiescePlan(view, pvcs, inputs.scope);
        if (plan.refused.length > 0) fail(refusalMessage(ns, plan.refused, pvcs));
    }

    // wait until no pod mounts a PVC of the wave (scope namespace: and no pod of a quiesced workload runs); quiesce
    // what appears meanwhile (a Job a CronJob started just before it was suspended)
    const deadline = now() + Math.max(0, inputs.timeoutSeconds) * 1000;
    let apiErrors = 0;
    for (;;) {
        try {
            view = await api.read(ns);
            apiErrors = 0;
        } catch (e) {
            if (++apiErrors >= MAX_API_ERRORS) fail(`${(e as Error).message} (${apiErrors} reads in a row failed)`);
            await sleep((inputs.pollSeconds ?? 2) * 1000);
            continue;
        }
        plan = quiescePlan(view, pvcs, inputs.scope);
        if (plan.refused.length > 0) fail(refusalMessage(ns, plan.refused, pvcs));
        if (plan.targets.some((w) => !done.has(key(w)) || !holdsQuiescedValue(w.kind, w.object))) await apply(true);
        const holding = podsToEnd(view, pvcs, inputs.scope, plan.targets);
        if (holding.length === 0) break;
        if (now() >= deadline) {
            const what = inputs.scope === "namespace" ? "pods of the quiesced workloads or on a PVC of the wave still run" : "pods still mount a PVC of the wave";
            fail(`after ${inputs.timeoutSeconds}s (dvm:quiesce.timeoutSeconds) ${what}: ${holding.map((p) => holderLine(p, view)).join("; ")}`);
        }
        await sleep(Math.max(0, Math.min((inputs.pollSeconds ?? 2) * 1000, deadline - now())));
    }
    // what the wave quiesced, as the namespace holds it now (a Job that finished meanwhile included)
    return outputs(inputs, "Quiesced", quiescedNow(view, wave).workloads);
}

/**
 * Restores every workload of the namespace that `wave` quiesced, by the rules of rules.ts (an admin's change wins;
 * the annotations go). Restoring twice is harmless: the second time finds no saved value.
 */
export async function restoreNamespace(api: WorkloadApi, inputs: QuiesceInputs): Promise<QuiesceOutputs> {
    const { namespace: ns, wave } = inputs;
    const done = new Map<string, QuiescedWorkload>();
    for (let round = 1; ; round++) {
        const view = await api.read(ns);
        let conflicts = 0;
        for (const w of view.workloads) {
            // owners first (the view lists Deployments before their ReplicaSets): a copy of an owner's annotations
            // is dropped once the owner has none to copy again
            const copy = isAnnotationCopy(w, view.workloads);
            const c = copy ? undefined : restoreChange(w.kind, w.object, wave);
            const ops = copy ? (savedState(w.kind, w.object).wave === wave ? dropAnnotations(w.object) : undefined) : c?.ops;
            if (!ops) continue;
            try {
                await api.patch(w.kind, ns, w.name, ops);
                if (c) done.set(key(w), c.result);
            } catch (e) {
                if (isConflict(e)) {
                    conflicts++;
                    continue;
                }
                const message = `dvm: rollback of namespace ${ns} (wave ${wave}) failed: ${(e as Error).message}\n  restored so far: ` +
                    `${describeWorkloads([...done.values()])}\n  run pulumi up again to restore the rest`;
                throw new QuiesceFailedError(message, `${ns}/${wave}`, { ...outputs(inputs, "Failed", [...done.values()], message), mode: MIGRATION_MODES.rollback });
            }
        }
        if (conflicts === 0) break;
        if (round >= CONFLICT_ROUNDS) {
            const message = `dvm: rollback of namespace ${ns} (wave ${wave}) failed: the workloads kept changing while dvm patched them; run pulumi up again`;
            throw new QuiesceFailedError(message, `${ns}/${wave}`, { ...outputs(inputs, "Failed", [...done.values()], message), mode: MIGRATION_MODES.rollback });
        }
    }
    return outputs(inputs, "Restored", [...done.values()]);
}
