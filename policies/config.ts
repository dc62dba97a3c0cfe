// The pack's configuration: the knobs a pack config file may set, their defaults and schemas, and the reading of
// a policy's entry that never takes a wrong value for "allowed".

import { PolicyConfigSchema } from "@pulumi/policy";
import { PSA_LABELS, ROOT_CAPABILITIES as DEFAULT_ALLOWED_CAPABILITIES } from "../contract";

/** The pack's knobs. Each policy reads the ones it needs from its own entry of the pack config file. */
export interface PackConfig {
    /** Allow `privileged: true` (MTC migration_rsync_privileged). */
    allowPrivileged: boolean;
    /** Allow SELinux type spc_t, and privileged with it (MTC migration_rsync_super_privileged). */
    allowSuperPrivileged: boolean;
    /** Allow transfer containers to run as root (dvm:security.runAsRoot). */
    allowRoot: boolean;
    /** Capabilities a container may add, only when root is allowed. */
    allowedCapabilities: string[];
    /** Namespaces labelled privileged outside this stack (PSA labels managed by the cluster admin). */
    privilegedNamespaces: string[];
}

export const PACK_DEFAULTS: Readonly<PackConfig> = Object.freeze({
    allowPrivileged: false,
    allowSuperPrivileged: false,
    allowRoot: false,
    allowedCapabilities: [...DEFAULT_ALLOWED_CAPABILITIES],
    privilegedNamespaces: [],
});

const SCHEMA: Record<keyof PackConfig, PolicyConfigSchema["properties"][string]> = {
    allowPrivileged: {
        type: "boolean",
        default: false,
        description: "Allow privileged: true in transfer containers (MTC migration_rsync_privileged).",
    },
    allowSuperPrivileged: {
        type: "boolean",
        default: false,
        description: "Allow SELinux type spc_t and privileged: true (MTC migration_rsync_super_privileged).",
    },
    allowRoot: {
        type: "boolean",
        default: false,
        description: "Allow transfer containers to run as root (dvm:security.runAsRoot).",
    },
    allowedCapabilities: {
        type: "array",
        items: { type: "string", pattern: "^[A-Za-z_]+$" },
        default: [...DEFAULT_ALLOWED_CAPABILITIES],
        description: "Capabilities a transfer container may add (only when allowRoot is true).",
    },
    privilegedNamespaces: {
        type: "array",
        items: { type: "string" },
        default: [],
        description: `Namespaces already labelled ${PSA_LABELS.map((l) => `${l}=privileged`).join(", ")} outside this stack.`,
    },
};

/** A policy's config schema: the entries of the knobs it reads. */
export function schema(...keys: (keyof PackConfig)[]): PolicyConfigSchema {
    const properties: PolicyConfigSchema["properties"] = {};
    for (const k of keys) {
        properties[k] = SCHEMA[k];
    }
    return { properties };
}

/**
 * The policy's configuration with the pack defaults filled in (the engine fills them too; tests may not). The engine
 * validates the config file against each policy's schema first; this repeats the check so that a wrong value can
 * never be read as "allowed".
 */
export function configOf(policy: string, args: { getConfig<T extends object>(): T }): PackConfig {
    const given = (args.getConfig<Partial<PackConfig>>() ?? {}) as Record<string, unknown>;
    const cfg: PackConfig = { ...PACK_DEFAULTS, allowedCapabilities: [...PACK_DEFAULTS.allowedCapabilities] };
    for (const k of Object.keys(PACK_DEFAULTS) as (keyof PackConfig)[]) {
        const v = given[k];
        if (v === undefined || v === null) {
            continue;
        }
        const isList = Array.isArray(PACK_DEFAULTS[k]);
        const ok = isList ? Array.isArray(v) && v.every((x) => typeof x === "string") : typeof v === "boolean";
        if (!ok) {
            const example = isList ? (k === "allowedCapabilities" ? ["CHOWN", "SETUID"] : ["app-3"]) : true;
            throw new Error(`policy pack config: "${policy}".${k} is ${JSON.stringify(v)}, but must be ` +
                `${isList ? "a list of strings" : "true or false"}; example: ${configHint(policy, { [k]: example })}`);
        }
        (cfg as any)[k] = v;
    }
    return cfg;
}

/** A pack config file entry, as an example in a message: `{"<policy>": {...props}}`. */
export const configHint = (policy: string, props: Record<string, unknown>) => JSON.stringify({ [policy]: props });
