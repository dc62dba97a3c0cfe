// How dvm talks to a cluster outside the Kubernetes providers: the program (which kubeconfig the providers get), the
// progress provider, the CLI and every command that reads a cluster decide "kubeconfig content or a path" and
// "which context" here, once.
//
// @kubernetes/client-node is required lazily inside kubeConfig(): the program itself only resolves kubeconfig text
// and must not pay for loading the client on every `pulumi up`. The progress provider is serialized by value, so
// nothing here keeps module-level state.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { KubeConfig } from "@kubernetes/client-node";

/** One cluster as the stack config names it (`dvm:source`, `dvm:destination`) or the CLI's flags do. */
export interface ClusterAccess {
    /** Path to a kubeconfig file, or the kubeconfig YAML/JSON itself. Treated as a secret. */
    kubeconfig?: string;
    /** Context inside the kubeconfig (or the ambient one when only a context is given explicitly). */
    context?: string;
}

export interface Files {
    exists(p: string): boolean;
    read(p: string): string;
}

export const realFiles: Files = {
    exists: (p) => fs.existsSync(p),
    read: (p) => fs.readFileSync(p, "utf8"),
};

/** Kubeconfig content (YAML over several lines, or JSON) rather than the path of a file. */
export function looksLikeKubeconfigContent(value: string): boolean {
    return value.includes("\n") || /^\s*[{]/.test(value) || /^\s*apiVersion\s*:/.test(value);
}

export function expandHome(p: string): string {
    return p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
}

/** The absolute path a kubeconfig value that is not content names (relative to baseDir, `~` expanded). */
export function kubeconfigPath(value: string, baseDir: string): string {
    return path.resolve(baseDir, expandHome(value.trim()));
}

/** The file the user's KUBECONFIG (its first entry) or ~/.kube/config points at. */
export function ambientKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
    const first = (env.KUBECONFIG ?? "").split(path.delimiter).find((x) => x.length > 0);
    return first ?? path.join(os.homedir(), ".kube", "config");
}

/**
 * The kubeconfig content for one cluster: inline content as is, a path read from disk, or - only when a context was
 * named explicitly and no kubeconfig given - the ambient file (ambientKubeconfigPath). Never used silently: the
 * stack validation requires one of kubeconfig/context per side.
 */
export function resolveKubeconfig(access: ClusterAccess, baseDir: string, env: NodeJS.ProcessEnv = process.env, files: Files = realFiles): string {
    if (access.kubeconfig !== undefined) {
        return looksLikeKubeconfigContent(access.kubeconfig) ? access.kubeconfig : files.read(kubeconfigPath(access.kubeconfig, baseDir));
    }
    return files.read(ambientKubeconfigPath(env));
}

export interface KubeConfigOptions {
    /** Where a relative kubeconfig path is resolved (default: the working directory). */
    baseDir?: string;
    /** With neither kubeconfig nor context: use the ambient kubeconfig (the CLI) instead of refusing (the provider). */
    ambient?: boolean;
    /** Names the setting in errors, e.g. `dvm:source` or `--kubeconfig`. */
    what?: string;
    /** Which cluster, in errors: `source`, `destination`. */
    cluster?: string;
    /** Who asks, in errors: `the progress reader`. */
    reader?: string;
}

/** A client-node KubeConfig for one cluster, with the context selected (and checked to exist). */
export function kubeConfig(access: ClusterAccess, opts: KubeConfigOptions = {}): KubeConfig {
    const k8s = require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
    const what = opts.what ?? "kubeconfig";
    const cluster = opts.cluster ? `${opts.cluster} ` : "";
    const kc = new k8s.KubeConfig();
    const text = (access.kubeconfig ?? "").trim();
    if (text) {
        if (looksLikeKubeconfigContent(access.kubeconfig!)) {
            kc.loadFromString(access.kubeconfig!);
        } else {
            const file = kubeconfigPath(text, opts.baseDir ?? process.cwd());
            if (!fs.existsSync(file)) throw new Error(`${what}: kubeconfig file ${file} does not exist (give a kubeconfig file or its content)`);
            kc.loadFromFile(file);
        }
    } else if (access.context || opts.ambient) {
        kc.loadFromDefault();
    } else {
        throw new Error(`${what}: ${opts.reader ?? "dvm"} got neither a kubeconfig nor a context for the ${cluster}cluster (e.g. pulumi config set --path ${what}.context kind-${opts.cluster ?? "source"})`);
    }
    if (access.context) {
        if (!kc.getContextObject(access.context)) {
            const known = kc.getContexts().map((c) => c.name).join(", ") || "none";
            throw new Error(`${what}.context: context "${access.context}" is not in the ${cluster}kubeconfig (contexts: ${known})`);
        }
        kc.setCurrentContext(access.context);
    }
    return kc;
}

/** The HTTP status of a client-node error, whichever shape the client version gives it. */
export function statusCode(e: unknown): number | undefined {
    const err = e as { statusCode?: number; response?: { statusCode?: number }; body?: { code?: number } } | undefined;
    return err?.statusCode ?? err?.response?.statusCode ?? err?.body?.code;
}

/** "cannot <what>: HTTP 403: <server message>" from a client-node error. */
export function apiError(what: string, e: unknown): Error {
    const err = e as { statusCode?: number; body?: { message?: string }; message?: string };
    const code = statusCode(e);
    return new Error(`cannot ${what}: ${code ? `HTTP ${code}: ` : ""}${err?.body?.message ?? err?.message ?? String(e)}`);
}
