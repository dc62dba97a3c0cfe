// Wave objects as the program creates them (the shapes the policy pack is written against), and a harness that
// calls the pack's validate functions with ResourceValidationArgs / StackValidationArgs built the way
// @pulumi/policy's analyzer server builds them (@pulumi/policy/server.js) - no engine needed.
import * as fs from "node:fs";
import * as path from "node:path";
import type * as PolicySdk from "@pulumi/policy";
import type {
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { LABELS, ROLE_DESTINATION, ROLE_SOURCE, ROOT_CAPABILITIES, SOURCE_ROOT, STUNNEL_PORT, SERVICE_PORT } from "../../contract";
import { policies } from "../../policies/policies";

export const POLICIES_DIR = path.join(__dirname, "..", "..", "policies");

/**
 * @pulumi/policy as the pack loads it (policies/node_modules when installed, else the root's devDependency of the same
 * version): values the tests hand to the pack must be of the pack's own classes (it tells `instanceof UnknownValueError`).
 */
export const policySdk = require(require.resolve("@pulumi/policy", { paths: [POLICIES_DIR] })) as typeof PolicySdk;

/** A pack config file: policy name -> enforcement level or {enforcementLevel?, ...properties}. */
export type PackConfigFile = Record<string, string | Record<string, unknown>>;

export function readConfigFile(name: string): PackConfigFile {
    return JSON.parse(fs.readFileSync(path.join(POLICIES_DIR, "config", name), "utf8"));
}

/** What getConfig returns for one policy: its entry's properties without enforcementLevel (server.js makeGetConfigFun). */
export function configFor(file: PackConfigFile, policy: string): Record<string, unknown> {
    const entry = file[policy];
    if (entry === undefined || typeof entry === "string") {
        return {};
    }
    const { enforcementLevel: _level, ...props } = entry;
    return props;
}

export interface Obj {
    type: string;
    props: any;
    name: string;
    /** URN of the Kubernetes provider (which cluster). */
    provider?: string;
}

export const DST = "urn:pulumi:dev::dvm::pulumi:providers:kubernetes::destination";
export const SRC = "urn:pulumi:dev::dvm::pulumi:providers:kubernetes::source";

export const urnOf = (o: Obj) => `urn:pulumi:dev::dvm::${o.type}::${o.name}`;

const OPTS = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
};

function providerOf(o: Obj) {
    return o.provider ? { type: "pulumi:providers:kubernetes", props: {}, urn: o.provider, name: o.provider.split("::").pop()! } : undefined;
}

export function resourceArgs(o: Obj, config: Record<string, unknown> = {}): ResourceValidationArgs {
    const args: ResourceValidationArgs = {
        type: o.type,
        props: o.props,
        urn: urnOf(o),
        name: o.name,
        opts: OPTS,
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => config as T,
        notApplicable: (reason?: string): never => {
            throw new Error(`notApplicable(${reason}) is not used by the dvm pack`);
        },
    };
    const provider = providerOf(o);
    if (provider) {
        args.provider = provider;
    }
    return args;
}

/** Runs one resource policy on one object; the messages it reports. */
export async function validate(policy: ResourceValidationPolicy, o: Obj, file: PackConfigFile = {}): Promise<string[]> {
    const messages: string[] = [];
    const fns = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
    for (const fn of fns) {
        await fn(resourceArgs(o, configFor(file, policy.name)), (m) => messages.push(m));
    }
    return messages;
}

export function stackArgs(objs: Obj[], config: Record<string, unknown> = {}): StackValidationArgs {
    const resources: PolicyResource[] = objs.map((o) => {
        const r: PolicyResource = {
            type: o.type,
            props: o.props,
            urn: urnOf(o),
            name: o.name,
            opts: OPTS,
            dependencies: [],
            propertyDependencies: {},
            isType: () => false,
            asType: () => undefined,
        };
        const provider = providerOf(o);
        if (provider) {
            r.provider = provider;
        }
        return r;
    });
    return {
        resources,
        stackTags: new Map(),
        getConfig: <T extends object>() => config as T,
        notApplicable: (reason?: string): never => {
            throw new Error(`notApplicable(${reason}) is not used by the dvm pack`);
        },
    };
}

/** Every violation any policy of the pack reports for a wave, as "policy: message". */
export async function allViolations(objs: Obj[], file: PackConfigFile = {}): Promise<string[]> {
    const out: string[] = [];
    for (const p of policies) {
        if ("validateResource" in p) {
            for (const o of objs) out.push(...(await validate(p, o, file)).map((m) => `${p.name}: ${m}`));
        } else if ("validateStack" in p) {
            out.push(...(await validateStack(p, objs, file)).map((r) => `${p.name}: ${r.message}`));
        }
    }
    return out;
}

export interface Reported {
    message: string;
    urn?: string;
}

export async function validateStack(policy: StackValidationPolicy, objs: Obj[], file: PackConfigFile = {}): Promise<Reported[]> {
    const out: Reported[] = [];
    await policy.validateStack(stackArgs(objs, configFor(file, policy.name)), (message, urn) => out.push({ message, urn }));
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The program's objects (task contract: non-root by default; root adds ROOT_CAPABILITIES; super-privileged adds
// privileged + spc_t)

export type Mode = "nonroot" | "root" | "super";

/** A transfer image pinned by digest, as the pack requires. */
export const TRANSFER_IMAGE = `quay.io/dvm/transfer@sha256:${"5".repeat(64)}`;

export function podSecurity(mode: Mode): any {
    const base = { seccompProfile: { type: "RuntimeDefault" } };
    if (mode === "nonroot") {
        return { ...base, runAsNonRoot: true };
    }
    return { ...base, runAsNonRoot: false, runAsUser: 0, runAsGroup: 0, ...(mode === "super" ? { seLinuxOptions: { type: "spc_t" } } : {}) };
}

export function containerSecurity(mode: Mode): any {
    if (mode === "super") {
        return { privileged: true, allowPrivilegeEscalation: true, readOnlyRootFilesystem: true, seLinuxOptions: { type: "spc_t" } };
    }
    return {
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: mode === "root" ? { drop: ["ALL"], add: [...ROOT_CAPABILITIES] } : { drop: ["ALL"] },
    };
}

export const resources = () => ({ requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "1Gi" } });

export function labels(ns: string, role?: string): Record<string, string> {
    return {
        [LABELS.managedBy]: "dvm",
        [LABELS.wave]: "wave-1",
        [LABELS.namespace]: ns,
        ...(role ? { [LABELS.role]: role } : {}),
    };
}

export const PVCS = ["postgresql", "uploads"];

export function destinationDeployment(ns: string, mode: Mode = "nonroot"): Obj {
    const container = (name: string) => ({
        name,
        image: TRANSFER_IMAGE,
        securityContext: containerSecurity(mode),
        resources: resources(),
        volumeMounts: [
            { name: "config", mountPath: "/etc/dvm/config", readOnly: true },
            ...PVCS.map((p, i) => ({ name: `target-${i}`, mountPath: `/mnt/target/${p}` })),
        ],
        ...(name === "stunnel" ? { ports: [{ name: "stunnel", containerPort: STUNNEL_PORT }] } : {}),
    });
    return {
        type: "kubernetes:apps/v1:Deployment",
        name: `${ns}-destination`,
        provider: DST,
        props: {
            metadata: { name: "dvm-destination", namespace: ns, labels: labels(ns) },
            spec: {
                replicas: 1,
                selector: { matchLabels: { [LABELS.role]: ROLE_DESTINATION } },
                template: {
                    metadata: { labels: labels(ns, ROLE_DESTINATION) },
                    spec: {
                        securityContext: podSecurity(mode),
                        automountServiceAccountToken: false,
                        containers: [container("rsyncd"), container("stunnel")],
                        volumes: [
                            { name: "config", configMap: { name: "dvm-config" } },
                            ...PVCS.map((p, i) => ({ name: `target-${i}`, persistentVolumeClaim: { claimName: p } })),
                        ],
                    },
                },
            },
        },
    };
}

export function sourceJob(ns: string, mode: Mode = "nonroot"): Obj {
    const container = (name: string, sources: boolean) => ({
        name,
        image: TRANSFER_IMAGE,
        securityContext: containerSecurity(mode),
        resources: resources(),
        volumeMounts: [
            { name: "rsync-stunnel-ipc", mountPath: "/rsync-stunnel-ipc" },
            ...(sources ? PVCS.map((p, i) => ({ name: `source-${i}`, mountPath: `${SOURCE_ROOT}/${p}`, readOnly: true })) : []),
        ],
    });
    return {
        type: "kubernetes:batch/v1:Job",
        name: `${ns}-source`,
        provider: SRC,
        props: {
            metadata: { name: "dvm-source", namespace: ns, labels: labels(ns, ROLE_SOURCE) },
            spec: {
                backoffLimit: 2,
                template: {
                    metadata: { labels: labels(ns, ROLE_SOURCE) },
                    spec: {
                        restartPolicy: "Never",
                        securityContext: podSecurity(mode),
                        automountServiceAccountToken: false,
                        containers: [container("rsync", true), container("stunnel", false)],
                        volumes: [
                            { name: "rsync-stunnel-ipc", emptyDir: {} },
                            ...PVCS.map((p, i) => ({ name: `source-${i}`, persistentVolumeClaim: { claimName: p, readOnly: true } })),
                        ],
                    },
                },
            },
        },
    };
}

export const PSA = {
    "pod-security.kubernetes.io/enforce": "privileged",
    "pod-security.kubernetes.io/audit": "privileged",
    "pod-security.kubernetes.io/warn": "privileged",
};

export function destinationNamespace(ns: string, psa: boolean): Obj {
    return {
        type: "kubernetes:core/v1:Namespace",
        name: `${ns}-namespace`,
        provider: DST,
        props: { metadata: { name: ns, labels: { ...labels(ns), ...(psa ? PSA : {}) } } },
    };
}

export function sourceNamespacePatch(ns: string): Obj {
    return {
        type: "kubernetes:core/v1:NamespacePatch",
        name: `${ns}-namespace-psa`,
        provider: SRC,
        props: { metadata: { name: ns, labels: PSA } },
    };
}

export function destinationPvc(ns: string, pvc: string, capacity: string, storage: string = capacity): Obj {
    return {
        type: "kubernetes:core/v1:PersistentVolumeClaim",
        name: `${ns}-pvc-${pvc}`,
        provider: DST,
        props: {
            metadata: {
                name: pvc,
                namespace: ns,
                labels: labels(ns),
                annotations: { "dvm.io/requested-capacity": capacity, "dvm.io/source-pvc": pvc },
            },
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } } },
        },
    };
}

export function service(ns: string, type = "ClusterIP"): Obj {
    return {
        type: "kubernetes:core/v1:Service",
        name: `${ns}-service`,
        provider: DST,
        props: {
            metadata: { name: "dvm-destination", namespace: ns, labels: labels(ns) },
            spec: { type, selector: { [LABELS.role]: ROLE_DESTINATION }, ports: [{ name: "stunnel", port: SERVICE_PORT, targetPort: STUNNEL_PORT }] },
        },
    };
}

export function route(ns: string, tls: any = { termination: "passthrough" }): Obj {
    return {
        type: "kubernetes:route.openshift.io/v1:Route",
        name: `${ns}-route`,
        provider: DST,
        props: {
            apiVersion: "route.openshift.io/v1",
            kind: "Route",
            metadata: { name: "dvm-destination", namespace: ns, labels: labels(ns) },
            spec: { host: `dvm-${ns}.apps.dest.example.com`, to: { kind: "Service", name: "dvm-destination" }, port: { targetPort: "stunnel" }, ...(tls ? { tls } : {}) },
        },
    };
}

export function ingress(ns: string, annotations: Record<string, string> = { "nginx.ingress.kubernetes.io/ssl-passthrough": "true" }): Obj {
    return {
        type: "kubernetes:networking.k8s.io/v1:Ingress",
        name: `${ns}-ingress`,
        provider: DST,
        props: {
            metadata: { name: "dvm-destination", namespace: ns, labels: labels(ns), annotations },
            spec: {
                ingressClassName: "nginx",
                rules: [{ host: `dvm-${ns}.apps.dest.example.com`, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "dvm-destination", port: { number: SERVICE_PORT } } } }] } }],
            },
        },
    };
}

export function configMap(ns: string, name: string, data: Record<string, string>, provider = DST, field: "data" | "binaryData" = "data"): Obj {
    return {
        type: "kubernetes:core/v1:ConfigMap",
        name: `${ns}-${name}`,
        provider,
        props: { metadata: { name, namespace: ns, labels: labels(ns) }, [field]: data },
    };
}

/** A whole wave as the program would create it for two namespaces. */
export function wave(mode: Mode, opts: { psa: boolean } = { psa: mode !== "nonroot" }): Obj[] {
    const out: Obj[] = [];
    for (const ns of ["app-1", "app-3"]) {
        out.push(destinationNamespace(ns, opts.psa && mode !== "nonroot"));
        out.push(...PVCS.map((p) => destinationPvc(ns, p, "10Gi")));
        out.push(configMap(ns, "dvm-config", { "rsyncd.conf": "address = 127.0.0.1\n" }));
        out.push(destinationDeployment(ns, mode), service(ns), route(ns));
        if (opts.psa && mode !== "nonroot") {
            out.push(sourceNamespacePatch(ns));
        }
        out.push(configMap(ns, "dvm-scripts", { "rsync-client.sh": "#!/bin/bash\nexec rsync \"$@\"\n" }, SRC));
        out.push(sourceJob(ns, mode));
    }
    return out;
}

/** Deep copy with a change applied, so fixtures stay pristine. */
export function edit(o: Obj, change: (props: any) => void): Obj {
    const copy: Obj = JSON.parse(JSON.stringify(o));
    change(copy.props);
    return copy;
}
