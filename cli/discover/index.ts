// `dvm discover`: a reviewable wave file from the source cluster. Reads the named namespaces (and the destination's
// storage classes), writes the wave with comments for the reviewer, to stdout or --out; reads only.
import * as fs from "fs";
import * as path from "path";
import type { KubeConfig } from "@kubernetes/client-node";
import { rawDvmConfig } from "../../config/load";
import { dns1123LabelError, dns1123SubdomainError } from "../../config/rules";
import { apiError, ClusterAccess, kubeConfig } from "../../kube";
import { namespacesMatching, storageClasses, StorageClassInfo } from "../../kube/cluster";
import { Flags } from "../flags";
import { formatBytes } from "../format";
import { projectDir, readStackConfig } from "../stack";
import { parseClassMap } from "./classes";
import { readSource } from "./read";
import { discoverWaves } from "./wave";

interface Side {
    kc: KubeConfig;
    where: string;
}

const EXAMPLE = "dvm discover --stack my-pair --namespace shop --namespace wiki --out waves/wave-1.yaml";

/** `what` names the setting in errors: `dvm:source`, or the flag pair `--kubeconfig` / `--context`. */
function side(access: ClusterAccess, origin: string, what: string | [string, string], cluster: "source" | "destination", baseDir: string): Side {
    let kc: KubeConfig;
    try {
        kc = kubeConfig(access, { ambient: true, what: typeof what === "string" ? what : what[0], cluster, baseDir });
    } catch (e) {
        // kube/index.ts names the context `<what>.context`: for flags that is the context flag itself
        throw typeof what === "string" ? e : new Error((e as Error).message.replace(`${what[0]}.context`, what[1]));
    }
    return { kc, where: `${origin}, context ${kc.getCurrentContext() || "(none)"}` };
}

/** The clusters from the flags, else from the stack (--stack), else (the source only) the ambient kubeconfig. */
export function resolveClusters(f: Flags, readStack: (stack: string) => Record<string, string> = readStackConfig): { source: Side; destination?: Side } {
    let stack: Record<string, unknown> = {};
    let base = process.cwd();
    if (f.stack) {
        base = projectDir();
        stack = rawDvmConfig(readStack(f.stack));
    }
    const fromStack = (key: "source" | "destination"): ClusterAccess | undefined => {
        const v = stack[key];
        if (v === undefined) return undefined;
        if (typeof v !== "object" || v === null) throw new Error(`stack ${f.stack}: dvm:${key} must be an object with kubeconfig and/or context, e.g. pulumi config set --path dvm:${key}.context ${key === "source" ? "src-admin" : "dst-admin"}`);
        const o = v as Record<string, unknown>;
        return { ...(typeof o.kubeconfig === "string" ? { kubeconfig: o.kubeconfig } : {}), ...(typeof o.context === "string" ? { context: o.context } : {}) };
    };
    let source: Side;
    if (f.kubeconfig || f.context) {
        source = side({ kubeconfig: f.kubeconfig && path.resolve(f.kubeconfig), context: f.context }, f.kubeconfig ? `--kubeconfig ${f.kubeconfig}` : "--context", ["--kubeconfig", "--context"], "source", process.cwd());
    } else if (fromStack("source")) {
        source = side(fromStack("source")!, `stack ${f.stack} dvm:source`, "dvm:source", "source", base);
    } else {
        if (f.stack) throw new Error(`stack ${f.stack} has no dvm:source; set it (pulumi config set --path dvm:source.context src-admin --stack ${f.stack}) or pass --kubeconfig/--context`);
        source = side({}, "KUBECONFIG / ~/.kube/config", ["--kubeconfig", "--context"], "source", process.cwd());
    }
    let destination: Side | undefined;
    if (f.destinationKubeconfig || f.destinationContext) {
        destination = side({ kubeconfig: f.destinationKubeconfig && path.resolve(f.destinationKubeconfig), context: f.destinationContext },
            f.destinationKubeconfig ? `--destination-kubeconfig ${f.destinationKubeconfig}` : "--destination-context", ["--destination-kubeconfig", "--destination-context"], "destination", process.cwd());
    } else if (fromStack("destination")) {
        destination = side(fromStack("destination")!, `stack ${f.stack} dvm:destination`, "dvm:destination", "destination", base);
    }
    return { source, destination };
}

/** The wave name: --name, else the --out file's base name when it is a DNS label, else wave-1. */
export function waveName(f: Flags): string {
    if (f.name !== undefined) {
        const e = dns1123LabelError(f.name);
        if (e) throw new Error(`--name ${JSON.stringify(f.name)} ${e}; example: --name wave-1`);
        if (f.maxWaveBytes !== undefined && f.name.length > 59) throw new Error(`--name ${JSON.stringify(f.name)} is too long to number several waves (${f.name}-1, ...): at most 59 characters; example: --name wave-1`);
        return f.name;
    }
    const base = f.out ? path.basename(f.out).replace(/\.ya?ml$/, "") : "";
    return base && !dns1123LabelError(base) && base.length <= 59 ? base : "wave-1";
}

/** File names of the waves: --out itself for one wave, `<dir>/<wave name>.yaml` for several. */
export function outFiles(out: string, names: string[]): string[] {
    if (names.length === 1) return [out];
    const ext = path.extname(out) || ".yaml";
    return names.map((n) => path.join(path.dirname(out), `${n}${ext}`));
}

export async function discover(f: Flags, out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr, argv: string[] = []): Promise<number> {
    if (f.namespaces.length === 0 && f.selector === undefined) {
        throw new Error(`--namespace or --selector is required: which source namespaces go into the wave; example: ${EXAMPLE}`);
    }
    for (const ns of f.namespaces) {
        const e = dns1123LabelError(ns);
        if (e) throw new Error(`--namespace ${JSON.stringify(ns)} ${e}; example: --namespace shop`);
    }
    const classMap = parseClassMap(f.storageClassMap, dns1123SubdomainError);
    const name = waveName(f);
    if (f.maxWaveBytes !== undefined && !f.out) {
        throw new Error(`--max-wave-bytes writes one file per wave: give --out, e.g. --out waves/${name}.yaml --max-wave-bytes 500Gi`);
    }
    const { source, destination } = resolveClusters(f);

    let names = [...new Set(f.namespaces)];
    if (f.selector !== undefined) {
        let matched: string[];
        try {
            matched = await namespacesMatching(source.kc, f.selector);
        } catch (e) {
            throw new Error(`--selector ${JSON.stringify(f.selector)}: ${apiError(`list the source cluster's namespaces (${source.where})`, e).message}; example: --selector team=shop`);
        }
        if (matched.length === 0) throw new Error(`--selector ${JSON.stringify(f.selector)} matches no namespace on the source cluster (${source.where}); example: --selector team=shop`);
        names = [...new Set([...names, ...matched])];
    }
    const read = await readSource(source.kc, names, source.where);
    let destinationClasses: StorageClassInfo[] | undefined;
    if (destination) {
        try {
            destinationClasses = await storageClasses(destination.kc);
        } catch (e) {
            throw new Error(`${apiError(`list the destination cluster's storage classes (${destination.where})`, e).message}; the storage class rules need them (or leave the destination out: no --destination-*, no dvm:destination)`);
        }
    }
    const result = discoverWaves(
        { source: source.where, ...(destination ? { destination: destination.where } : {}), namespaces: read.namespaces, sourceClasses: read.classes, ...(destinationClasses ? { destinationClasses } : {}) },
        { name, classMap, ...(f.maxWaveBytes !== undefined ? { maxWaveBytes: f.maxWaveBytes } : {}), command: ["dvm discover", ...argv].join(" "), now: new Date() },
    );
    for (const n of read.notes) err.write(`dvm discover: note: ${n}\n`);
    for (const w of result.warnings) err.write(`dvm discover: WARNING: ${w}\n`);
    if (!f.out) {
        out.write(result.waves[0].text);
        return 0;
    }
    const files = outFiles(f.out, result.waves.map((w) => w.name));
    result.waves.forEach((w, i) => {
        fs.mkdirSync(path.dirname(path.resolve(files[i])), { recursive: true });
        fs.writeFileSync(files[i], w.text);
        err.write(`dvm discover: wrote ${files[i]}: wave ${w.name}, ${w.namespaces.length} namespace${w.namespaces.length > 1 ? "s" : ""} (${w.namespaces.join(", ")}), ${w.pvcs} PVC${w.pvcs === 1 ? "" : "s"}, ${formatBytes(w.sizeBytes)}\n`);
    });
    return 0;
}
