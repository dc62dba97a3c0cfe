// The local cluster pair as the e2e tier (test/e2e/e2e.test.ts) and the end-to-end benchmark (bench/e2e.ts) drive it:
// kubectl against the shared kubeconfig, local volumes behind PVCs, wave and stack files for the nodePort endpoint.
// Both are started by a script (hack/e2e.sh, hack/bench-e2e.sh) that brings the clusters up and sets
// DVM_KUBECTL / DVM_CLUSTERS_DIR.

import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const CLUSTERS_DIR = process.env.DVM_CLUSTERS_DIR ?? "";
export const KUBECTL = process.env.DVM_KUBECTL ?? "";
export const KUBECONFIG = path.join(CLUSTERS_DIR, "kubeconfig");
export const SRC = "dvm-src";
export const DST = "dvm-dst";
/** The destination cluster's node address (hack/clusters/lib.sh): its NodePorts are reached here. */
export const DST_NODE_ADDRESS = "10.213.0.12";
export const STORAGE_CLASS = "dvm-local";
/** The transfer image as the clusters have it (hack/clusters/images.sh, imported with --digests), pinned by digest as
 * the policy pack requires: `dvm.local/dvm-transfer@sha256:<manifest digest of the archive>`. */
export const IMAGE = transferImageRef();

function transferImageRef(): string {
    const name = "dvm.local/dvm-transfer";
    if (!CLUSTERS_DIR) return name; // not under hack/e2e.sh: requireClusters() says how to run
    const r = spawnSync("bash", [path.join(__dirname, "..", "..", "hack", "clusters", "images.sh"), "digest"], { encoding: "utf8" });
    const digest = r.stdout.trim();
    if (r.status !== 0 || !/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`cannot read the transfer image's digest: ${r.stderr}${r.stdout}`);
    return `${name}@${digest}`;
}
export { PROJECT_ENTRIES } from "./engine";

/** Fails with how to run it when the script that brings the clusters up did not start this process. */
export function requireClusters(how: string): void {
    if (!KUBECTL || !CLUSTERS_DIR || !fs.existsSync(KUBECONFIG)) {
        throw new Error(`run this with ${how} (it brings the clusters up and sets DVM_KUBECTL/DVM_CLUSTERS_DIR)`);
    }
}

export function kubectl(context: string, args: string[], input?: string): { code: number; out: string; err: string } {
    const r = spawnSync(KUBECTL, ["--kubeconfig", KUBECONFIG, "--context", context, ...args], {
        encoding: "utf8", input, maxBuffer: 64 * 1024 * 1024, timeout: 5 * 60 * 1000,
    });
    if (r.error) throw r.error;
    return { code: r.status ?? -1, out: r.stdout ?? "", err: r.stderr ?? "" };
}

export function kubectlOk(context: string, args: string[], input?: string): string {
    const r = kubectl(context, args, input);
    if (r.code !== 0) throw new Error(`kubectl --context ${context} ${args.join(" ")} exited ${r.code}: ${r.err}${r.out}`);
    return r.out;
}

export function json(context: string, args: string[]): any {
    return JSON.parse(kubectlOk(context, [...args, "-o", "json"]));
}

export function sleep(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function waitFor<T>(what: string, seconds: number, probe: () => T | undefined): T {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        const v = probe();
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`timed out after ${seconds}s waiting for ${what}`);
        sleep(1000);
    }
}

/** The local directory behind a bound PVC (the PV is a `local` volume on the cluster's only node). */
export function volumeDir(context: string, ns: string, pvc: string): string {
    const volumeName = waitFor(`${context} ${ns}/${pvc} to bind`, 90, () => {
        const r = kubectl(context, ["-n", ns, "get", "pvc", pvc, "-o", "jsonpath={.status.phase} {.spec.volumeName}"]);
        const [phase, volume] = r.out.split(" ");
        return r.code === 0 && phase === "Bound" && volume ? volume : undefined;
    });
    const pv = json(context, ["get", "pv", volumeName]);
    const dir = pv.spec?.local?.path ?? pv.spec?.hostPath?.path;
    assert.ok(dir && fs.existsSync(dir), `PV ${volumeName} of ${ns}/${pvc} has no local directory (${dir})`);
    return dir;
}

/** A source PVC of the local storage class (bound at once to an Available local volume); returns its directory. */
export function createPvc(context: string, ns: string, pvc: string, capacity = "1Gi"): string {
    kubectlOk(context, ["apply", "-f", "-"], [
        "apiVersion: v1", "kind: PersistentVolumeClaim",
        `metadata: {name: ${pvc}, namespace: ${ns}}`,
        "spec:", "  accessModes: [ReadWriteOnce]", `  storageClassName: ${STORAGE_CLASS}`,
        `  resources: {requests: {storage: ${capacity}}}`, "",
    ].join("\n"));
    return volumeDir(context, ns, pvc);
}

export function deleteNamespaces(context: string, names: string[]): void {
    kubectl(context, ["delete", "namespace", ...names, "--ignore-not-found", "--wait=true", "--timeout=180s"]);
}

/** Makes Released local volumes Available again (their claims were deleted by an earlier run). */
export function resetVolumes(clusters: Array<"src" | "dst"> = ["src", "dst"]): void {
    for (const c of clusters) {
        const r = spawnSync("bash", [path.join(__dirname, "..", "..", "hack", "clusters", "storage.sh"), c], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
    }
}

export interface PvcSpec { ns: string; pvc: string; targetNs: string; targetPvc: string }

/** A wave file for PVCs of the source cluster's local storage (1Gi each unless `capacity` says otherwise). */
export function waveYaml(name: string, pvcs: PvcSpec[], verify: string[] = [], capacity = "1Gi"): string {
    const lines = [`name: ${name}`, "namespaces:"];
    for (const ns of [...new Set(pvcs.map((p) => p.ns))]) {
        const first = pvcs.find((p) => p.ns === ns)!;
        lines.push(`  - name: ${ns}`);
        if (first.targetNs !== ns) lines.push(`    targetNamespace: ${first.targetNs}`);
        lines.push(`    nodeName: ${SRC}`, "    pvcs:");
        for (const p of pvcs.filter((q) => q.ns === ns)) {
            lines.push(`      - name: ${p.pvc}`, `        capacity: ${capacity}`, "        accessModes: [ReadWriteOnce]",
                `        storageClass: ${STORAGE_CLASS}`);
            if (p.targetPvc !== p.pvc) lines.push(`        targetName: ${p.targetPvc}`);
            if (verify.includes(p.pvc)) lines.push("        verify: true");
        }
    }
    return lines.join("\n") + "\n";
}

/** A stack file between the two local clusters through the destination's NodePort, transfers as root. */
export function stackYaml(waveFile: string, nodeAddress: string, stunnelWaitSeconds: number,
    extra: Record<string, string> = {}, nodePort?: number): string {
    return [
        "config:",
        "  dvm:source:",
        `    kubeconfig: ${KUBECONFIG}`,
        `    context: ${SRC}`,
        "  dvm:destination:",
        `    kubeconfig: ${KUBECONFIG}`,
        `    context: ${DST}`,
        "    endpoint:",
        "      type: nodePort",
        `      nodeAddress: ${nodeAddress}`,
        ...(nodePort ? [`      nodePort: ${nodePort}`] : []),
        `  dvm:wave: ${waveFile}`,
        `  dvm:transferImage: ${IMAGE}`,
        "  dvm:security:",
        "    runAsRoot: true",
        "    podSecurityLabels: true",
        `  dvm:stunnelWaitSeconds: ${stunnelWaitSeconds}`,
        ...Object.entries(extra).map(([k, v]) => `  ${k}: ${v}`),
        "",
    ].join("\n");
}
