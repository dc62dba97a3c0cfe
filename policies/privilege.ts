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
    description: "Transfer containers run as non-root (runAsNonRoot: true, runAsUser not 0) and without group 0 (runAsGroup, fsGroup, supplementalGroups) unless root is allowed.",
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
            // root's group as a non-root user (for root itself the user is the finding)
            if (user !== 0 && effective(ref, c.c, "runAsGroup") === 0) {
                report(`${subject}, ${c.label}: runs with group 0 (runAsGroup: 0), root's group, which reads and writes ` +
                    `whatever is group-root on the node's volumes. Fix: give dvm:security.runAsGroup a non-zero group. ${fix}`);
            }
        }
        // group 0 also arrives through the pod's fsGroup (the volumes' group) and supplementalGroups
        const pod = ref.spec.securityContext ?? {};
        if (pod.fsGroup === 0) {
            report(`${subject}: securityContext.fsGroup is 0 (root's group). Fix: give dvm:security a non-zero group ` +
                `(targetSupplementalGroups or runAsGroup). ${fix}`);
        }
        if (Array.isArray(pod.supplementalGroups) && pod.supplementalGroups.some((g: unknown) => g === 0 || g === "0")) {
            report(`${subject}: securityContext.supplementalGroups holds 0 (root's group). Fix: remove 0 from ` +
                `dvm:security.sourceSupplementalGroups / targetSupplementalGroups. ${fix}`);
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

/** SELinux types the baseline Pod Security profile admits; `spc_t` is judged by transfer-selinux-spc-t. */
const SELINUX_TYPES_OK = new Set(["", "container_t", "container_init_t", "container_kvm_t", "spc_t"]);

export const transferSelinuxOptions = podPolicy({
    name: "transfer-selinux-options",
    description: "SELinux options name no user or role and only a container type (container_t, container_init_t, container_kvm_t; spc_t by transfer-selinux-spc-t).",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove seLinuxOptions (dvm sets only spc_t, in super-privileged mode).",
    check: (ref, _cfg, report, subject) => {
        const judge = (o: any, where: string, path: string) => {
            if (o === undefined || o === null) {
                return;
            }
            const type = o.type;
            if (type !== undefined && !SELINUX_TYPES_OK.has(type)) {
                report(`${where}: seLinuxOptions.type is ${JSON.stringify(type)}, which is not a container type (e.g. ` +
                    `unconfined_t runs unconfined by SELinux). Fix: remove ${path}.seLinuxOptions.type.`);
            }
            for (const f of ["user", "role"]) {
                if (o[f] !== undefined && o[f] !== "") {
                    report(`${where}: seLinuxOptions.${f} is ${JSON.stringify(o[f])}; transfer pods never change their ` +
                        `SELinux ${f}. Fix: remove ${path}.seLinuxOptions.${f}.`);
                }
            }
        };
        judge(ref.spec.securityContext?.seLinuxOptions, `${subject}: pod securityContext`, `${ref.path}.securityContext`);
        for (const c of containersOf(ref)) {
            judge(sc(c, "seLinuxOptions"), `${subject}, ${c.label}`, `${c.path}.securityContext`);
        }
    },
});

/** The pod annotation AppArmor profiles were given with before the securityContext field. */
const APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/";

export const transferAppArmor = podPolicy({
    name: "transfer-apparmor",
    description: "No transfer container runs AppArmor Unconfined (securityContext.appArmorProfile or the beta annotation).",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove appArmorProfile (RuntimeDefault applies) or use RuntimeDefault / a Localhost profile.",
    check: (ref, _cfg, report, subject) => {
        if (ref.spec.securityContext?.appArmorProfile?.type === "Unconfined") {
            report(`${subject}: pod securityContext.appArmorProfile.type is Unconfined. Fix: remove ` +
                `${ref.path}.securityContext.appArmorProfile (the runtime's default profile applies).`);
        }
        for (const c of containersOf(ref)) {
            if (sc(c, "appArmorProfile")?.type === "Unconfined") {
                report(`${subject}, ${c.label}: securityContext.appArmorProfile.type is Unconfined. Fix: remove ` +
                    `${c.path}.securityContext.appArmorProfile.`);
            }
        }
        for (const [k, v] of Object.entries(ref.annotations)) {
            if (k.startsWith(APPARMOR_ANNOTATION_PREFIX) && v === "unconfined") {
                report(`${subject}: pod annotation ${k} is unconfined. Fix: remove the annotation.`);
            }
        }
    },
});

export const transferProcMount = podPolicy({
    name: "transfer-proc-mount",
    description: "Transfer containers keep the default masked /proc (no procMount: Unmasked).",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove securityContext.procMount.",
    check: (ref, _cfg, report, subject) => {
        for (const c of containersOf(ref)) {
            const m = sc(c, "procMount");
            if (m !== undefined && m !== "Default") {
                report(`${subject}, ${c.label}: securityContext.procMount is ${JSON.stringify(m)}, which unmasks the ` +
                    `kernel's /proc paths. Fix: remove ${c.path}.securityContext.procMount.`);
            }
        }
    },
});

export const transferNoSysctls = podPolicy({
    name: "transfer-no-sysctls",
    description: "Transfer pods set no sysctls: rsync and stunnel need none, and some change the node's kernel.",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove securityContext.sysctls from the pod.",
    check: (ref, _cfg, report, subject) => {
        const sysctls = ref.spec.securityContext?.sysctls;
        if (Array.isArray(sysctls) && sysctls.length > 0) {
            report(`${subject}: pod securityContext.sysctls sets ${sysctls.map((x: any) => x?.name).join(", ")}; ` +
                `transfer pods need none. Fix: remove ${ref.path}.securityContext.sysctls.`);
        }
    },
});
