// Which images a wave copies, decided when the program runs (preview and up alike): the ImageStream tag items of
// each namespace (discover.ts) and the images the wave file lists, each with its current source digest. Reads only;
// every problem (credentials, CA, a missing image, an API that is not served) fails the program before anything is
// created, naming the key or the wave-file path.
import { ConfigError, Problem } from "../../config/errors";
import { destinationRepository } from "../../config/images";
import { Plan } from "../../config/plan";
import { ClusterAccess } from "../../kube";
import { Discovery, imageStreamCopies, readImageStreams } from "./discover";
import { digests, runSkopeo, SkopeoRunner } from "./skopeo";
import { ImageCopy } from "./types";

export interface ResolveDeps {
    skopeo?: SkopeoRunner;
    readImageStreams?: (access: ClusterAccess, namespaces: string[]) => Promise<Discovery>;
}

/** Source namespace -> its copies, in copy order (each tag's items oldest first). */
export type ImagePlan = Map<string, ImageCopy[]>;

export async function planImages(plan: Plan, sourceKubeconfig: string | undefined, deps: ResolveDeps = {}): Promise<ImagePlan> {
    const out: ImagePlan = new Map(plan.namespaces.map((ns) => [ns.source, []]));
    const images = plan.images;
    if (!images) return out;
    const problems: Problem[] = [];

    if (images.discover !== false && plan.render === undefined) {
        const read = deps.readImageStreams ?? readImageStreams;
        const discoverExample = "pulumi config set --path dvm:images.discover false   # copy only the images the wave file lists";
        try {
            const found = await read({ kubeconfig: sourceKubeconfig, context: plan.source.context }, plan.namespaces.map((ns) => ns.source));
            if (!found.served && images.discover === true) {
                problems.push({ where: "dvm:images.discover", what: "is true, but the source cluster does not serve image.openshift.io/v1 (it has no ImageStreams)", example: discoverExample });
            }
            for (const ns of plan.namespaces) out.get(ns.source)!.push(...imageStreamCopies(found.streams.get(ns.source) ?? [], ns, images));
        } catch (e) {
            if (e instanceof ConfigError) throw e;
            problems.push({ where: "dvm:images.discover", what: (e as Error).message, example: discoverExample });
        }
    }

    const listed: Array<{ ns: string; copy: ImageCopy; reference: string; where: string }> = [];
    plan.namespaces.forEach((ns, i) => {
        const discovered = new Set(out.get(ns.source)!.map((c) => c.destination));
        (ns.images ?? []).forEach((img, j) => {
            const destination = `${images.destination.registry}/${destinationRepository(ns.source, ns.target, img.repository)}:${img.tag}`;
            // an ImageStream tag that lands on the same destination tag is copied from the ImageStream, with its history
            if (discovered.has(destination)) return;
            const reference = `${images.source.registry}/${img.repository}:${img.tag}`;
            listed.push({ ns: ns.source, reference, where: `${plan.wave.file}: namespaces[${i}].images[${j}]`, copy: { source: reference, destination, digest: "", origin: "wave" } });
        });
    });
    if (plan.render === undefined) {
        const resolved = await digests(images.source, listed.map((l) => ({ reference: l.reference, where: l.where })), deps.skopeo ?? runSkopeo);
        resolved.forEach((r, k) => {
            if (r.problem) problems.push(r.problem);
            else listed[k].copy.digest = r.digest!;
        });
    }
    if (problems.length > 0) {
        // one message per key: many images behind one bad password say it once
        const seen = new Set<string>();
        throw new ConfigError(problems.filter((p) => {
            const key = p.where.startsWith("dvm:") ? p.where : `${p.where} ${p.what}`;
            if (seen.has(key)) return false;
            seen.add(key);
            return true;
        }));
    }
    for (const l of listed) out.get(l.ns)!.push(l.copy);
    return out;
}
