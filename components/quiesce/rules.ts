// What a cutover writes on a source workload and what a rollback writes back, as pure functions of the workload
// object (as the API returns it). The value before the quiesce is saved in an annotation ON the workload, in the same
// patch that quiesces it, so the saved value survives an interrupted `pulumi up`, a lost Pulumi state and
// `pulumi destroy`; a rollback (or an admin with kubectl) reads it back from there.
//
// Rules (docs/runbook.md#the-annotations):
// - quiesce: a workload without the annotation gets annotation = current value and field = quiesced value; one that
//   has it and still holds the quiesced value is left alone (a re-run never saves the quiesced value); one that has it
//   but no longer holds the quiesced value was changed by someone since: its current value is saved anew.
// - restore: the saved value is written back only while the field still holds the quiesced value (an admin's change
//   wins); either way the annotations go, so restoring twice is harmless.
// Every patch starts with a JSON-patch `test` of the resourceVersion: a concurrent change fails it, the caller reads
// the object again and decides anew.
// Pure and serialized by value with the quiesce provider: imports nothing but the contract.
import { ANNOTATIONS, QUIESCE_NODE_SELECTOR } from "../../contract";
import type { KubeObject, WorkloadKind } from "../../kube/workloads";

export type QuiesceField = "replicas" | "parallelism" | "suspend" | "nodeSelector";

/** One RFC 6902 operation. */
export interface JsonPatchOp {
    op: "add" | "remove" | "replace" | "test";
    path: string;
    value?: unknown;
}

interface FieldRule {
    field: QuiesceField;
    annotation: string;
    /** Where the field lives in the object. */
    path: string[];
    /** What a quiesce writes. */
    quiesced: unknown;
    /** What the API means when the field is absent. */
    absent: unknown;
    encode(v: unknown): string;
    /** The annotation's text as a value, or undefined when it is not one. */
    decode(s: string): unknown;
}

const count = (annotation: string, field: QuiesceField, path: string[]): FieldRule => ({
    field, annotation, path, quiesced: 0, absent: 1,
    encode: (v) => String(v),
    decode: (s) => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : undefined),
});

const REPLICAS = count(ANNOTATIONS.preQuiesceReplicas, "replicas", ["spec", "replicas"]);

/** The field each kind is quiesced by (MTC's choice per kind). A bare Pod has none: it cannot be scaled. */
const RULES: Partial<Record<WorkloadKind, FieldRule>> = {
    Deployment: REPLICAS,
    StatefulSet: REPLICAS,
    ReplicaSet: REPLICAS,
    ReplicationController: REPLICAS,
    DeploymentConfig: REPLICAS,
    Job: count(ANNOTATIONS.preQuiesceParallelism, "parallelism", ["spec", "parallelism"]),
    CronJob: {
        field: "suspend", annotation: ANNOTATIONS.preQuiesceSuspend, path: ["spec", "suspend"], quiesced: true, absent: false,
        encode: (v) => String(v === true),
        decode: (s) => (s === "true" ? true : s === "false" ? false : undefined),
    },
    DaemonSet: {
        field: "nodeSelector", annotation: ANNOTATIONS.preQuiesceNodeSelector, path: ["spec", "template", "spec", "nodeSelector"],
        quiesced: QUIESCE_NODE_SELECTOR, absent: {},
        encode: (v) => JSON.stringify(sortedSelector(v)),
        decode: (s) => {
            try {
                const v = JSON.parse(s);
                return isSelector(v) ? v : undefined;
            } catch {
                return undefined;
            }
        },
    },
};

function isSelector(v: unknown): v is Record<string, string> {
    return typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string");
}

function sortedSelector(v: unknown): Record<string, string> {
    const o = isSelector(v) ? v : {};
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
}

/** Whether dvm can quiesce this kind (every workload kind but a bare Pod). */
export function canQuiesce(kind: string): boolean {
    return RULES[kind as WorkloadKind] !== undefined;
}

/** The annotation that keeps a kind's saved value. */
export function savedAnnotation(kind: WorkloadKind): string | undefined {
    return RULES[kind]?.annotation;
}

function rule(kind: WorkloadKind): FieldRule {
    const r = RULES[kind];
    if (!r) throw new Error(`dvm cannot quiesce a ${kind}: only ${Object.keys(RULES).join(", ")} can be stopped without deleting them`);
    return r;
}

function get(o: KubeObject, path: string[]): unknown {
    let v: unknown = o;
    for (const k of path) v = v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
    return v;
}

/** JSON pointer of a path (RFC 6901: `~` -> `~0`, `/` -> `~1`). */
export function pointer(path: string[]): string {
    return path.map((k) => `/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

function same(a: unknown, b: unknown): boolean {
    if (isSelector(a) || isSelector(b)) return JSON.stringify(sortedSelector(a)) === JSON.stringify(sortedSelector(b));
    return a === b;
}

/** The field's value, with the API's meaning of an absent field. */
export function currentValue(kind: WorkloadKind, o: KubeObject): unknown {
    const r = rule(kind);
    const v = get(o, r.path);
    return v === undefined || v === null ? r.absent : r.field === "nodeSelector" ? sortedSelector(v) : v;
}

/** True when the field holds the value a quiesce writes. */
export function holdsQuiescedValue(kind: WorkloadKind, o: KubeObject): boolean {
    return same(currentValue(kind, o), rule(kind).quiesced);
}

export function quiescedValue(kind: WorkloadKind): unknown {
    return rule(kind).quiesced;
}

/** What a workload's annotations say: the saved value (undefined when absent), the wave that quiesced it. */
export interface SavedState {
    field: QuiesceField;
    annotation: string;
    /** The annotation's text, when present. */
    text?: string;
    /** The saved value, when present and readable. */
    saved?: unknown;
    wave?: string;
}

export function savedState(kind: WorkloadKind, o: KubeObject): SavedState {
    const r = rule(kind);
    const ann = o.metadata?.annotations ?? {};
    const text = ann[r.annotation];
    const wave = ann[ANNOTATIONS.quiescedBy];
    return { field: r.field, annotation: r.annotation, ...(text !== undefined ? { text, saved: r.decode(text) } : {}), ...(wave !== undefined ? { wave } : {}) };
}

/** A workload as the outputs and `dvm status` show it. */
export interface QuiescedWorkload {
    kind: WorkloadKind;
    name: string;
    field: QuiesceField;
    /** The value before the cutover (the annotation). */
    saved: unknown;
    /** The field's value now. */
    current: unknown;
    /** quiesced: holds the quiesced value; changed: someone changed it since the cutover (a rollback keeps that);
     * restored: a rollback wrote the saved value back; kept: a rollback left someone's change and dropped the
     * annotations. */
    state: "quiesced" | "changed" | "restored" | "kept";
}

const ident = (w: { kind: string; metadata?: { name?: string } } | { kind: string; name: string }) =>
    `${w.kind}/${"name" in w ? w.name : w.metadata?.name ?? ""}`;

function badAnnotation(kind: WorkloadKind, o: KubeObject, s: SavedState, what: string): Error {
    const example = s.field === "nodeSelector" ? '\'{"disk":"ssd"}\' (or \'{}\' for none)' : s.field === "suspend" ? "false" : "3";
    return new Error(`${ident({ kind, metadata: o.metadata })} in namespace ${o.metadata?.namespace ?? "?"}: annotation ${s.annotation} holds ${JSON.stringify(s.text)}, ` +
        `which is not a saved ${s.field} value, so dvm cannot tell what to ${what}. Fix: kubectl annotate --overwrite ${kind.toLowerCase()} ` +
        `${o.metadata?.name} ${s.annotation}=${example} (the ${s.field} to restore), or remove the annotation if nothing is to be restored`);
}

/** The state a quiesced workload is in (undefined when it carries no saved value). */
export function workloadState(kind: WorkloadKind, o: KubeObject): QuiescedWorkload | undefined {
    if (!canQuiesce(kind)) return undefined;
    const s = savedState(kind, o);
    if (s.text === undefined) return undefined;
    return {
        kind, name: o.metadata?.name ?? "", field: s.field, saved: s.saved ?? s.text, current: currentValue(kind, o),
        state: holdsQuiescedValue(kind, o) ? "quiesced" : "changed",
    };
}

export interface Change {
    /** quiesce: saves and quiesces; again: it was changed since an earlier quiesce, its value now is saved anew;
     * already: it holds the quiesced value and keeps its saved one; restore: writes the saved value back; keep: leaves
     * someone's change and drops the annotations. */
    action: "quiesce" | "again" | "already" | "restore" | "keep";
    /** The JSON patch to send (starts with a resourceVersion test); empty when nothing is to be written. */
    ops: JsonPatchOp[];
    /** The workload as it will be after the patch. */
    result: QuiescedWorkload;
}

function versionTest(o: KubeObject): JsonPatchOp[] {
    const rv = o.metadata?.resourceVersion;
    return rv ? [{ op: "test", path: "/metadata/resourceVersion", value: rv }] : [];
}

function setAnnotations(o: KubeObject, values: Record<string, string>): JsonPatchOp[] {
    if (!o.metadata?.annotations) return [{ op: "add", path: "/metadata/annotations", value: values }];
    return Object.entries(values).map(([k, v]) => ({ op: "add" as const, path: pointer(["metadata", "annotations", k]), value: v }));
}

/** Quiesce one workload for `wave` (see the rules at the top). */
export function quiesceChange(kind: WorkloadKind, o: KubeObject, wave: string): Change {
    const r = rule(kind);
    const s = savedState(kind, o);
    const current = currentValue(kind, o);
    const name = o.metadata?.name ?? "";
    if (s.text !== undefined && holdsQuiescedValue(kind, o)) {
        if (s.saved === undefined) throw badAnnotation(kind, o, s, "restore after the cutover");
        // quiesced already (an earlier or interrupted run): the saved value stays as it is
        const ops = s.wave === undefined ? [...versionTest(o), ...setAnnotations(o, { [ANNOTATIONS.quiescedBy]: wave })] : [];
        return { action: "already", ops, result: { kind, name, field: r.field, saved: s.saved, current, state: "quiesced" } };
    }
    // not quiesced yet, or changed by someone since: what it holds now is what a rollback restores
    const saved = r.encode(current);
    const ops: JsonPatchOp[] = [
        ...versionTest(o),
        ...setAnnotations(o, { [r.annotation]: saved, [ANNOTATIONS.quiescedBy]: wave }),
        { op: "add", path: pointer(r.path), value: r.quiesced },
    ];
    return { action: s.text === undefined ? "quiesce" : "again", ops, result: { kind, name, field: r.field, saved: r.decode(saved), current: r.quiesced, state: "quiesced" } };
}

/** Removes dvm's annotations and nothing else (a copy the owner's controller made; undefined when there are none). */
export function dropAnnotations(o: KubeObject): JsonPatchOp[] | undefined {
    const ann = o.metadata?.annotations ?? {};
    const keys = Object.keys(ann).filter((k) => k === ANNOTATIONS.quiescedBy || Object.values(RULES).some((r) => r?.annotation === k));
    if (keys.length === 0) return undefined;
    return [...versionTest(o), ...keys.map((k) => ({ op: "remove" as const, path: pointer(["metadata", "annotations", k]) }))];
}

/** Restore one workload that `wave` quiesced; undefined when it carries no saved value of that wave. */
export function restoreChange(kind: WorkloadKind, o: KubeObject, wave: string): Change | undefined {
    if (!canQuiesce(kind)) return undefined;
    const r = rule(kind);
    const s = savedState(kind, o);
    if (s.text === undefined || (s.wave !== undefined && s.wave !== wave)) return undefined;
    const name = o.metadata?.name ?? "";
    const ann = o.metadata?.annotations ?? {};
    const drop: JsonPatchOp[] = [r.annotation, ANNOTATIONS.quiescedBy]
        .filter((k) => ann[k] !== undefined)
        .map((k) => ({ op: "remove", path: pointer(["metadata", "annotations", k]) }));
    if (!holdsQuiescedValue(kind, o)) {
        // someone changed it since the cutover: theirs wins
        return { action: "keep", ops: [...versionTest(o), ...drop], result: { kind, name, field: r.field, saved: s.saved ?? s.text, current: currentValue(kind, o), state: "kept" } };
    }
    if (s.saved === undefined) throw badAnnotation(kind, o, s, "restore");
    const write: JsonPatchOp = r.field === "nodeSelector" && Object.keys(s.saved as object).length === 0
        // none before the cutover: none after it (not an empty map)
        ? { op: "remove", path: pointer(r.path) }
        : { op: "add", path: pointer(r.path), value: s.saved };
    return { action: "restore", ops: [...versionTest(o), write, ...drop], result: { kind, name, field: r.field, saved: s.saved, current: s.saved, state: "restored" } };
}
