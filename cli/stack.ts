// What the CLI reads from a stack through the pulumi CLI: config (the clusters, the pass) and the `migration` output.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { resolveKubeconfig } from "../kube";
import { Flags } from "./flags";

export function pulumi(args: string[], stack: string | undefined): string {
    const full = [...args, ...(stack ? ["--stack", stack] : [])];
    try {
        return execFileSync("pulumi", full, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
    } catch (e) {
        const err = e as { code?: string; stderr?: string; message: string };
        if (err.code === "ENOENT") throw new Error("the pulumi CLI is not on PATH (make toolchain builds one; or install Pulumi)");
        throw new Error(`pulumi ${full.join(" ")} failed: ${(err.stderr || err.message).trim()}`);
    }
}

/** The source cluster from flags, else the stack's dvm:source, else the ambient kubeconfig. */
export function resolveSource(f: Flags, readConfig: (stack: string | undefined) => { kubeconfig?: string; context?: string } | undefined): { kubeconfig?: string; context?: string; from: string } {
    if (f.kubeconfig || f.context) return { kubeconfig: f.kubeconfig && path.resolve(f.kubeconfig), context: f.context, from: "flags" };
    const cfg = readConfig(f.stack);
    if (cfg && (cfg.kubeconfig || cfg.context)) {
        const from = `stack config dvm:source${f.stack ? ` (${f.stack})` : ""}`;
        // the same resolution as the program: inline content, a path (relative to the project, ~ expanded), or the
        // ambient kubeconfig when only a context is named
        let kubeconfig: string;
        try {
            kubeconfig = resolveKubeconfig(cfg, process.cwd());
        } catch (e) {
            throw new Error(`cannot read the source kubeconfig from ${from}: ${(e as Error).message}`);
        }
        return { kubeconfig, context: cfg.context, from };
    }
    const home = process.env.HOME ?? "";
    if (!process.env.KUBECONFIG && !fs.existsSync(path.join(home, ".kube", "config"))) {
        throw new Error(`no source cluster: pass --kubeconfig <file> or --context <ctx>, or --stack <stack> with dvm:source set (e.g. pulumi config set --path dvm:source.kubeconfig ~/.kube/source.yaml)`);
    }
    return { from: "KUBECONFIG / ~/.kube/config" };
}

export function readStackSource(stack: string | undefined): { kubeconfig?: string; context?: string } | undefined {
    try {
        const out = JSON.parse(pulumi(["config", "get", "dvm:source", "--json"], stack));
        const v = out.objectValue ?? (typeof out.value === "string" ? JSON.parse(out.value) : out.value);
        return v && typeof v === "object" ? v : undefined;
    } catch (e) {
        // a stack named on the command line must be readable; without one, fall back to the ambient kubeconfig
        if (stack) throw new Error(`cannot read dvm:source of stack ${stack}: ${(e as Error).message}`);
        return undefined;
    }
}

/** The stack's dvm:pass (1 when unset), so `watch` follows the pass `pulumi up` is running. */
export function readStackPass(stack: string): number {
    try {
        const v = Number(pulumi(["config", "get", "dvm:pass"], stack).trim());
        return Number.isInteger(v) && v >= 1 ? v : 1;
    } catch {
        return 1;
    }
}

/** Every config value of a stack as the program receives it (`"dvm:key"` -> string, objects JSON-encoded). Secrets
 * are decrypted: the kubeconfigs may be secrets, and they only go to the Kubernetes client. */
export function readStackConfig(stack: string): Record<string, string> {
    const out = JSON.parse(pulumi(["config", "--json", "--show-secrets"], stack)) as Record<string, { value?: unknown; objectValue?: unknown }>;
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, typeof v.value === "string" ? v.value : JSON.stringify(v.objectValue ?? v.value ?? "")]));
}

/** The project directory (where Pulumi.yaml is), from `dir` upwards: wave files and relative kubeconfig paths of a
 * stack are relative to it. */
export function projectDir(dir: string = process.cwd()): string {
    for (let d = path.resolve(dir); ; d = path.dirname(d)) {
        if (fs.existsSync(path.join(d, "Pulumi.yaml"))) return d;
        if (path.dirname(d) === d) throw new Error(`no Pulumi.yaml in ${dir} or above: run dvm with --stack in the dvm project directory (the one with Pulumi.yaml and stacks/)`);
    }
}
