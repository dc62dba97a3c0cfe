// Pieces both transfer pods share: labels, the scripts/config/credentials volumes, container resources.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { ResourceRequirements } from "../config/plan";
import { CONFIG_DIR, LABELS, MANAGED_BY, SCRIPTS_DIR, SECRET_DIR, TMP_DIR } from "../contract";
import { TransferNames } from "./names";
import { secretFiles } from "./transport/credentials";
import { GeneratedCredentials } from "./transport/credentialsResource";

type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

export function baseLabels(wave: string, sourceNamespace: string): Record<string, string> {
    return {
        [LABELS.managedBy]: MANAGED_BY,
        [LABELS.partOf]: MANAGED_BY,
        [LABELS.wave]: wave,
        [LABELS.namespace]: sourceNamespace,
    };
}

/** Volumes for the scripts ConfigMap, the config ConfigMap, the credentials Secret and a scratch dir. */
export function supportVolumes(names: TransferNames, secretMode = 0o440): Volume[] {
    return [
        { name: "dvm-scripts", configMap: { name: names.scripts, defaultMode: 0o555 } },
        { name: "dvm-config", configMap: { name: names.config, defaultMode: 0o444 } },
        // default 0440: readable by root and the pod's fsGroup only (rsyncd's strict modes refuse more)
        { name: "dvm-credentials", secret: { secretName: names.credentials, defaultMode: secretMode } },
        { name: "dvm-tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
    ];
}

export function supportMounts(): VolumeMount[] {
    return [
        { name: "dvm-scripts", mountPath: SCRIPTS_DIR, readOnly: true },
        { name: "dvm-config", mountPath: CONFIG_DIR, readOnly: true },
        { name: "dvm-credentials", mountPath: SECRET_DIR, readOnly: true },
        { name: "dvm-tmp", mountPath: TMP_DIR },
    ];
}

export function containerResources(r: ResourceRequirements): k8s.types.input.core.v1.ResourceRequirements {
    return { requests: { ...r.requests }, limits: { ...r.limits } };
}

/** Options for a child resource: parent plus the explicit provider of its cluster. */
export function childOpts(parent: pulumi.Resource, provider: k8s.Provider, extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
    return { parent, provider, ...extra };
}

/** The named entries of a record (e.g. the scripts one pod needs out of all scripts). */
export function pick(all: Record<string, string>, keys: string[]): Record<string, string> {
    return Object.fromEntries(keys.map((k) => {
        if (all[k] === undefined) throw new Error(`dvm: missing ${k} (a file of the program itself is missing; reinstall dvm)`);
        return [k, all[k]];
    }));
}

/** A short stable hash of some content: put on pod templates so that a content change rolls the pod. */
export function contentHash(value: unknown): string {
    return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}

export interface SupportObjectsArgs {
    namespace: pulumi.Input<string>;
    names: TransferNames;
    labels: Record<string, string>;
    /** Annotations of the three objects (ANNOTATIONS.stack). */
    annotations?: Record<string, string>;
    credentials: GeneratedCredentials;
    /** The credential files (SECRET_KEYS) this side needs; the other side's are never shipped here. */
    secretKeys: string[];
    /** The container scripts this side runs: file name -> content (from scriptFiles()). */
    scripts: Record<string, string>;
    /** Rendered non-secret config files (CONFIG_FILES). */
    config: pulumi.Input<Record<string, pulumi.Input<string>>>;
    opts: pulumi.CustomResourceOptions;
}

/** The credentials Secret, the scripts ConfigMap and the config ConfigMap one side's transfer pod mounts
 * (supportVolumes). Returns them in that order. */
export function supportObjects(prefix: string, a: SupportObjectsArgs): [k8s.core.v1.Secret, k8s.core.v1.ConfigMap, k8s.core.v1.ConfigMap] {
    const c = a.credentials;
    const files = pulumi.all([c.pskIdentity, c.pskKey, c.rsyncPassword])
        .apply(([pskIdentity, pskKey, rsyncPassword]) => pick(secretFiles({ pskIdentity, pskKey, rsyncPassword }), a.secretKeys));
    const meta = (name: string) => ({ name, namespace: a.namespace, labels: a.labels, ...(a.annotations && Object.keys(a.annotations).length ? { annotations: a.annotations } : {}) });
    return [
        new k8s.core.v1.Secret(`${prefix}-credentials`, { metadata: meta(a.names.credentials), type: "Opaque", stringData: pulumi.secret(files) }, a.opts),
        new k8s.core.v1.ConfigMap(`${prefix}-scripts`, { metadata: meta(a.names.scripts), data: a.scripts }, a.opts),
        new k8s.core.v1.ConfigMap(`${prefix}-config`, { metadata: meta(a.names.config), data: a.config }, a.opts),
    ];
}
