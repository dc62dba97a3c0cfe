// Security contexts from `dvm:security`, with MTC's semantics: non-root and locked down by default; `runAsRoot` adds
// only the capabilities rsync needs to read everything and preserve owners; `superPrivileged` makes the containers
// privileged with SELinux type spc_t (for volumes whose labels a normal container cannot read).
import * as k8s from "@pulumi/kubernetes";
import { SecurityOptions } from "../config/plan";
import { PSA_LABELS, ROOT_CAPABILITIES } from "../contract";

type PodSecurityContext = k8s.types.input.core.v1.PodSecurityContext;
type SecurityContext = k8s.types.input.core.v1.SecurityContext;

export type Side = "source" | "destination";

export function podSecurityContext(sec: SecurityOptions, side: Side): PodSecurityContext {
    const groups = side === "source" ? sec.sourceSupplementalGroups : sec.targetSupplementalGroups;
    const ctx: PodSecurityContext = {
        seccompProfile: { type: "RuntimeDefault" },
        ...(groups.length > 0 ? { supplementalGroups: groups } : {}),
    };
    if (sec.runAsRoot) {
        Object.assign(ctx, { runAsNonRoot: false, runAsUser: 0, runAsGroup: sec.runAsGroup ?? 0 });
    } else {
        Object.assign(ctx, {
            runAsNonRoot: true,
            ...(sec.runAsUser !== undefined ? { runAsUser: sec.runAsUser } : {}),
            ...(sec.runAsGroup !== undefined ? { runAsGroup: sec.runAsGroup } : {}),
        });
        // The destination volumes are new and empty: let the transfer user write them. The source pod never gets an
        // fsGroup, so the kubelet never changes ownership of anything on a source volume.
        const fsGroup = side === "destination" ? (groups[0] ?? sec.runAsGroup ?? sec.runAsUser) : undefined;
        if (fsGroup !== undefined) Object.assign(ctx, { fsGroup, fsGroupChangePolicy: "OnRootMismatch" });
    }
    if (sec.superPrivileged) ctx.seLinuxOptions = { type: "spc_t" };
    return ctx;
}

export function containerSecurityContext(sec: SecurityOptions): SecurityContext {
    if (sec.superPrivileged) {
        // privileged implies privilege escalation; Kubernetes rejects allowPrivilegeEscalation=false with it
        return {
            privileged: true,
            allowPrivilegeEscalation: true,
            readOnlyRootFilesystem: true,
            seLinuxOptions: { type: "spc_t" },
            ...(sec.runAsRoot ? { runAsUser: 0, runAsNonRoot: false } : {}),
        };
    }
    return {
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: sec.runAsRoot ? { drop: ["ALL"], add: [...ROOT_CAPABILITIES] } : { drop: ["ALL"] },
    };
}

/** Pod Security Admission labels for namespaces that host root or privileged transfer pods. */
export function podSecurityLabels(sec: SecurityOptions): Record<string, string> {
    if (!sec.podSecurityLabels || !(sec.runAsRoot || sec.superPrivileged)) return {};
    return Object.fromEntries(PSA_LABELS.map((l) => [l, "privileged"]));
}
