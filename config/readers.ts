// Small typed readers for raw config values: each records a problem (where, what, a valid example) and returns a
// fallback when the value is unusable, so validation reports every problem at once.
import { closest, Problems } from "./errors";

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An object with only the known keys (typos reported with a suggestion). */
export function object(p: Problems, v: unknown, where: string, keys: readonly string[], example: string): Obj | undefined {
    if (!isObj(v)) {
        p.add(where, `must be an object with keys ${keys.join(", ")}, got ${describe(v)}`, example);
        return undefined;
    }
    for (const k of Object.keys(v)) {
        if (!keys.includes(k)) {
            const hint = closest(k, keys);
            p.add(join(where, k), `unknown key${hint ? ` (did you mean '${hint}'?)` : ""}; known keys: ${keys.join(", ")}`, example);
        }
    }
    return v;
}

export function bool(p: Problems, v: unknown, where: string, dflt: boolean, example: string): boolean {
    if (v === undefined) return dflt;
    if (typeof v === "boolean") return v;
    if (v === "true" || v === "false") return v === "true";
    p.add(where, `must be true or false, got ${describe(v)}`, example);
    return dflt;
}

/** `auto`, true or false (a string "true"/"false" from `pulumi config set --path` counts as the boolean). */
export function autoBool(p: Problems, v: unknown, where: string, dflt: "auto" | boolean, example: string): "auto" | boolean {
    if (v === undefined) return dflt;
    if (typeof v === "boolean" || v === "auto") return v;
    if (v === "true" || v === "false") return v === "true";
    p.add(where, `must be auto, true or false, got ${describe(v)}`, example);
    return dflt;
}

export function int(p: Problems, v: unknown, where: string, dflt: number, min: number, max: number, example: string): number {
    if (v === undefined) return dflt;
    const n = typeof v === "string" && /^-?[0-9]+$/.test(v) ? Number(v) : v;
    if (typeof n === "number" && Number.isInteger(n) && n >= min && n <= max) return n;
    p.add(where, `must be a whole number from ${min} to ${max}, got ${describe(v)}`, example);
    return dflt;
}

export function optInt(p: Problems, v: unknown, where: string, min: number, max: number, example: string): number | undefined {
    return v === undefined ? undefined : int(p, v, where, min, min, max, example);
}

export function str(p: Problems, v: unknown, where: string, example: string): string | undefined {
    if (v === undefined) return undefined;
    if (typeof v === "string" && v.length > 0) return v;
    p.add(where, `must be a non-empty string, got ${describe(v)}`, example);
    return undefined;
}

export function intList(p: Problems, v: unknown, where: string, example: string): number[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
        p.add(where, `must be a list of group ids, got ${describe(v)}`, example);
        return [];
    }
    return v.map((x, i) => int(p, x, `${where}[${i}]`, 0, 0, 2 ** 31 - 1, example));
}

export function describe(v: unknown): string {
    if (v === undefined) return "nothing";
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function join(where: string, key: string | number): string {
    return typeof key === "number" ? `${where}[${key}]` : `${where}.${key}`;
}
