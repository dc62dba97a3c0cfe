// Validation of the stack config (`dvm:*` keys) and of the wave file, as pure functions: raw values in, typed plan
// parts out, or a ConfigError listing every problem (where, what, a valid example). No Pulumi resources, no I/O.

import { closest, Problems } from "./errors";
import {
    ClusterAccess, EndpointConfig, EndpointType, NamespacePlan, Plan, PvcPlan, ResourceRequirements, ResourcesConfig,
    RsyncOptions, SecurityOptions,
} from "./plan";
import { accessModeError, dns1123LabelError, dns1123SubdomainError, parseQuantity, rsyncExtraError } from "./rules";

export const DEFAULT_TRANSFER_IMAGE = "quay.io/konveyor/rsync-transfer:latest";
/** MTC's default --info value: per-file copy/delete/skip lines plus whole-transfer progress and stats. */
export const DEFAULT_RSYNC_INFO = "COPY2,DEL2,REMOVE2,SKIP2,FLIST2,PROGRESS2,STATS2";

export const DEFAULT_RSYNC: RsyncOptions = {
    archive: true, delete: true, hardLinks: true, partial: true, bwlimit: 0, info: DEFAULT_RSYNC_INFO,
    extras: [], backoffLimit: 20, verify: false, timeout: 600, sparse: "auto", inplace: "auto",
};
export const DEFAULT_SECURITY: SecurityOptions = {
    runAsRoot: false, superPrivileged: false, sourceSupplementalGroups: [], targetSupplementalGroups: [],
    podSecurityLabels: true,
};
export const DEFAULT_RESOURCES: ResourcesConfig = {
    rsync: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "2", memory: "1Gi" } },
    rsyncd: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "2", memory: "1Gi" } },
    stunnel: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "1", memory: "256Mi" } },
};
export const DEFAULTS = {
    stunnelWaitSeconds: 600,
    retryDelaySeconds: 5,
    retryMaxDelaySeconds: 60,
    transferTimeoutMinutes: 1440,
    pass: 1,
    credentialsVersion: 1,
};

/** Every `dvm:` key the program reads. Anything else under `dvm:` is a typo and rejected. */
export const CONFIG_KEYS = [
    "source", "destination", "wave", "transferImage", "rsync", "security", "resources", "stunnelWaitSeconds",
    "render", "pass", "credentialsVersion", "transferTimeoutMinutes",
] as const;

const EXAMPLES = {
    source: "pulumi config set --secret --path dvm:source.kubeconfig \"$(cat ~/.kube/src.yaml)\"   (or: pulumi config set --path dvm:source.context src-admin)",
    destination: "pulumi config set --path dvm:destination.context dst-admin; pulumi config set --path dvm:destination.endpoint.type route; pulumi config set --path dvm:destination.endpoint.subdomain apps.dst.example.com",
    wave: "pulumi config set dvm:wave waves/wave-1.yaml",
    endpoint: "dvm:destination.endpoint: {type: route, subdomain: apps.dst.example.com}",
    rsync: "dvm:rsync: {archive: true, delete: true, hardLinks: true, partial: true, bwlimit: 0, extras: [--compress], backoffLimit: 20, verify: false}",
    extras: "pulumi config set --path 'dvm:rsync.extras[0]' -- --compress",
    security: "dvm:security: {runAsRoot: false, superPrivileged: false, sourceSupplementalGroups: [5555]}",
    resources: "dvm:resources: {rsync: {requests: {cpu: 100m, memory: 256Mi}, limits: {cpu: '2', memory: 1Gi}}}",
};

// ---------------------------------------------------------------------------------------------------------------
// small typed readers: each records a problem and returns undefined when the value is unusable

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An object with only the known keys (typos reported with a suggestion). */
function object(p: Problems, v: unknown, where: string, keys: readonly string[], example: string): Obj | undefined {
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

function bool(p: Problems, v: unknown, where: string, dflt: boolean, example: string): boolean {
    if (v === undefined) return dflt;
    if (typeof v === "boolean") return v;
    if (v === "true" || v === "false") return v === "true";
    p.add(where, `must be true or false, got ${describe(v)}`, example);
    return dflt;
}

/** `auto`, true or false (a string "true"/"false" from `pulumi config set --path` counts as the boolean). */
function autoBool(p: Problems, v: unknown, where: string, dflt: "auto" | boolean, example: string): "auto" | boolean {
    if (v === undefined) return dflt;
    if (typeof v === "boolean" || v === "auto") return v;
    if (v === "true" || v === "false") return v === "true";
    p.add(where, `must be auto, true or false, got ${describe(v)}`, example);
    return dflt;
}

function int(p: Problems, v: unknown, where: string, dflt: number, min: number, max: number, example: string): number {
    if (v === undefined) return dflt;
    const n = typeof v === "string" && /^-?[0-9]+$/.test(v) ? Number(v) : v;
    if (typeof n === "number" && Number.isInteger(n) && n >= min && n <= max) return n;
    p.add(where, `must be a whole number from ${min} to ${max}, got ${describe(v)}`, example);
    return dflt;
}

function optInt(p: Problems, v: unknown, where: string, min: number, max: number, example: string): number | undefined {
    return v === undefined ? undefined : int(p, v, where, min, min, max, example);
}

function str(p: Problems, v: unknown, where: string, example: string): string | undefined {
    if (v === undefined) return undefined;
    if (typeof v === "string" && v.length > 0) return v;
    p.add(where, `must be a non-empty string, got ${describe(v)}`, example);
    return undefined;
}

function intList(p: Problems, v: unknown, where: string, example: string): number[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
        p.add(where, `must be a list of group ids, got ${describe(v)}`, example);
        return [];
    }
    return v.map((x, i) => int(p, x, `${where}[${i}]`, 0, 0, 2 ** 31 - 1, example));
}

function describe(v: unknown): string {
    if (v === undefined) return "nothing";
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function join(where: string, key: string | number): string {
    return typeof key === "number" ? `${where}[${key}]` : `${where}.${key}`;
}

// ---------------------------------------------------------------------------------------------------------------
// stack config

/** The stack-config part of the plan: everything but the wave file's content (`wave` is still the file's path). */
export type StackConfig = Omit<Plan, "wave" | "namespaces"> & { wave: string };

/**
 * Validates the `dvm:` stack config. `raw` maps key names without the `dvm:` prefix to their values (objects already
 * parsed from JSON). Throws ConfigError with every problem found.
 */
export function validateStackConfig(raw: Obj): StackConfig {
    const p = new Problems();
    for (const k of Object.keys(raw)) {
        if (!(CONFIG_KEYS as readonly string[]).includes(k)) {
            const hint = closest(k, CONFIG_KEYS);
            p.add(`dvm:${k}`, `unknown config key${hint ? ` (did you mean 'dvm:${hint}'?)` : ""}; known keys: ${CONFIG_KEYS.map((c) => `dvm:${c}`).join(", ")}`,
                `pulumi config rm dvm:${k}${hint ? `; pulumi config set dvm:${hint} ...` : ""}`);
        }
    }
    const source = clusterAccess(p, raw.source, "dvm:source", ["kubeconfig", "context"], EXAMPLES.source);
    const destination = clusterAccess(p, raw.destination, "dvm:destination", ["kubeconfig", "context", "endpoint"], EXAMPLES.destination);
    const endpoint = endpointConfig(p, isObj(raw.destination) ? raw.destination.endpoint : undefined);

    const wave = str(p, raw.wave, "dvm:wave", EXAMPLES.wave);
    if (wave === undefined && raw.wave === undefined) {
        p.add("dvm:wave", "is required: the path of the wave file (relative to the project directory) this `pulumi up` migrates", EXAMPLES.wave);
    }
    const transferImage = str(p, raw.transferImage, "dvm:transferImage", `pulumi config set dvm:transferImage ${DEFAULT_TRANSFER_IMAGE}`) ?? DEFAULT_TRANSFER_IMAGE;
    if (/\s/.test(transferImage)) {
        p.add("dvm:transferImage", "must be an image reference without whitespace", `pulumi config set dvm:transferImage ${DEFAULT_TRANSFER_IMAGE}`);
    }
    const rsyncRaw = raw.rsync === undefined ? {} : raw.rsync;
    const rsync = rsyncOptions(p, rsyncRaw);
    const security = securityOptions(p, raw.security === undefined ? {} : raw.security);
    const resources = resourcesConfig(p, raw.resources === undefined ? {} : raw.resources);
    const stunnelWaitSeconds = int(p, raw.stunnelWaitSeconds, "dvm:stunnelWaitSeconds", DEFAULTS.stunnelWaitSeconds, 1, 86400, "pulumi config set dvm:stunnelWaitSeconds 600");
    const rsyncObj = isObj(rsyncRaw) ? rsyncRaw : {};
    const retryBaseSeconds = int(p, rsyncObj.retryDelaySeconds, "dvm:rsync.retryDelaySeconds", DEFAULTS.retryDelaySeconds, 0, 3600, "pulumi config set --path dvm:rsync.retryDelaySeconds 5");
    const retryMaxSeconds = int(p, rsyncObj.retryMaxDelaySeconds, "dvm:rsync.retryMaxDelaySeconds", DEFAULTS.retryMaxDelaySeconds, 0, 86400, "pulumi config set --path dvm:rsync.retryMaxDelaySeconds 60");
    if (retryMaxSeconds < retryBaseSeconds) {
        p.add("dvm:rsync.retryMaxDelaySeconds", `(${retryMaxSeconds}) must be at least dvm:rsync.retryDelaySeconds (${retryBaseSeconds})`, "dvm:rsync: {retryDelaySeconds: 5, retryMaxDelaySeconds: 60}");
    }
    const transferTimeoutMinutes = int(p, raw.transferTimeoutMinutes, "dvm:transferTimeoutMinutes", DEFAULTS.transferTimeoutMinutes, 1, 60 * 24 * 30, "pulumi config set dvm:transferTimeoutMinutes 1440");
    const pass = int(p, raw.pass, "dvm:pass", DEFAULTS.pass, 1, 1_000_000, "pulumi config set dvm:pass 2   # run another (incremental) pass of the same wave");
    const credentialsVersion = int(p, raw.credentialsVersion, "dvm:credentialsVersion", DEFAULTS.credentialsVersion, 1, 1_000_000, "pulumi config set dvm:credentialsVersion 2   # rotate every key and password");
    const render = str(p, raw.render, "dvm:render", "pulumi config set dvm:render ./rendered");

    p.throwIfAny();
    return {
        source: source!, destination: { ...destination!, endpoint: endpoint! }, wave: wave!, transferImage, rsync,
        security, resources, stunnelWaitSeconds, retryBaseSeconds, retryMaxSeconds, transferTimeoutMinutes, pass,
        credentialsVersion, render,
    };
}

function clusterAccess(p: Problems, v: unknown, where: string, keys: string[], example: string): ClusterAccess | undefined {
    if (v === undefined) {
        p.add(where, "is required: dvm never falls back to the ambient KUBECONFIG; give a kubeconfig (a file path or its content, as a secret) or a context name", example);
        return undefined;
    }
    const o = object(p, v, where, keys, example);
    if (!o) return undefined;
    const kubeconfig = str(p, o.kubeconfig, `${where}.kubeconfig`, example);
    const context = str(p, o.context, `${where}.context`, example);
    if (kubeconfig === undefined && context === undefined && o.kubeconfig === undefined && o.context === undefined) {
        p.add(where, "needs kubeconfig or context: dvm never falls back to the ambient KUBECONFIG silently", example);
    }
    return { kubeconfig, context };
}

const ENDPOINT_TYPES: readonly EndpointType[] = ["route", "ingress", "loadBalancer", "nodePort", "clusterIP"];

function endpointConfig(p: Problems, v: unknown): EndpointConfig | undefined {
    const where = "dvm:destination.endpoint";
    const raw = v === undefined ? {} : v;
    const o = object(p, raw, where, ["type", "subdomain", "ingressClass", "nodeAddress", "nodePort"], EXAMPLES.endpoint);
    if (!o) return undefined;
    let type: EndpointType = "route";
    if (o.type !== undefined) {
        if (typeof o.type === "string" && (ENDPOINT_TYPES as readonly string[]).includes(o.type)) {
            type = o.type as EndpointType;
        } else {
            const hint = typeof o.type === "string" ? closest(o.type, ENDPOINT_TYPES) : undefined;
            p.add(`${where}.type`, `${describe(o.type)} is not an endpoint type${hint ? ` (did you mean '${hint}'?)` : ""}; use one of ${ENDPOINT_TYPES.join(", ")}`, EXAMPLES.endpoint);
        }
    }
    const subdomain = str(p, o.subdomain, `${where}.subdomain`, EXAMPLES.endpoint);
    if (subdomain !== undefined) {
        const e = dns1123SubdomainError(subdomain);
        if (e) p.add(`${where}.subdomain`, `${JSON.stringify(subdomain)} ${e}`, EXAMPLES.endpoint);
    }
    if ((type === "route" || type === "ingress") && subdomain === undefined) {
        p.add(`${where}.subdomain`, `is required for endpoint type '${type}': transfer hosts are <name>.<subdomain> (the cluster's apps/ingress domain)`, `dvm:destination.endpoint: {type: ${type}, subdomain: apps.dst.example.com}`);
    }
    const ingressClass = str(p, o.ingressClass, `${where}.ingressClass`, "dvm:destination.endpoint: {type: ingress, subdomain: dst.example.com, ingressClass: nginx}");
    const nodeAddress = str(p, o.nodeAddress, `${where}.nodeAddress`, "dvm:destination.endpoint: {type: nodePort, nodeAddress: 192.0.2.10}");
    if (type === "nodePort" && nodeAddress === undefined) {
        p.add(`${where}.nodeAddress`, "is required for endpoint type 'nodePort': the address of a destination node the source pods can reach", "dvm:destination.endpoint: {type: nodePort, nodeAddress: 192.0.2.10}");
    }
    const nodePort = optInt(p, o.nodePort, `${where}.nodePort`, 30000, 32767, "dvm:destination.endpoint: {type: nodePort, nodeAddress: 192.0.2.10, nodePort: 30873}");
    return { type, subdomain, ingressClass, nodeAddress, nodePort };
}

function rsyncOptions(p: Problems, v: unknown): RsyncOptions {
    const where = "dvm:rsync";
    const keys = [...Object.keys(DEFAULT_RSYNC), "retryDelaySeconds", "retryMaxDelaySeconds"];
    const o = object(p, v, where, keys, EXAMPLES.rsync) ?? {};
    const d = DEFAULT_RSYNC;
    let info = d.info;
    if (o.info !== undefined) {
        if (typeof o.info === "string" && /^[A-Za-z0-9,]+$/.test(o.info)) {
            info = o.info;
        } else {
            p.add(`${where}.info`, `must be an rsync --info value (comma-separated FLAGn words), got ${describe(o.info)}`, `pulumi config set --path dvm:rsync.info ${DEFAULT_RSYNC_INFO}`);
        }
    }
    if (!info.toUpperCase().includes("PROGRESS2") || !info.toUpperCase().includes("STATS2")) {
        p.add(`${where}.info`, `must include PROGRESS2 and STATS2: dvm reads progress and statistics from rsync's output, got ${JSON.stringify(info)}`, `pulumi config set --path dvm:rsync.info ${DEFAULT_RSYNC_INFO}`);
    }
    const extras: string[] = [];
    if (o.extras !== undefined) {
        if (!Array.isArray(o.extras)) {
            p.add(`${where}.extras`, `must be a list of rsync options, got ${describe(o.extras)}`, EXAMPLES.extras);
        } else {
            o.extras.forEach((x, i) => {
                const e = rsyncExtraError(x);
                if (e) p.add(`${where}.extras[${i}]`, e, EXAMPLES.extras);
                else extras.push(x as string);
            });
        }
    }
    return {
        archive: bool(p, o.archive, `${where}.archive`, d.archive, EXAMPLES.rsync),
        delete: bool(p, o.delete, `${where}.delete`, d.delete, EXAMPLES.rsync),
        hardLinks: bool(p, o.hardLinks, `${where}.hardLinks`, d.hardLinks, EXAMPLES.rsync),
        partial: bool(p, o.partial, `${where}.partial`, d.partial, EXAMPLES.rsync),
        bwlimit: int(p, o.bwlimit, `${where}.bwlimit`, d.bwlimit, 0, 10_000_000, "pulumi config set --path dvm:rsync.bwlimit 50000   # KiB/s, 0 = unlimited"),
        info,
        extras,
        backoffLimit: int(p, o.backoffLimit, `${where}.backoffLimit`, d.backoffLimit, 0, 100, "pulumi config set --path dvm:rsync.backoffLimit 20"),
        verify: bool(p, o.verify, `${where}.verify`, d.verify, EXAMPLES.rsync),
        sparse: autoBool(p, o.sparse, `${where}.sparse`, d.sparse!,
            "pulumi config set --path dvm:rsync.sparse auto   # --sparse only for PVCs with sparse files (or true: always, false: never)"),
        inplace: autoBool(p, o.inplace, `${where}.inplace`, d.inplace!,
            "pulumi config set --path dvm:rsync.inplace auto   # --inplace only into empty destination volumes (or true: always, false: never)"),
        timeout: int(p, o.timeout, `${where}.timeout`, d.timeout!, 0, 86400, "pulumi config set --path dvm:rsync.timeout 600   # seconds without I/O; 0 = wait forever"),
    };
}

function securityOptions(p: Problems, v: unknown): SecurityOptions {
    const where = "dvm:security";
    const keys = ["runAsRoot", "runAsUser", "runAsGroup", "superPrivileged", "sourceSupplementalGroups", "targetSupplementalGroups", "podSecurityLabels"];
    const o = object(p, v, where, keys, EXAMPLES.security) ?? {};
    const d = DEFAULT_SECURITY;
    const runAsRoot = bool(p, o.runAsRoot, `${where}.runAsRoot`, d.runAsRoot, EXAMPLES.security);
    const runAsUser = optInt(p, o.runAsUser, `${where}.runAsUser`, 0, 2 ** 31 - 1, "pulumi config set --path dvm:security.runAsUser 1000680000");
    const runAsGroup = optInt(p, o.runAsGroup, `${where}.runAsGroup`, 0, 2 ** 31 - 1, "pulumi config set --path dvm:security.runAsGroup 1000680000");
    if (!runAsRoot && runAsUser === 0) {
        p.add(`${where}.runAsUser`, "is 0 (root) while dvm:security.runAsRoot is false; set runAsRoot: true to transfer as root, or give a non-zero user id",
            "dvm:security: {runAsRoot: true}   or   dvm:security: {runAsUser: 1000680000}");
    }
    if (runAsRoot && runAsUser !== undefined && runAsUser !== 0) {
        p.add(`${where}.runAsUser`, `is ${runAsUser} while dvm:security.runAsRoot is true; drop runAsUser or runAsRoot`, "dvm:security: {runAsRoot: true}");
    }
    return {
        runAsRoot,
        runAsUser,
        runAsGroup,
        superPrivileged: bool(p, o.superPrivileged, `${where}.superPrivileged`, d.superPrivileged, EXAMPLES.security),
        sourceSupplementalGroups: intList(p, o.sourceSupplementalGroups, `${where}.sourceSupplementalGroups`, EXAMPLES.security),
        targetSupplementalGroups: intList(p, o.targetSupplementalGroups, `${where}.targetSupplementalGroups`, EXAMPLES.security),
        podSecurityLabels: bool(p, o.podSecurityLabels, `${where}.podSecurityLabels`, d.podSecurityLabels, "pulumi config set --path dvm:security.podSecurityLabels true"),
    };
}

function resourcesConfig(p: Problems, v: unknown): ResourcesConfig {
    const where = "dvm:resources";
    const containers = ["rsync", "rsyncd", "stunnel"] as const;
    const o = object(p, v, where, containers, EXAMPLES.resources) ?? {};
    const out = {} as ResourcesConfig;
    for (const c of containers) {
        out[c] = requirements(p, o[c], `${where}.${c}`, DEFAULT_RESOURCES[c]);
    }
    return out;
}

function requirements(p: Problems, v: unknown, where: string, d: ResourceRequirements): ResourceRequirements {
    if (v === undefined) return d;
    const o = object(p, v, where, ["requests", "limits"], EXAMPLES.resources);
    if (!o) return d;
    const part = (kind: "requests" | "limits") => {
        const x = o[kind] === undefined ? {} : object(p, o[kind], `${where}.${kind}`, ["cpu", "memory"], EXAMPLES.resources) ?? {};
        const q = (k: "cpu" | "memory") => {
            const val = x[k] === undefined ? d[kind][k] : typeof x[k] === "number" ? String(x[k]) : x[k];
            if (typeof val !== "string" || parseQuantity(val) === undefined || parseQuantity(val)! <= 0) {
                p.add(`${where}.${kind}.${k}`, `${describe(x[k])} is not a positive Kubernetes quantity`, k === "cpu" ? `${where}.${kind}.cpu: 500m` : `${where}.${kind}.memory: 512Mi`);
                return d[kind][k];
            }
            return val;
        };
        return { cpu: q("cpu"), memory: q("memory") };
    };
    const requests = part("requests");
    const limits = part("limits");
    for (const k of ["cpu", "memory"] as const) {
        if (parseQuantity(requests[k])! > parseQuantity(limits[k])!) {
            p.add(`${where}.requests.${k}`, `(${requests[k]}) is larger than ${where}.limits.${k} (${limits[k]})`, `${where}: {requests: {${k}: ${d.requests[k]}}, limits: {${k}: ${d.limits[k]}}}`);
        }
    }
    return { requests, limits };
}

// ---------------------------------------------------------------------------------------------------------------
// wave file

export interface WavePlan {
    name: string;
    namespaces: NamespacePlan[];
}

const WAVE_EXAMPLE = `name: wave-1
namespaces:
  - name: app-3
    pvcs:
      - {name: postgresql, capacity: 10Gi, accessModes: [ReadWriteOnce], storageClass: gp3-csi}`;

/** Validates a parsed wave file. `file` is the path shown in messages. */
export function validateWave(doc: unknown, file: string): WavePlan {
    const p = new Problems();
    const at = (path: string) => `${file}: ${path}`;
    const o = object(p, doc, at("(top level)"), ["name", "namespaces", "storageClass"], WAVE_EXAMPLE);
    if (!o) p.throwIfAny();
    const top = o!;

    let name = "";
    if (typeof top.name !== "string") {
        p.add(at("name"), `is required: a DNS-1123 label naming the wave, got ${describe(top.name)}`, WAVE_EXAMPLE);
    } else {
        name = top.name;
        const e = dns1123LabelError(name);
        if (e) p.add(at("name"), `${JSON.stringify(name)} ${e}`, WAVE_EXAMPLE);
    }
    let defaultClass: string | undefined;
    if (top.storageClass !== undefined) {
        if (typeof top.storageClass !== "string" || dns1123SubdomainError(top.storageClass)) {
            p.add(at("storageClass"), `must be a storage class name (DNS-1123 subdomain), got ${describe(top.storageClass)}`, "storageClass: gp3-csi");
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
                p.add(at(`namespaces[${i}].targetNamespace`), `destination namespace ${JSON.stringify(ns.target)} is also the destination of namespaces[${dupTarget}]; each source namespace needs its own destination namespace`,
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
            p.add(at(`${path}.${key}`), `must be a namespace name, got ${describe(v)}`, WAVE_EXAMPLE);
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
            p.add(at(`${path}.nodeName`), `must be a node name (DNS-1123 subdomain), got ${describe(o.nodeName)}`, "nodeName: worker-1");
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
                p.add(at(`${path}.pvcs[${j}].targetName`), `destination PVC ${JSON.stringify(pvc.target)} is also the destination of pvcs[${dt}]; two volumes would be copied into one`,
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
            p.add(at(`${path}.${key}`), `must be a PVC name, got ${describe(v)}`, "- {name: postgresql, capacity: 10Gi}");
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
            p.add(at(`${path}.storageClass`), `must be a storage class name (DNS-1123 subdomain), got ${describe(o.storageClass)}`, "storageClass: gp3-csi");
        } else {
            storageClass = o.storageClass;
        }
    }
    const verify = bool(p, o.verify, at(`${path}.verify`), false, "verify: true");
    if (source === undefined || target === undefined || capacity === undefined) return undefined;
    return { source, target, capacity, accessModes, storageClass, verify };
}
