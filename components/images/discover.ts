// ImageStream discovery, as MTC's image migration does it: on a source cluster that serves image.openshift.io/v1,
// every tag item of each wave namespace's ImageStreams whose image lives in the source registry (the configured
// registry, its aliases, or the internal registry the ImageStream itself names) is copied to
// `<destination registry>/<target namespace>/<stream>:<tag>`, oldest first, so the newest stays the tag.
// Items that point elsewhere (images imported from quay.io and the like) stay where they are.
import { pathBelow, registryHost } from "../../config/images";
import { ImagesConfig, NamespacePlan } from "../../config/plan";
import { ClusterAccess, apiError, kubeConfig, statusCode } from "../../kube";
import { ImageCopy } from "./types";

export const IMAGE_API = { group: "image.openshift.io", version: "v1", plural: "imagestreams" } as const;

export interface TagEvent { dockerImageReference?: string; image?: string; created?: string }
export interface ImageStream {
    metadata: { name: string; namespace?: string };
    status?: { dockerImageRepository?: string; tags?: Array<{ tag: string; items?: TagEvent[] | null }> | null };
}

/** The copies one namespace's ImageStreams ask for (pure). */
export function imageStreamCopies(streams: ImageStream[], ns: NamespacePlan, images: ImagesConfig): ImageCopy[] {
    const out: ImageCopy[] = [];
    for (const s of [...streams].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
        const internal = s.status?.dockerImageRepository ? [registryHost(s.status.dockerImageRepository)] : [];
        const registries = [images.source.registry, ...images.source.aliases, ...internal];
        for (const t of [...(s.status?.tags ?? [])].sort((a, b) => a.tag.localeCompare(b.tag))) {
            // the API lists a tag's items newest first; equal or missing times keep that order reversed
            const items = (t.items ?? []).map((item, i) => ({ item, i }))
                .sort((a, b) => (time(a.item) - time(b.item)) || (b.i - a.i))
                .map((x) => x.item);
            const destination = `${images.destination.registry}/${ns.target}/${s.metadata.name}:${t.tag}`;
            // a digest that comes back later counts once, at its newest place
            const byDigest = new Map<string, ImageCopy>();
            for (const item of items) {
                const below = item.dockerImageReference ? pathBelow(item.dockerImageReference, registries) : undefined;
                const digest = item.image?.startsWith("sha256:") ? item.image : /@(sha256:[0-9a-f]{64})$/.exec(item.dockerImageReference ?? "")?.[1];
                if (below === undefined || digest === undefined) continue;
                const repository = below.replace(/@sha256:[0-9a-f]{64}$/, "").replace(/:[^/:]+$/, "");
                byDigest.delete(digest);
                byDigest.set(digest, {
                    source: `${images.source.registry}/${repository}@${digest}`,
                    destination, digest, origin: "imagestream", tag: `${s.metadata.name}:${t.tag}`,
                });
            }
            out.push(...byDigest.values());
        }
    }
    return out;
}

function time(e: TagEvent): number {
    const t = e.created ? Date.parse(e.created) : NaN;
    return Number.isNaN(t) ? 0 : t;
}

export interface Discovery {
    /** Whether the source cluster serves image.openshift.io/v1. */
    served: boolean;
    /** ImageStreams by source namespace. */
    streams: Map<string, ImageStream[]>;
}

/** Reads the ImageStreams of `namespaces` from the source cluster (nothing when the API is not served). */
export async function readImageStreams(access: ClusterAccess, namespaces: string[]): Promise<Discovery> {
    const k8s = require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
    const kc = kubeConfig(access, { what: "dvm:source", cluster: "source", reader: "ImageStream discovery" });
    let served = false;
    try {
        const groups = await kc.makeApiClient(k8s.ApisApi).getAPIVersions();
        served = groups.body.groups.some((g) => g.name === IMAGE_API.group && g.versions.some((v) => v.version === IMAGE_API.version));
    } catch (e) {
        throw apiError("list the source cluster's API groups (for ImageStream discovery, dvm:images.discover)", e);
    }
    const streams = new Map<string, ImageStream[]>();
    if (!served) return { served, streams };
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    for (const ns of namespaces) {
        try {
            const r = await api.listNamespacedCustomObject(IMAGE_API.group, IMAGE_API.version, ns, IMAGE_API.plural);
            streams.set(ns, ((r.body as { items?: ImageStream[] }).items ?? []));
        } catch (e) {
            if (statusCode(e) === 404) {
                streams.set(ns, []);
                continue;
            }
            throw apiError(`list the ImageStreams of namespace ${ns} on the source cluster (dvm:images.discover)`, e);
        }
    }
    return { served, streams };
}
