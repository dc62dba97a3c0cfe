// ImageMigration: the images of one namespace, each copied by a `local.Command` of @pulumi/command that runs
// scripts/image-copy.sh (skopeo) on the machine of `pulumi up`.
//
// - The source digest is the trigger: a new digest replaces the command (the copy runs again); anything else that
//   changes (credentials, CA, retries) only updates it, and the update copies nothing (`image-copy.sh keep`).
// - No delete command: removing an image, a namespace or the wave drops the command from the state and leaves the
//   destination image where it is.
// - Credentials are secret inputs of the command's environment: ciphertext in the state, never on a command line.
// - The copies of one destination tag run one after the other, oldest first, so the newest ends as the tag.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { ImagesConfig } from "../../config/plan";
import { IMAGE_ENV, IMAGE_SCRIPT } from "../../contract";
import { hash, shortName } from "../names";
import { ImageCopy, ImageRecord } from "./types";

export type { ImageCopy, ImageRecord } from "./types";

export interface ImageMigrationArgs {
    images: ImagesConfig;
    /** The copies of this namespace, in copy order (components/images/resolve.ts). */
    copies: pulumi.Input<ImageCopy[]>;
    /** The command provider (undefined in render mode: nothing is copied). */
    provider?: command.Provider;
    /** What must exist before the first push: the destination namespace. */
    after: pulumi.Resource[];
}

/** The script, relative to the directory `pulumi up` runs the program (and the command provider) in. */
export function scriptPath(cwd = process.cwd()): string {
    const abs = path.join(__dirname, "scripts", IMAGE_SCRIPT);
    const rel = path.relative(cwd, abs);
    return rel.startsWith("..") ? abs : rel;
}

/** A stable, readable resource name for one copy: the destination, plus the digest for ImageStream history items. */
export function copyName(prefix: string, c: ImageCopy): string {
    const dst = c.destination.slice(c.destination.indexOf("/") + 1).replace(/[^A-Za-z0-9.-]+/g, "-");
    const id = c.origin === "imagestream" ? `${c.destination}@${c.digest}` : c.destination;
    return `${shortName([prefix, "image", dst], 120)}-${hash(id)}`;
}

/** The environment of one copy (contract IMAGE_ENV); user names and passwords as secrets. */
export function copyEnvironment(images: ImagesConfig, c: ImageCopy): Record<string, pulumi.Input<string>> {
    const s = images.source;
    const d = images.destination;
    return {
        [IMAGE_ENV.source]: c.source,
        [IMAGE_ENV.destination]: c.destination,
        [IMAGE_ENV.digest]: c.digest,
        [IMAGE_ENV.retries]: String(images.retries),
        [IMAGE_ENV.retryDelaySeconds]: String(images.retryDelaySeconds),
        [IMAGE_ENV.srcUsername]: pulumi.secret(s.username ?? ""),
        [IMAGE_ENV.srcPassword]: pulumi.secret(s.password ?? ""),
        [IMAGE_ENV.srcTlsVerify]: String(s.tlsVerify),
        [IMAGE_ENV.srcCaBundle]: s.caBundle ?? "",
        [IMAGE_ENV.dstUsername]: pulumi.secret(d.username ?? ""),
        [IMAGE_ENV.dstPassword]: pulumi.secret(d.password ?? ""),
        [IMAGE_ENV.dstTlsVerify]: String(d.tlsVerify),
        [IMAGE_ENV.dstCaBundle]: d.caBundle ?? "",
    };
}

/** The record of a copy from the script's last stdout line (`{"digest","bytes","seconds","attempts"}`). */
export function copyRecord(c: ImageCopy, stdout: string): ImageRecord {
    const base: ImageRecord = { source: c.source, destination: c.destination, digest: c.digest, origin: c.origin, ...(c.tag ? { tag: c.tag } : {}), result: "Copied" };
    const line = stdout.trim().split("\n").pop() ?? "";
    try {
        const r = JSON.parse(line) as { bytes?: unknown; seconds?: unknown; attempts?: unknown };
        const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
        return { ...base, bytes: num(r.bytes), seconds: num(r.seconds), attempts: num(r.attempts) };
    } catch {
        return base;
    }
}

export class ImageMigration extends pulumi.ComponentResource {
    /** One record per copy, in copy order. */
    public readonly images: pulumi.Output<ImageRecord[]>;

    constructor(name: string, args: ImageMigrationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dvm:images:ImageMigration", name, {}, opts);
        const script = scriptPath();
        this.images = pulumi.output(args.copies).apply((copies): pulumi.Output<ImageRecord[]> => {
            if (!args.provider) return pulumi.output(copies.map((c): ImageRecord => ({ source: c.source, destination: c.destination, digest: c.digest, origin: c.origin, ...(c.tag ? { tag: c.tag } : {}), result: "Rendered" })));
            const last = new Map<string, command.local.Command>();
            const records = copies.map((c) => {
                const before = last.get(c.destination);
                const cmd = new command.local.Command(copyName(name, c), {
                    create: `bash ${script}`,
                    update: `bash ${script} keep`,
                    environment: copyEnvironment(args.images, c),
                    triggers: [c.digest],
                    // skopeo's progress and the script's events; stdout is the record
                    logging: "stderr",
                }, { parent: this, provider: args.provider, dependsOn: [...args.after, ...(before ? [before] : [])] });
                last.set(c.destination, cmd);
                return cmd.stdout.apply((out) => copyRecord(c, out));
            });
            return pulumi.all(records) as pulumi.Output<ImageRecord[]>;
        });
        this.registerOutputs({ images: this.images });
    }
}
