// Validation of a wave file (the namespaces and PVCs one `pulumi up` migrates), as a pure function: the parsed YAML
// in, the namespaces of the plan out, or a ConfigError naming every problem by file and path.
import { Problems } from "./errors";
import { NamespacePlan, PvcPlan } from "./plan";
import { bool, describe, object } from "./readers";
import { accessModeError, dns1123LabelError, dns1123SubdomainError, parseQuantity } from "./rules";

export interface WavePlan {
    name: string;
    namespaces: NamespacePlan[];
}

const WAVE_EXAMPLE = `name: wave-1
namespaces:
  - name: app-3
    pvcs:
      - {name: postgresql, capacity: 10Gi, accessModes: [ReadWriteOnce], storageClass: gp3-csi}`;

/** For a name YAML did not read as a string (`name: 123`, `name: true`, `name: 1e3`): how to quote it. */
export function quoteHint(v: unknown, key: string): string {
    return typeof v === "number" || typeof v === "boolean"
        ? ` (YAML reads ${JSON.stringify(v)} as a ${typeof v}: quote it, ${key}: "${String(v)}")`
        : "";
}

/** Validates a parsed wave file. `file` is the path shown in messages. */
export function validateWave(doc: unknown, file: string): WavePlan {
    const p = new Problems();
    const at = (path: string) => `${file}: ${path}`;
    const o = object(p, doc, at("(top level)"), ["name", "namespaces", "storageClass"], WAVE_EXAMPLE);
    if (!o) p.throwIfAny();
    const top = o!;

    let name = "";
    if (typeof top.name !== "string") {
        p.add(at("name"), `is required: a DNS-1123 label naming the wave, got ${describe(top.name)}${quoteHint(top.name, "name")}`, WAVE_EXAMPLE);
    } else {
        name = top.name;
        const e = dns1123LabelError(name);
        if (e) p.add(at("name"), `${JSON.stringify(name)} ${e}`, WAVE_EXAMPLE);
    }
    let defaultClass: string | undefined;
    if (top.storageClass !== undefined) {
        if (typeof top.storageClass !== "string" || dns1123SubdomainError(top.storageClass)) {
            p.add(at("storageClass"), `must be a storage class name (DNS-1123 subdomain), got ${describe(top.storageClass)}${quoteHint(top.storageClass, "storageClass")}`, "storageClass: gp3-csi");
        } else {
            defaultClass = top.storageClass;
        }
    }

    const namespaces: NamespacePlan[] = [];
    if (!Array.isArray(top.namespaces) || top.namespaces.length === 0) {
        p.add(at("namespaces"), `must list at least one namespace to migrate (an empty wave migrates nothing), got ${describe(top.namespaces)}`, WAVE_EXAMPLE);
    } else {
        const sources = new Map<string, number>();
        const targets = new Map<string, number>();
        top.namespaces.forEach((raw, i) => {
            const ns = namespacePlan(p, raw, `namespaces[${i}]`, at, defaultClass);
            if (!ns) return;
            const dupSource = sources.get(ns.source);
            if (dupSource !== undefined) {
                p.add(at(`namespaces[${i}].name`), `namespace ${JSON.stringify(ns.source)} is listed twice (also namespaces[${dupSource}]); list each namespace once with all its PVCs`, WAVE_EXAMPLE);
            } else {
                sources.set(ns.source, i);
            }
            const dupTarget = targets.get(ns.target);
            if (dupTarget !== undefined && dupSource === undefined) {
                // the key this item has: its targetNamespace, or its name when it keeps the name
                const key = (raw as Record<string, unknown>).targetNamespace !== undefined ? "targetNamespace" : "name";
                p.add(at(`namespaces[${i}].${key}`), `destination namespace ${JSON.stringify(ns.target)} is also the destination of namespaces[${dupTarget}]; each source namespace needs its own destination namespace`,
                    "namespaces:\n  - {name: app-a, targetNamespace: app-a}\n  - {name: app-b, targetNamespace: app-b-migrated}");
            } else if (dupTarget === undefined) {
                targets.set(ns.target, i);
            }
            namespaces.push(ns);
        });
    }
    p.throwIfAny();
    return { name, namespaces };
}

function namespacePlan(p: Problems, raw: unknown, path: string, at: (s: string) => string, defaultClass?: string): NamespacePlan | undefined {
    const o = object(p, raw, at(path), ["name", "targetNamespace", "nodeName", "pvcs"], WAVE_EXAMPLE);
    if (!o) return undefined;
    const label = (v: unknown, key: string, required: boolean): string | undefined => {
        if (v === undefined) {
            if (required) p.add(at(`${path}.${key}`), "is required: the namespace's name", WAVE_EXAMPLE);
            return undefined;
        }
        if (typeof v !== "string") {
            p.add(at(`${path}.${key}`), `must be a namespace name, got ${describe(v)}${quoteHint(v, key)}`, WAVE_EXAMPLE);
            return undefined;
        }
        const e = dns1123LabelError(v);
        if (e) {
            p.add(at(`${path}.${key}`), `${JSON.stringify(v)} ${e}`, WAVE_EXAMPLE);
            return undefined;
        }
        return v;
    };
    const source = label(o.name, "name", true);
    const target = label(o.targetNamespace, "targetNamespace", false) ?? source;
    let nodeName: string | undefined;
    if (o.nodeName !== undefined) {
        if (typeof o.nodeName !== "string" || dns1123SubdomainError(o.nodeName)) {
            p.add(at(`${path}.nodeName`), `must be a node name (DNS-1123 subdomain), got ${describe(o.nodeName)}${quoteHint(o.nodeName, "nodeName")}`, "nodeName: worker-1");
        } else {
            nodeName = o.nodeName;
        }
    }
    const pvcs: PvcPlan[] = [];
    if (!Array.isArray(o.pvcs) || o.pvcs.length === 0) {
        p.add(at(`${path}.pvcs`), `must list at least one PVC of the namespace, got ${describe(o.pvcs)}`, WAVE_EXAMPLE);
    } else {
        const sources = new Map<string, number>();
        const targets = new Map<string, number>();
        o.pvcs.forEach((r, j) => {
            const pvc = pvcPlan(p, r, `${path}.pvcs[${j}]`, at, defaultClass);
            if (!pvc) return;
            const ds = sources.get(pvc.source);
            if (ds !== undefined) {
                p.add(at(`${path}.pvcs[${j}].name`), `PVC ${JSON.stringify(pvc.source)} is listed twice in this namespace (also pvcs[${ds}])`, WAVE_EXAMPLE);
                return;
            }
            sources.set(pvc.source, j);
            const dt = targets.get(pvc.target);
            if (dt !== undefined) {
                const key = (r as Record<string, unknown>).targetName !== undefined ? "targetName" : "name";
                p.add(at(`${path}.pvcs[${j}].${key}`), `destination PVC ${JSON.stringify(pvc.target)} is also the destination of pvcs[${dt}]; two volumes would be copied into one`,
                    "pvcs:\n  - {name: data, capacity: 1Gi}\n  - {name: data-old, capacity: 1Gi, targetName: data-old-migrated}");
                return;
            }
            targets.set(pvc.target, j);
            pvcs.push(pvc);
        });
    }
    if (source === undefined) return undefined;
    return { source, target: target!, nodeName, pvcs };
}

function pvcPlan(p: Problems, raw: unknown, path: string, at: (s: string) => string, defaultClass?: string): PvcPlan | undefined {
    const o = object(p, raw, at(path), ["name", "capacity", "accessModes", "storageClass", "targetName", "verify"], WAVE_EXAMPLE);
    if (!o) return undefined;
    const pvcName = (v: unknown, key: string): string | undefined => {
        if (typeof v !== "string") {
            p.add(at(`${path}.${key}`), `must be a PVC name, got ${describe(v)}${quoteHint(v, key)}`, "- {name: postgresql, capacity: 10Gi}");
            return undefined;
        }
        const e = dns1123SubdomainError(v);
        if (e) {
            p.add(at(`${path}.${key}`), `${JSON.stringify(v)} ${e}`, "- {name: postgresql, capacity: 10Gi}");
            return undefined;
        }
        return v;
    };
    const source = pvcName(o.name, "name");
    const target = o.targetName === undefined ? source : pvcName(o.targetName, "targetName");
    let capacity: string | undefined;
    const cap = typeof o.capacity === "number" ? String(o.capacity) : o.capacity;
    if (typeof cap !== "string" || parseQuantity(cap) === undefined || !(parseQuantity(cap)! > 0)) {
        p.add(at(`${path}.capacity`), `${o.capacity === undefined ? "is required" : `${describe(o.capacity)} is not a positive Kubernetes quantity`}: the destination PVC's size, at least the source PVC's`, "capacity: 10Gi");
    } else {
        capacity = cap;
    }
    let accessModes = ["ReadWriteOnce"];
    if (o.accessModes !== undefined) {
        if (!Array.isArray(o.accessModes) || o.accessModes.length === 0) {
            p.add(at(`${path}.accessModes`), `must be a non-empty list, got ${describe(o.accessModes)}`, "accessModes: [ReadWriteOnce]");
        } else {
            o.accessModes.forEach((m, k) => {
                const e = accessModeError(m);
                if (e) p.add(at(`${path}.accessModes[${k}]`), e, "accessModes: [ReadWriteOnce]");
            });
            accessModes = [...new Set(o.accessModes as string[])];
        }
    }
    let storageClass = defaultClass;
    if (o.storageClass !== undefined) {
        if (typeof o.storageClass !== "string" || dns1123SubdomainError(o.storageClass)) {
            p.add(at(`${path}.storageClass`), `must be a storage class name (DNS-1123 subdomain), got ${describe(o.storageClass)}${quoteHint(o.storageClass, "storageClass")}`, "storageClass: gp3-csi");
        } else {
            storageClass = o.storageClass;
        }
    }
    const verify = bool(p, o.verify, at(`${path}.verify`), false, "verify: true");
    if (source === undefined || target === undefined || capacity === undefined) return undefined;
    return { source, target, capacity, accessModes, storageClass, verify };
}
