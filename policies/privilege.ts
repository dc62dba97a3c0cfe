// Privilege rules (mandatory): transfer pods get no more privilege than the pack's configuration allows, and a pod
// that needs privilege runs only in a namespace that Pod Security Admission lets run it.

import {
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { PSA_LABELS } from "../contract";
import { configHint, configOf, schema } from "./config";
import { eachResource, podPolicy, sc } from "./policy";
import { PodSpecRef, containersOf, describe, effective, kindOf, labelsOf, normalizeCapability, podSpecsOf } from "./workloads";

export const transferPrivileged = podPolicy({
    name: "transfer-privileged",
    description: "Transfer containers are not privileged unless the pack allows privileged transfers.",
    enforcementLevel: "mandatory",
    remediationSteps: "Run without dvm:security.superPrivileged, or set allowPrivileged in the pack config.",
    config: ["allowPrivileged", "allowSuperPrivileged"],
    check: (ref, cfg, report, subject) => {
        if (cfg.allowPrivileged || cfg.allowSuperPrivileged) {
            return;
        }
        for (const c of containersOf(ref)) {
            if (sc(c, "privileged") === true) {
                report(`${subject}, ${c.label}: securityContext.privileged is true, but this pack does not allow ` +
                    `privileged transfers. Fix: remove ${c.path}.securityContext.privileged (run without ` +
                    `dvm:security.superPrivileged), or allow them in the pack config file: ` +
                    `${configHint("transfer-privileged", { allowPrivileged: true })} (MTC migration_rsync_privileged).`);
            }
        }
    },
});

export const transferSelinuxSpcT = podPolicy({
    name: "transfer-selinux-spc-t",
    description: "The SELinux type spc_t (super-privileged container) is used only when super-privileged transfers are allowed.",
    enforcementLevel: "mandatory",
    remediationSteps: "Run without dvm:security.superPrivileged, or set allowSuperPrivileged in the pack config.",
    config: ["allowSuperPrivileged"],
    check: (ref, cfg, report, subject) => {
        if (cfg.allowSuperPrivileged) {
            return;
        }
        const fix = `Fix: run without dvm:security.superPrivileged, or allow super-privileged transfers in the pack ` +
            `config file: ${configHint("transfer-selinux-spc-t", { allowSuperPrivileged: true })} ` +
            `(MTC migration_rsync_super_privileged).`;
        if (ref.spec.securityContext?.seLinuxOptions?.type === "spc_t") {
            report(`${subject}: pod securityContext.seLinuxOptions.type is spc_t (super-privileged), which this pack ` +
                `does not allow. ${fix}`);
        }
        for (const c of containersOf(ref)) {
            if (sc(c, "seLinuxOptions")?.type === "spc_t") {
                report(`${subject}, ${c.label}: securityContext.seLinuxOptions.type is spc_t (super-privileged), ` +
                    `which this pack does not allow. ${fix}`);
            }
        }
    },
});

export const transferRunAsNonRoot = podPolicy({
    name: "transfer-run-as-non-root",
    description: "Transfer containers run as non-root (runAsNonRoot: true, runAsUser not 0) unless root is allowed.",
    enforcementLevel: "mandatory",
    remediationSteps: "Leave dvm:security.runAsRoot unset, or set allowRoot in the pack config.",
    config: ["allowRoot"],
    check: (ref, cfg, report, subject) => {
        if (cfg.allowRoot) {
            return;
        }
        const fix = `Fix: leave dvm:security.runAsRoot unset (the default: runAsNonRoot: true), or allow root ` +
            `transfers in the pack config file: ${configHint("transfer-run-as-non-root", { allowRoot: true })}.`;
        for (const c of containersOf(ref)) {
            const user = effective(ref, c.c, "runAsUser");
            const nonRoot = effective(ref, c.c, "runAsNonRoot");
            if (user === 0) {
                report(`${subject}, ${c.label}: runs as root (runAsUser: 0), which this pack does not allow. ${fix}`);
            } else if (nonRoot === false || (!ref.partial && nonRoot !== true)) {
                const why = nonRoot === false ? "runAsNonRoot is false" : "runAsNonRoot is not set";
                const who = user === undefined ? "no runAsUser is set, so the image's user (root for most images) runs"
                    : `runAsUser is ${user}`;
                report(`${subject}, ${c.label}: ${why} and ${who}; without runAsNonRoot: true the kubelet does not ` +
                    `refuse a root user. Set securityContext.runAsNonRoot: true on the pod. ${fix}`);
            }
        }
    },
});

export const transferCapabilities = podPolicy({
    name: "transfer-capabilities",
    description: "Transfer containers drop ALL capabilities and add only the documented set, only when root is allowed.",
    enforcementLevel: "mandatory",
    remediationSteps: "Drop ALL; add capabilities only in root mode and only from allowedCapabilities.",
    config: ["allowRoot", "allowedCapabilities"],
    check: (ref, cfg, report, subject) => {
        const allowed = new Set(cfg.allowedCapabilities.map(normalizeCapability));
        for (const c of containersOf(ref)) {
            if (sc(c, "privileged") === true) {
                continue; // a privileged container has every capability whatever it lists: transfer-privileged judges it
            }
            const caps = sc(c, "capabilities");
            const drop = caps?.drop;
            if (!ref.partial || drop !== undefined) {
                if (!(Array.isArray(drop) && drop.some((d: unknown) => d === "ALL"))) {
                    report(`${subject}, ${c.label}: does not drop ALL capabilities. Fix: set ` +
                        `${c.path}.securityContext.capabilities.drop: ["ALL"].`);
                }
            }
            const add: string[] = Array.isArray(caps?.add) ? caps.add.map(String) : [];
            if (add.length === 0) {
                continue;
            }
            if (!cfg.allowRoot) {
                report(`${subject}, ${c.label}: adds capabilities ${add.join(", ")}, but root transfers are not ` +
                    `allowed, so none may be added. Fix: remove ${c.path}.securityContext.capabilities.add (leave ` +
                    `dvm:security.runAsRoot unset), or allow root transfers in the pack config file: ` +
                    `${configHint("transfer-capabilities", { allowRoot: true })}.`);
                continue;
            }
            const extra = add.filter((a) => !allowed.has(normalizeCapability(a)));
            if (extra.length > 0) {
                report(`${subject}, ${c.label}: adds capabilities ${extra.join(", ")}, which are not in ` +
                    `allowedCapabilities [${[...allowed].join(", ")}]. Fix: remove them from ` +
                    `${c.path}.securityContext.capabilities.add, or extend the pack config file: ` +
                    `${configHint("transfer-capabilities", {
                        allowRoot: true,
                        allowedCapabilities: [...allowed, ...extra.map(normalizeCapability)],
                    })}.`);
            }
        }
    },
});

export const transferNoPrivilegeEscalation = podPolicy({
    name: "transfer-no-privilege-escalation",
    description: "Transfer containers set allowPrivilegeEscalation: false (privileged containers excepted: Kubernetes rejects the combination).",
    enforcementLevel: "mandatory",
    remediationSteps: "Set securityContext.allowPrivilegeEscalation: false on every container.",
    check: (ref, _cfg, report, subject) => {
        for (const c of containersOf(ref)) {
            if (sc(c, "privileged") === true) {
                continue; // judged by transfer-privileged
            }
            const ape = sc(c, "allowPrivilegeEscalation");
            if (ape === true || (!ref.partial && ape !== false)) {
                report(`${subject}, ${c.label}: allowPrivilegeEscalation is ${ape === undefined ? "not set (defaults to true)" : ape}. ` +
                    `Fix: set ${c.path}.securityContext.allowPrivilegeEscalation: false.`);
            }
        }
    },
});

const SECCOMP_OK = new Set(["RuntimeDefault", "Localhost"]);

export const transferSeccomp = podPolicy({
    name: "transfer-seccomp-runtime-default",
    description: "Transfer containers run under the RuntimeDefault (or a Localhost) seccomp profile.",
    enforcementLevel: "mandatory",
    remediationSteps: "Set securityContext.seccompProfile.type: RuntimeDefault on the pod.",
    check: (ref, _cfg, report, subject) => {
        for (const c of containersOf(ref)) {
            const type = effective(ref, c.c, "seccompProfile")?.type;
            if (type === undefined && ref.partial) {
                continue;
            }
            if (!SECCOMP_OK.has(type)) {
                report(`${subject}, ${c.label}: seccomp profile is ${type === undefined ? "not set (Unconfined on most runtimes)" : type}. ` +
                    `Fix: set ${ref.path}.securityContext.seccompProfile.type: RuntimeDefault.`);
            }
        }
    },
});

export const transferNoHostAccess = podPolicy({
    name: "transfer-no-host-access",
    description: "Transfer pods use no host namespaces (hostNetwork, hostPID, hostIPC), hostPath volumes or hostPorts.",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove hostNetwork/hostPID/hostIPC, hostPath volumes and hostPort from the pod.",
    check: (ref, _cfg, report, subject) => {
        for (const f of ["hostNetwork", "hostPID", "hostIPC"]) {
            if (ref.spec[f] === true) {
                report(`${subject}: ${f} is true; transfer pods never share the node's namespaces. ` +
                    `Fix: remove ${ref.path}.${f}.`);
            }
        }
        const volumes = ref.spec.volumes;
        if (Array.isArray(volumes)) {
            volumes.forEach((v: any, i: number) => {
                if (v?.hostPath !== undefined) {
                    report(`${subject}: volume "${v?.name ?? i}" is a hostPath (${v.hostPath?.path ?? "?"}); transfer ` +
                        `pods read and write PVCs only. Fix: remove ${ref.path}.volumes[${i}].`);
                }
            });
        }
        for (const c of containersOf(ref)) {
            const ports = c.c?.ports;
            if (!Array.isArray(ports)) {
                continue;
            }
            for (const p of ports) {
                if (p?.hostPort !== undefined && p.hostPort !== 0) {
                    report(`${subject}, ${c.label}: port ${p.containerPort} is bound to hostPort ${p.hostPort}. ` +
                        `Fix: remove hostPort; the endpoint (Route, Ingress or Service) exposes the stunnel port.`);
                }
            }
        }
    },
});

/** Why a pod spec needs a namespace that Pod Security Admission lets run privileged pods (empty: it does not). */
export function privilegeNeeds(ref: PodSpecRef): string[] {
    const needs = new Set<string>();
    if (ref.spec.securityContext?.seLinuxOptions?.type === "spc_t") {
        needs.add("SELinux type spc_t");
    }
    for (const f of ["hostNetwork", "hostPID", "hostIPC"]) {
        if (ref.spec[f] === true) {
            needs.add(f);
        }
    }
    for (const c of containersOf(ref)) {
        const user = effective(ref, c.c, "runAsUser");
        const nonRoot = effective(ref, c.c, "runAsNonRoot");
        if (user === 0 || (!ref.partial && user === undefined && nonRoot !== true)) {
            needs.add("runs as root");
        }
        if (c.c?.securityContext?.privileged === true) {
            needs.add("privileged");
        }
        if (c.c?.securityContext?.seLinuxOptions?.type === "spc_t") {
            needs.add("SELinux type spc_t");
        }
        const add = c.c?.securityContext?.capabilities?.add;
        if (Array.isArray(add)) {
            // the restricted Pod Security profile admits adding NET_BIND_SERVICE, and nothing else
            const beyond = add.map(String).filter((a) => normalizeCapability(a) !== "NET_BIND_SERVICE");
            if (beyond.length > 0) {
                needs.add(`adds capabilities ${beyond.join(", ")}`);
            }
        }
    }
    return [...needs];
}

export const rootNeedsPrivilegedNamespace = {
    name: "root-needs-privileged-namespace",
    description: `Root or privileged transfer pods run only in namespaces the wave labels ${PSA_LABELS.map((l) => `${l}=privileged`).join(", ")}.`,
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Set dvm:security.podSecurityLabels: true, or list namespaces labelled outside the stack in privilegedNamespaces.",
    configSchema: schema("privilegedNamespaces"),
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        const cfg = configOf("root-needs-privileged-namespace", args);
        const clusterOf = (r: PolicyResource) => r.provider?.urn ?? "";
        // Namespace labels the stack manages, per cluster: the destination Namespaces and the source NamespacePatches.
        const labelled = new Map<string, Record<string, string>>();
        eachResource(args, (r) => {
            const kind = kindOf(r.type);
            if (kind !== "Namespace" && kind !== "NamespacePatch") {
                return;
            }
            const name = r.props.metadata?.name;
            if (typeof name !== "string") {
                return;
            }
            const key = `${clusterOf(r)}\u0000${name}`;
            labelled.set(key, { ...labelled.get(key), ...labelsOf(r.props.metadata) });
        });
        eachResource(args, (r) => {
            for (const ref of podSpecsOf(r.type, r.props)) {
                const needs = privilegeNeeds(ref);
                if (needs.length === 0) {
                    continue;
                }
                const ns = ref.namespace ?? r.props.metadata?.namespace ?? "default";
                if (cfg.privilegedNamespaces.includes(ns)) {
                    continue;
                }
                const labels = labelled.get(`${clusterOf(r)}\u0000${ns}`) ?? {};
                const missing = PSA_LABELS.filter((l) => labels[l] !== "privileged");
                if (missing.length === 0) {
                    continue;
                }
                reportViolation(`${describe(r.type, r.name, r.props)}: needs a privileged namespace (${needs.join(", ")}), ` +
                    `but this stack does not label namespace "${ns}" on its cluster ${missing.map((l) => `${l}=privileged`).join(", ")}. ` +
                    `Fix: set dvm:security.podSecurityLabels: true so the wave labels it; or label it yourself and ` +
                    `list it in the pack config file: ${configHint("root-needs-privileged-namespace", { privilegedNamespaces: [ns] })}; ` +
                    `or run without dvm:security.runAsRoot / superPrivileged.`, r.urn);
            }
        });
    },
} satisfies StackValidationPolicy;
