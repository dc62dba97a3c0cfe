// Validation of the stack config (`dvm:*` keys) as a pure function: raw values in, the stack part of the plan out,
// or a ConfigError listing every problem (where, what, a valid example). No Pulumi resources, no I/O.
import { isIP } from "net";
import { closest, Problems } from "./errors";
import { imagesConfig } from "./images";
import { DEFAULT_RESOURCES, DEFAULT_RSYNC, DEFAULT_SECURITY, DEFAULT_TRANSFER_IMAGE, DEFAULTS } from "./defaults";
import { ENDPOINT_KINDS, ENDPOINT_TYPES, EndpointKindRow, RSYNC_KEYS, RSYNC_OPTIONS } from "./options";
import {
    ClusterAccess, EndpointConfig, EndpointType, MigrationMode, Plan, QuiesceOptions, ResourceRequirements, ResourcesConfig, RsyncOptions,
    SecurityOptions,
} from "./plan";
import { bool, describe, int, intList, isObj, object, Obj, optInt, str } from "./readers";
import { cidrError, dns1123SubdomainError, parseQuantity, rsyncExtraError } from "./rules";

/** Every `dvm:` key the program reads. Anything else under `dvm:` is a typo and rejected. */
export const CONFIG_KEYS = [
    "source", "destination", "wave", "transferImage", "rsync", "security", "resources", "stunnelWaitSeconds",
    "render", "pass", "credentialsVersion", "transferTimeoutMinutes", "debugHold", "maxConcurrentNamespaces", "images", "migration", "quiesce",
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
    migration: "pulumi config set dvm:migration cutover   # stage (default) | cutover | rollback",
    quiesce: "dvm:quiesce: {scope: pvcs, timeoutSeconds: 600}   # scope: pvcs (default) | namespace",
};

const MIGRATION_MODES: readonly MigrationMode[] = ["stage", "cutover", "rollback"];
const QUIESCE_SCOPES: readonly QuiesceOptions["scope"][] = ["pvcs", "namespace"];

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
            const head = /^([A-Za-z]+)[.[]/.exec(k)?.[1];
            if (head !== undefined && (CONFIG_KEYS as readonly string[]).includes(head)) {
                // `pulumi config set dvm:rsync.bwlimit 5` without --path stores the dotted name as one literal key
                p.add(`dvm:${k}`, `is a literal key with a dot in its name: it was set without --path, so it is not part of dvm:${head}; set it again with --path`,
                    `pulumi config rm dvm:${k}; pulumi config set --path 'dvm:${k}' <value>`);
                continue;
            }
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
    const transferTimeoutMinutes = int(p, raw.transferTimeoutMinutes, "dvm:transferTimeoutMinutes", DEFAULTS.transferTimeoutMinutes, 1, 60 * 24 * 30, "pulumi config set dvm:transferTimeoutMinutes 1440");
    const pass = int(p, raw.pass, "dvm:pass", DEFAULTS.pass, 1, 1_000_000, "pulumi config set dvm:pass 2   # run another (incremental) pass of the same wave");
    const credentialsVersion = int(p, raw.credentialsVersion, "dvm:credentialsVersion", DEFAULTS.credentialsVersion, 1, 1_000_000, "pulumi config set dvm:credentialsVersion 2   # rotate every key and password");
    const render = str(p, raw.render, "dvm:render", "pulumi config set dvm:render ./rendered");
    const debugHoldSeconds = debugHold(p, raw.debugHold, transferTimeoutMinutes);
    const maxConcurrentNamespaces = int(p, raw.maxConcurrentNamespaces, "dvm:maxConcurrentNamespaces", DEFAULTS.maxConcurrentNamespaces, 0, 100_000,
        "pulumi config set dvm:maxConcurrentNamespaces 10   # at most 10 source transfer pods at a time; 0 = no limit");
    const images = imagesConfig(p, raw.images);
    const migration = migrationMode(p, raw.migration);
    const quiesce = quiesceOptions(p, raw.quiesce === undefined ? {} : raw.quiesce);

    p.throwIfAny();
    return {
        source: source!, destination: { ...destination!, endpoint: endpoint! }, wave: wave!, transferImage, rsync,
        security, resources, stunnelWaitSeconds, transferTimeoutMinutes, pass,
        credentialsVersion, render, debugHoldSeconds, maxConcurrentNamespaces, ...(images ? { images } : {}), migration, quiesce,
    };
}

/** dvm:debugHold: false (default), true (until the Job's deadline, dvm:transferTimeoutMinutes) or minutes. */
function debugHold(p: Problems, v: unknown, timeoutMinutes: number): number {
    const example = "pulumi config set dvm:debugHold 30   # minutes a failed source pod stays up for kubectl exec (or true: until the transfer's deadline)";
    if (v === undefined || v === false || v === "false" || v === 0) return 0;
    if (v === true || v === "true") return timeoutMinutes * 60;
    if (typeof v === "number" && Number.isInteger(v) && v > 0 && v <= 60 * 24 * 30) return Math.min(v, timeoutMinutes) * 60;
    p.add("dvm:debugHold", `must be true, false or a whole number of minutes (1 to ${60 * 24 * 30}), got ${describe(v)}`, example);
    return 0;
}

function migrationMode(p: Problems, v: unknown): MigrationMode {
    if (v === undefined) return DEFAULTS.migration;
    if (typeof v === "string" && (MIGRATION_MODES as readonly string[]).includes(v)) return v as MigrationMode;
    const hint = typeof v === "string" ? closest(v, MIGRATION_MODES) : undefined;
    p.add("dvm:migration", `${describe(v)} is not a migration mode${hint ? ` (did you mean '${hint}'?)` : ""}; use one of ${MIGRATION_MODES.join(", ")}`, EXAMPLES.migration);
    return DEFAULTS.migration;
}

function quiesceOptions(p: Problems, v: unknown): QuiesceOptions {
    const where = "dvm:quiesce";
    const o = object(p, v, where, ["scope", "timeoutSeconds"], EXAMPLES.quiesce) ?? {};
    let scope: QuiesceOptions["scope"] = DEFAULTS.quiesceScope;
    if (o.scope !== undefined) {
        if (typeof o.scope === "string" && (QUIESCE_SCOPES as readonly string[]).includes(o.scope)) {
            scope = o.scope as QuiesceOptions["scope"];
        } else {
            const hint = typeof o.scope === "string" ? closest(o.scope, QUIESCE_SCOPES) : undefined;
            p.add(`${where}.scope`, `${describe(o.scope)} is not a quiesce scope${hint ? ` (did you mean '${hint}'?)` : ""}; use pvcs (the workloads that mount a PVC of the wave) or namespace (every workload of the namespace)`, EXAMPLES.quiesce);
        }
    }
    const timeoutSeconds = int(p, o.timeoutSeconds, `${where}.timeoutSeconds`, DEFAULTS.quiesceTimeoutSeconds, 1, 86400, EXAMPLES.quiesce);
    return { scope, timeoutSeconds };
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

function endpointConfig(p: Problems, v: unknown): EndpointConfig | undefined {
    const where = "dvm:destination.endpoint";
    const raw = v === undefined ? {} : v;
    const o = object(p, raw, where, ["type", "subdomain", "routerAddress", "ingressClass", "nodeAddress", "nodePort", "sourceRanges"], EXAMPLES.endpoint);
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
    const routerExample = "dvm:destination.endpoint: {type: route, subdomain: apps.dst.example.com, routerAddress: 192.0.2.20}";
    const routerAddress = str(p, o.routerAddress, `${where}.routerAddress`, routerExample);
    if (routerAddress !== undefined) {
        if (type !== "route" && type !== "ingress") {
            p.add(`${where}.routerAddress`, `is only for endpoint types route and ingress (the address of the router in front of the transfer hosts), not '${type}'`, routerExample);
        } else if (isIP(routerAddress) === 0 && dns1123SubdomainError(routerAddress)) {
            p.add(`${where}.routerAddress`, `${JSON.stringify(routerAddress)} is neither an IP address nor a DNS name`, routerExample);
        }
    }
    const ingressClass = str(p, o.ingressClass, `${where}.ingressClass`, "dvm:destination.endpoint: {type: ingress, subdomain: dst.example.com, ingressClass: nginx}");
    const nodeAddress = str(p, o.nodeAddress, `${where}.nodeAddress`, "dvm:destination.endpoint: {type: nodePort, nodeAddress: 192.0.2.10}");
    // the keys this kind needs (options.ts ENDPOINT_KINDS)
    const given: Record<string, string | undefined> = { subdomain, nodeAddress };
    for (const r of (ENDPOINT_KINDS.find((k) => k.type === type)?.requires ?? []) as readonly { key: string; why: string; example: string }[]) {
        if (given[r.key] === undefined) p.add(`${where}.${r.key}`, `is required for endpoint type '${type}': ${r.why}`, r.example);
    }
    const nodePort = optInt(p, o.nodePort, `${where}.nodePort`, 30000, 32767, "dvm:destination.endpoint: {type: nodePort, nodeAddress: 192.0.2.10, nodePort: 30873}");
    const sourceRanges = cidrList(p, o.sourceRanges, `${where}.sourceRanges`, type);
    return { type, subdomain, ingressClass, nodeAddress, nodePort, ...(sourceRanges ? { sourceRanges } : {}), ...(routerAddress ? { routerAddress } : {}) };
}

const SOURCE_RANGES_EXAMPLE = "pulumi config set --path 'dvm:destination.endpoint.sourceRanges[0]' 203.0.113.0/24   # the source cluster's egress addresses";

/** `dvm:destination.endpoint.sourceRanges`: a non-empty list of CIDRs, for a kind that can enforce it. */
function cidrList(p: Problems, v: unknown, where: string, type: EndpointType): string[] | undefined {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length === 0) {
        p.add(where, `must be a non-empty list of CIDRs (leave it unset to admit any address), got ${describe(v)}`, SOURCE_RANGES_EXAMPLE);
        return undefined;
    }
    const out: string[] = [];
    v.forEach((c, i) => {
        const e = cidrError(c);
        if (e) p.add(`${where}[${i}]`, e, SOURCE_RANGES_EXAMPLE);
        else out.push(c as string);
    });
    if ((ENDPOINT_KINDS as readonly EndpointKindRow[]).find((k) => k.type === type)?.sourceRanges === undefined) {
        p.add(where, `cannot be enforced for endpoint type '${type}': ingress-nginx hands an ssl-passthrough stream on before any of its address checks; use type loadBalancer or nodePort, or restrict the ingress controller itself`,
            "dvm:destination.endpoint: {type: loadBalancer, sourceRanges: [203.0.113.0/24]}");
    }
    return out;
}

function rsyncOptions(p: Problems, v: unknown): RsyncOptions {
    const where = "dvm:rsync";
    const o = object(p, v, where, RSYNC_KEYS, EXAMPLES.rsync) ?? {};
    const out = { ...DEFAULT_RSYNC } as unknown as Record<string, unknown>;
    for (const row of RSYNC_OPTIONS) {
        if (row.key && row.read) out[row.key] = row.read(p, o[row.key], `${where}.${row.key}`);
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
    out.extras = extras;
    const rsync = out as unknown as RsyncOptions;
    if (rsync.retryMaxDelaySeconds < rsync.retryDelaySeconds) {
        p.add("dvm:rsync.retryMaxDelaySeconds", `(${rsync.retryMaxDelaySeconds}) must be at least dvm:rsync.retryDelaySeconds (${rsync.retryDelaySeconds})`, "dvm:rsync: {retryDelaySeconds: 5, retryMaxDelaySeconds: 60}");
    }
    return rsync;
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
    // group 0 is root's group: it reads and writes whatever is group-root, so it belongs to root transfers only
    const groupFix = "dvm:security: {runAsGroup: 1000680000, targetSupplementalGroups: [5555]}   or   dvm:security: {runAsRoot: true}";
    if (!runAsRoot && runAsGroup === 0) {
        p.add(`${where}.runAsGroup`, "is 0 (root's group) while dvm:security.runAsRoot is false; give a non-zero group id, or set runAsRoot: true", groupFix);
    }
    for (const key of ["sourceSupplementalGroups", "targetSupplementalGroups"]) {
        const list = o[key];
        if (!runAsRoot && Array.isArray(list)) {
            list.forEach((g, i) => {
                if (g === 0 || g === "0") p.add(`${where}.${key}[${i}]`, "is 0 (root's group) while dvm:security.runAsRoot is false; remove it, or set runAsRoot: true", groupFix);
            });
        }
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
