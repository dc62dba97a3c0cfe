// Loading: stack config map + wave file on disk -> validated Plan. The only I/O of the config layer (reading the wave
// file and kubeconfig files) happens here, behind a small `Files` interface so tests can use real temp files or fakes.

import * as path from "path";
import * as YAML from "yaml";
import { Files, kubeconfigPath, looksLikeKubeconfigContent, realFiles } from "../kube";
import { ConfigError, Problems } from "./errors";
import { transferNames } from "../components/names";
import { EndpointConfig, NamespacePlan, Plan } from "./plan";
import { validateStackConfig } from "./stack";
import { validateWave } from "./wave";

export type { Files } from "../kube";

/**
 * Turns the `dvm:` entries of a stack's config (as `pulumi.runtime.allConfig()` returns them: `"dvm:key"` -> string,
 * objects JSON-encoded) into the raw object `validateStackConfig` takes. Keys of other namespaces are ignored.
 */
export function rawDvmConfig(all: Record<string, string>): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(all)) {
        if (!key.startsWith("dvm:")) continue;
        const name = key.slice("dvm:".length);
        raw[name] = parseConfigValue(value);
    }
    return raw;
}

function parseConfigValue(value: string): unknown {
    const t = value.trim();
    if (t.startsWith("{") || t.startsWith("[")) {
        try {
            return JSON.parse(t);
        } catch {
            return value;
        }
    }
    if (t === "true" || t === "false") return t === "true";
    if (/^-?[0-9]+$/.test(t)) return Number(t);
    return value;
}

/** Parses a wave file's text; YAML syntax errors are reported with the file and line. */
export function parseWaveText(text: string, file: string): unknown {
    const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
        const p = new Problems();
        for (const e of doc.errors) {
            const line = e.linePos?.[0];
            p.add(`${file}${line ? `:${line.line}:${line.col}` : ""}`, `is not valid YAML: ${e.message.split("\n")[0]}`, "name: wave-1\nnamespaces:\n  - name: app-3\n    pvcs:\n      - {name: data, capacity: 10Gi}");
        }
        p.throwIfAny();
    }
    return doc.toJS();
}

export interface LoadOptions {
    /** All stack config, as `pulumi.runtime.allConfig()` returns it. */
    config: Record<string, string>;
    /** Directory the wave path (and relative kubeconfig paths) are resolved against: the project directory. */
    projectDir: string;
    files?: Files;
}

/** Loads and validates everything; throws ConfigError before any resource is declared. */
export function loadPlan(opts: LoadOptions): Plan {
    const files = opts.files ?? realFiles;
    const cfg = validateStackConfig(rawDvmConfig(opts.config));
    const waveFile = cfg.wave;
    const wavePath = path.resolve(opts.projectDir, waveFile);
    const example = "pulumi config set dvm:wave waves/wave-1.yaml";
    if (!files.exists(wavePath)) {
        throw new ConfigError([{ where: "dvm:wave", what: `wave file ${JSON.stringify(waveFile)} does not exist (looked at ${wavePath})`, example }]);
    }
    let text: string;
    try {
        text = files.read(wavePath);
    } catch (e) {
        throw new ConfigError([{ where: "dvm:wave", what: `wave file ${JSON.stringify(waveFile)} cannot be read: ${(e as Error).message}`, example }]);
    }
    const wave = validateWave(parseWaveText(text, waveFile), waveFile);
    const problems = new Problems();
    for (const [side, access] of [["source", cfg.source], ["destination", cfg.destination]] as const) {
        if (access.kubeconfig === undefined) continue;
        const where = `dvm:${side}.kubeconfig`;
        const example = `pulumi config set --secret --path dvm:${side}.kubeconfig "$(cat ~/.kube/${side}.yaml)"`;
        let text = access.kubeconfig;
        let what = "the kubeconfig content";
        if (!looksLikeKubeconfigContent(access.kubeconfig)) {
            const p = kubeconfigPath(access.kubeconfig, opts.projectDir);
            if (!files.exists(p)) {
                throw new ConfigError([{ where, what: `is neither kubeconfig content nor an existing file (looked at ${p})`, example }]);
            }
            try {
                text = files.read(p);
            } catch (e) {
                throw new ConfigError([{ where, what: `names ${p}, which cannot be read: ${(e as Error).message}`, example }]);
            }
            what = `the file ${p}`;
        }
        const e = kubeconfigError(text, access.context);
        // never the content itself in the message: it holds credentials
        if (e) problems.add(where, `${what} ${e}`, example);
    }
    problems.throwIfAny();
    transferHostProblems(cfg.destination.endpoint, wave.namespaces, waveFile).throwIfAny();
    return {
        ...cfg,
        wave: { name: wave.name, file: waveFile },
        namespaces: wave.namespaces.map((ns) => ({
            ...ns,
            pvcs: ns.pvcs.map((pvc) => ({ ...pvc, verify: pvc.verify || cfg.rsync.verify })),
        })),
    };
}

/** Why a text is not a kubeconfig (or lacks the named context), or undefined. Never quotes the text. */
export function kubeconfigError(text: string, context?: string): string | undefined {
    let doc: unknown;
    try {
        doc = YAML.parse(text);
    } catch {
        return "is not YAML or JSON, so it is not a kubeconfig";
    }
    const o = doc as Record<string, unknown> | null;
    if (typeof o !== "object" || o === null || Array.isArray(o)) return "is not a kubeconfig (a YAML mapping with kind: Config, clusters, users and contexts)";
    if (o.kind !== "Config") {
        return `is not a kubeconfig: its kind is ${o.kind === undefined ? "missing" : JSON.stringify(String(o.kind)).slice(0, 40)}, a kubeconfig has kind: Config`;
    }
    for (const list of ["clusters", "contexts", "users"]) {
        if (o[list] !== undefined && o[list] !== null && !Array.isArray(o[list])) return `is not a kubeconfig: ${list} must be a list`;
    }
    if (context !== undefined) {
        const names = Array.isArray(o.contexts) ? o.contexts.map((c) => (c as { name?: unknown })?.name).filter((n): n is string => typeof n === "string") : [];
        if (!names.includes(context)) return `has no context ${JSON.stringify(context)} (its contexts: ${names.join(", ") || "none"})`;
    }
    return undefined;
}

/** DNS limits of the transfer hosts `<hostLabel>.<subdomain>` (route, ingress): checked here, before any resource
 * exists, instead of failing inside an apply; and two namespaces whose shortened labels collide. */
export function transferHostProblems(endpoint: EndpointConfig, namespaces: NamespacePlan[], waveFile: string): Problems {
    const p = new Problems();
    if ((endpoint.type !== "route" && endpoint.type !== "ingress") || endpoint.subdomain === undefined) return p;
    const seen = new Map<string, number>();
    namespaces.forEach((ns, i) => {
        const label = transferNames("", ns.target, 1).hostLabel;
        const host = `${label}.${endpoint.subdomain}`;
        if (host.length > 253) {
            p.add("dvm:destination.endpoint.subdomain", `makes the transfer host of namespace ${JSON.stringify(ns.target)} ${host.length} characters long (${label}.<subdomain>); a host name has at most 253, so the subdomain may have at most ${252 - label.length}`,
                `dvm:destination.endpoint: {type: ${endpoint.type}, subdomain: apps.dst.example.com}`);
        }
        const other = seen.get(label);
        if (other !== undefined) {
            p.add(`${waveFile}: namespaces[${i}]`, `destination namespace ${JSON.stringify(ns.target)} gets the same transfer host label ${JSON.stringify(label)} as ${JSON.stringify(namespaces[other].target)} (namespaces[${other}]), whose long name is shortened with a hash to exactly this; the router would give the host to only one of them`,
                "namespaces:\n  - {name: app-a, targetNamespace: app-a-migrated}");
        } else {
            seen.set(label, i);
        }
    });
    return p;
}
