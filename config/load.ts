// Loading: stack config map + wave file on disk -> validated Plan. The only I/O of the config layer (reading the wave
// file and kubeconfig files) happens here, behind a small `Files` interface so tests can use real temp files or fakes.

import * as path from "path";
import * as YAML from "yaml";
import { Files, kubeconfigPath, looksLikeKubeconfigContent, realFiles } from "../kube";
import { ConfigError, Problems } from "./errors";
import { Plan } from "./plan";
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
    for (const [side, access] of [["source", cfg.source], ["destination", cfg.destination]] as const) {
        if (access.kubeconfig !== undefined && !looksLikeKubeconfigContent(access.kubeconfig)) {
            const p = kubeconfigPath(access.kubeconfig, opts.projectDir);
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
