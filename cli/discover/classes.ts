// The destination storage class `dvm discover` proposes for a source PVC, and which rule chose it. In order:
// the --storage-class-map entry for the source class; the same name, when the destination has it; a destination
// class of the same provisioner (the default one among several, else the first by name); the destination's default.
import type { StorageClassInfo } from "../../kube/cluster";

export type ClassRule = "map" | "same-name" | "same-provisioner" | "default" | "unchecked" | "none";

export interface ClassChoice {
    /** The class to write into the wave; undefined only when nothing fits (rule `none`). */
    storageClass?: string;
    rule: ClassRule;
    /** Why, for the reviewer (a comment next to the PVC). */
    note: string;
    /** Something the reviewer must act on. */
    warning?: string;
}

/**
 * `source`: the source PVC's storageClassName (undefined: none). `sourceClasses`: the source cluster's classes (for
 * the provisioner). `destination`: the destination's classes, undefined when no destination cluster was given.
 */
export function chooseClass(source: string | undefined, sourceClasses: StorageClassInfo[], destination: StorageClassInfo[] | undefined, map: ReadonlyMap<string, string>): ClassChoice {
    const has = (name: string) => destination?.some((c) => c.name === name) ?? false;
    const known = () => (destination?.length ? destination.map((c) => c.name).join(", ") : "none");
    const mapped = source !== undefined ? map.get(source) : undefined;
    if (mapped !== undefined) {
        const choice: ClassChoice = { storageClass: mapped, rule: "map", note: `--storage-class-map ${source}=${mapped}` };
        if (destination && !has(mapped)) choice.warning = `--storage-class-map ${source}=${mapped}: the destination has no storage class ${JSON.stringify(mapped)} (it has: ${known()})`;
        return choice;
    }
    if (!destination) {
        return source !== undefined
            ? { storageClass: source, rule: "unchecked", note: `same name as the source (the destination's classes were not read: give --stack or --destination-context)` }
            : { rule: "unchecked", note: "the source PVC names no class; the destination's default (not read: give --stack or --destination-context)" };
    }
    if (source !== undefined && has(source)) return { storageClass: source, rule: "same-name", note: `same name on the destination` };
    const provisioner = source !== undefined ? sourceClasses.find((c) => c.name === source)?.provisioner : undefined;
    if (provisioner) {
        const same = destination.filter((c) => c.provisioner === provisioner).sort((a, b) => Number(b.isDefault) - Number(a.isDefault) || a.name.localeCompare(b.name));
        if (same.length > 0) {
            const others = same.slice(1).map((c) => c.name);
            return {
                storageClass: same[0].name, rule: "same-provisioner",
                note: `same provisioner ${provisioner} as source class ${source}${others.length ? ` (also: ${others.join(", ")})` : ""}`,
            };
        }
    }
    const defaults = destination.filter((c) => c.isDefault);
    if (defaults.length > 0) {
        const from = source === undefined ? "the source PVC names no class" : `no destination class named ${source}${provisioner ? ` or of provisioner ${provisioner}` : ""}`;
        return {
            storageClass: defaults[0].name, rule: "default",
            note: `the destination's default class (${from})${defaults.length > 1 ? `; several defaults: ${defaults.map((c) => c.name).join(", ")}` : ""}`,
        };
    }
    return {
        rule: "none", note: "no destination class fits",
        warning: `no destination storage class fits ${source === undefined ? "a PVC without a class" : `source class ${source}`} and the destination has no default (it has: ${known()}); set storageClass, or pass --storage-class-map ${source ?? "<source>"}=<destination class>`,
    };
}

/** Parses the --storage-class-map values (`src=dst`, both storage class names). */
export function parseClassMap(values: string[], nameError: (v: string) => string | undefined): Map<string, string> {
    const out = new Map<string, string>();
    for (const v of values) {
        const m = /^([^=]+)=([^=]+)$/.exec(v);
        const bad = !m ? "is not source=destination" : nameError(m[1]) ? `source class ${JSON.stringify(m[1])} ${nameError(m[1])}` : nameError(m[2]) ? `destination class ${JSON.stringify(m[2])} ${nameError(m[2])}` : undefined;
        if (bad) throw new Error(`--storage-class-map ${JSON.stringify(v)} ${bad}; example: --storage-class-map gp2=gp3-csi`);
        const prev = out.get(m![1]);
        if (prev !== undefined && prev !== m![2]) throw new Error(`--storage-class-map maps ${m![1]} twice (to ${prev} and ${m![2]}); give one destination per source class, e.g. --storage-class-map ${m![1]}=${prev}`);
        out.set(m![1], m![2]);
    }
    return out;
}
