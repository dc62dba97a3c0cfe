// What a transfer pod can touch and take: the source volumes read-only, a read-only root filesystem, no API token,
// bounded CPU and memory.

import { LABELS, ROLE_SOURCE, SOURCE_ROOT, TMP_DIR } from "../contract";
import { podPolicy, sc } from "./policy";
import { containersOf } from "./workloads";

export const transferResources = podPolicy({
    name: "transfer-resources",
    description: "Every transfer container has CPU and memory requests and limits.",
    enforcementLevel: "mandatory",
    remediationSteps: "Set dvm:resources (rsync, rsyncd, stunnel: requests and limits of cpu and memory).",
    check: (ref, _cfg, report, subject) => {
        if (ref.partial) {
            return;
        }
        for (const c of containersOf(ref)) {
            if (c.label.startsWith("ephemeral")) {
                continue; // ephemeral containers cannot carry resources
            }
            const res = c.c?.resources;
            const missing: string[] = [];
            for (const kind of ["requests", "limits"]) {
                for (const r of ["cpu", "memory"]) {
                    const v = res?.[kind]?.[r];
                    if (v === undefined || v === null || v === "") {
                        missing.push(`${kind}.${r}`);
                    }
                }
            }
            if (missing.length > 0) {
                report(`${subject}, ${c.label}: resources ${missing.join(", ")} not set. Fix: set them under ` +
                    `${c.path}.resources (dvm:resources, e.g. {"rsync": {"requests": {"cpu": "100m", "memory": "128Mi"}, ` +
                    `"limits": {"cpu": "1", "memory": "1Gi"}}}).`);
            }
        }
    },
});

function underSourceRoot(path: unknown): boolean {
    return typeof path === "string" && (path === SOURCE_ROOT || path.startsWith(SOURCE_ROOT + "/"));
}

export const transferSourceReadOnly = podPolicy({
    name: "transfer-source-read-only",
    description: "Source PVCs are attached read-only (persistentVolumeClaim.readOnly) and mounted read-only.",
    enforcementLevel: "mandatory",
    remediationSteps: "Set persistentVolumeClaim.readOnly: true and volumeMounts[].readOnly: true for source PVCs.",
    check: (ref, _cfg, report, subject) => {
        const isSource = ref.labels[LABELS.role] === ROLE_SOURCE;
        const volumes: any[] = Array.isArray(ref.spec.volumes) ? ref.spec.volumes : [];
        const pvcVolumes = new Map<string, { index: number; v: any }>();
        volumes.forEach((v, index) => {
            if (v?.persistentVolumeClaim !== undefined) {
                pvcVolumes.set(String(v.name), { index, v });
            }
        });
        // Volumes that hold source data: every PVC of a source transfer pod, and whatever is mounted under SOURCE_ROOT.
        const sourceVolumes = new Set<string>(isSource ? pvcVolumes.keys() : []);
        const containers = containersOf(ref);
        for (const c of containers) {
            const mounts = c.c?.volumeMounts;
            if (Array.isArray(mounts)) {
                for (const m of mounts) {
                    if (underSourceRoot(m?.mountPath)) {
                        sourceVolumes.add(String(m.name));
                    }
                }
            }
        }
        for (const name of sourceVolumes) {
            const pvc = pvcVolumes.get(name);
            if (!pvc) {
                continue;
            }
            const ro = pvc.v.persistentVolumeClaim?.readOnly;
            if (ro === false || (!ref.partial && ro !== true)) {
                report(`${subject}: source volume "${name}" (claim "${pvc.v.persistentVolumeClaim?.claimName}") is ` +
                    `attached read-write. Fix: set ${ref.path}.volumes[${pvc.index}].persistentVolumeClaim.readOnly: true.`);
            }
        }
        for (const c of containers) {
            const mounts = c.c?.volumeMounts;
            if (!Array.isArray(mounts)) {
                continue;
            }
            mounts.forEach((m: any, i: number) => {
                if (!sourceVolumes.has(String(m?.name))) {
                    return;
                }
                const ro = m.readOnly;
                if (ro === false || (!ref.partial && ro !== true)) {
                    report(`${subject}, ${c.label}: source volume "${m.name}" is mounted read-write at ${m.mountPath}. ` +
                        `Fix: set ${c.path}.volumeMounts[${i}].readOnly: true.`);
                }
            });
        }
    },
});

export const transferReadOnlyRootFilesystem = podPolicy({
    name: "transfer-read-only-root-filesystem",
    description: `Transfer containers have a read-only root filesystem (scratch goes to ${TMP_DIR}).`,
    enforcementLevel: "advisory",
    remediationSteps: "Set securityContext.readOnlyRootFilesystem: true on every container.",
    check: (ref, _cfg, report, subject) => {
        if (ref.partial) {
            return;
        }
        for (const c of containersOf(ref)) {
            if (sc(c, "readOnlyRootFilesystem") !== true) {
                report(`${subject}, ${c.label}: the root filesystem is writable. ` +
                    `Fix: set ${c.path}.securityContext.readOnlyRootFilesystem: true.`);
            }
        }
    },
});

export const transferNoServiceAccountToken = podPolicy({
    name: "transfer-no-service-account-token",
    description: "Transfer pods do not mount a Kubernetes API token (automountServiceAccountToken: false): rsync and stunnel never call the API.",
    enforcementLevel: "advisory",
    remediationSteps: "Set automountServiceAccountToken: false on the pod spec.",
    check: (ref, _cfg, report, subject) => {
        const automount = ref.spec.automountServiceAccountToken;
        if (automount === true || (!ref.partial && automount !== false)) {
            report(`${subject}: automountServiceAccountToken is ${automount === undefined ? "not set (a token is mounted by default)" : automount}; ` +
                `a compromised transfer container could use the token against the API. ` +
                `Fix: set ${ref.path}.automountServiceAccountToken: false.`);
        }
    },
});

/** The volume sources a transfer pod uses; hostPath is judged by transfer-no-host-access. */
const VOLUME_SOURCES_OK = new Set(["persistentVolumeClaim", "configMap", "secret", "emptyDir"]);

export const transferVolumeTypes = podPolicy({
    name: "transfer-volume-types",
    description: "Transfer pods mount only PVCs, their ConfigMaps and Secret, and emptyDirs (no nfs, iscsi or other volume the pod reaches by itself).",
    enforcementLevel: "mandatory",
    remediationSteps: "Give the data to the wave as a PVC; remove other volumes.",
    check: (ref, _cfg, report, subject) => {
        const volumes = ref.spec.volumes;
        if (!Array.isArray(volumes)) {
            return;
        }
        volumes.forEach((v: any, i: number) => {
            const kinds = Object.keys(v ?? {}).filter((k) => k !== "name" && k !== "hostPath");
            for (const k of kinds.filter((x) => !VOLUME_SOURCES_OK.has(x))) {
                report(`${subject}: volume "${v?.name ?? i}" is a ${k} volume; a transfer pod reads and writes PVCs only ` +
                    `(a ${k} volume reaches storage outside the wave's claims). Fix: remove ${ref.path}.volumes[${i}], or ` +
                    `bind the storage to a PVC and list it in the wave file.`);
            }
        });
    },
});

const PINNED = /@sha256:[0-9a-f]{64}$/;

export const transferImagePinned = podPolicy({
    name: "transfer-image-pinned",
    description: "Every transfer container's image is pinned by digest (name@sha256:...): a tag can be moved to other content.",
    enforcementLevel: "mandatory",
    remediationSteps: "Set dvm:transferImage to <registry>/<name>@sha256:<digest> (image/ builds dvm's own).",
    check: (ref, _cfg, report, subject) => {
        for (const c of containersOf(ref)) {
            const image = c.c?.image;
            if (image === undefined && ref.partial) {
                continue; // a patch that leaves the image alone
            }
            if (typeof image !== "string" || !PINNED.test(image)) {
                report(`${subject}, ${c.label}: image ${JSON.stringify(image)} is not pinned by digest, so what runs can ` +
                    `change under the same name. Fix: set dvm:transferImage to the image's digest reference, e.g. ` +
                    `pulumi config set dvm:transferImage registry.example.com/dvm/transfer@sha256:<digest> (make image ` +
                    `prints the digest of dvm's own image).`);
            }
        }
    },
});
