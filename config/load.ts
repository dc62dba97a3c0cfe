// Loading: stack config map + wave file on disk -> validated Plan. The only I/O of the config layer (reading the wave
// file and kubeconfig files) happens here, behind a small `Files` interface so tests can use real temp files or fakes.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ConfigError, Problems } from "./errors";
import { ClusterAccess, Plan } from "./plan";
import { validateStackConfig, validateWave } from "./validate";

export interface Files {
    exists(p: string): boolean;
    read(p: string): string;
}

export const realFiles: Files = {
    exists: (p) => fs.existsSync(p),
    read: (p) => fs.readFileSync(p, "utf8"),
};

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
    for (const [side, access] of [["source", cfg.source], ["destination", cfg.destination]] as const) {
        if (access.kubeconfig !== undefined && !looksLikeKubeconfigContent(access.kubeconfig)) {
            const p = path.resolve(opts.projectDir, expandHome(access.kubeconfig));
            if (!files.exists(p)) {
                throw new ConfigError([{ where: `dvm:${side}.kubeconfig`, what: `is neither kubeconfig content nor an existing file (looked at ${p})`, example: `pulumi config set --secret --path dvm:${side}.kubeconfig "$(cat ~/.kube/${side}.yaml)"` }]);
            }
        }
    }
    return {
        ...cfg,
        wave: { name: wave.name, file: waveFile },
        namespaces: wave.namespaces.map((ns) => ({
            ...ns,
            pvcs: ns.pvcs.map((pvc) => ({ ...pvc, verify: pvc.verify || cfg.rsync.verify })),
        })),
    };
}

export function looksLikeKubeconfigContent(value: string): boolean {
    return value.includes("\n") || /^\s*[{]/.test(value) || /^\s*apiVersion\s*:/.test(value);
}

function expandHome(p: string): string {
    return p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
}

/**
 * The kubeconfig content for one side: inline content as is, a path read from disk, or — only when a context was
 * named explicitly and no kubeconfig given — the file the user's KUBECONFIG/~/.kube/config points at. Never used
 * silently: validation requires one of kubeconfig/context per side.
 */
export function resolveKubeconfig(access: ClusterAccess, projectDir: string, env: NodeJS.ProcessEnv = process.env, files: Files = realFiles): string {
    if (access.kubeconfig !== undefined) {
        return looksLikeKubeconfigContent(access.kubeconfig)
            ? access.kubeconfig
            : files.read(path.resolve(projectDir, expandHome(access.kubeconfig)));
    }
    const first = (env.KUBECONFIG ?? "").split(path.delimiter).find((x) => x.length > 0);
    const file = first ?? path.join(os.homedir(), ".kube", "config");
    return files.read(file);
}
