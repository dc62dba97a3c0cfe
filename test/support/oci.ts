// Small real OCI images for the image-migration tests, written as an OCI image layout (what `skopeo copy oci:DIR:TAG`
// reads): one image per platform, each with a layer of its own and a layer every platform shares, and optionally an
// image index over them (a multi-arch image). Deterministic: the same arguments give the same digests.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";

export interface Platform { os: string; architecture: string; variant?: string }

function sha256(b: Buffer): string {
    return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}

/** A ustar archive of regular files (name -> content), owner 0, mode 0644, mtime 0. */
export function tar(files: Record<string, string | Buffer>): Buffer {
    const parts: Buffer[] = [];
    for (const [name, content] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
        const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
        const h = Buffer.alloc(512);
        h.write(name, 0, 100);
        h.write("0000644\0", 100);
        h.write("0000000\0", 108);
        h.write("0000000\0", 116);
        h.write(`${data.length.toString(8).padStart(11, "0")}\0`, 124);
        h.write("00000000000\0", 136);
        h.write("        ", 148);
        h.write("0", 156);
        h.write("ustar\0", 257);
        h.write("00", 263);
        let sum = 0;
        for (const byte of h) sum += byte;
        h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
        parts.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
    parts.push(Buffer.alloc(1024));
    return Buffer.concat(parts);
}

class Layout {
    constructor(readonly dir: string) {
        fs.mkdirSync(path.join(dir, "blobs", "sha256"), { recursive: true });
        fs.writeFileSync(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    }

    blob(b: Buffer): { digest: string; size: number } {
        const digest = sha256(b);
        fs.writeFileSync(path.join(this.dir, "blobs", "sha256", digest.slice(7)), b);
        return { digest, size: b.length };
    }

    json(mediaType: string, value: unknown): { mediaType: string; digest: string; size: number } {
        return { mediaType, ...this.blob(Buffer.from(JSON.stringify(value))) };
    }

    layer(files: Record<string, string>): { mediaType: string; digest: string; size: number; diffId: string } {
        const raw = tar(files);
        const gz = zlib.gzipSync(raw, { level: 9 });
        // gzip writes no name and, from a Buffer, mtime 0: stable across runs
        return { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...this.blob(gz), diffId: sha256(raw) };
    }

    image(p: Platform, label: string): { mediaType: string; digest: string; size: number; platform: Platform } {
        const shared = this.layer({ "etc/dvm-test": "shared by every platform\n" });
        const own = this.layer({ "hello.txt": `${label} for ${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}\n` });
        const config = this.json("application/vnd.oci.image.config.v1+json", {
            architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}),
            config: { Cmd: ["/hello.txt"] },
            rootfs: { type: "layers", diff_ids: [shared.diffId, own.diffId] },
        });
        const manifest = this.json("application/vnd.oci.image.manifest.v1+json", {
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            config,
            layers: [shared, own].map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
        });
        return { ...manifest, platform: p };
    }
}

export interface BuiltImage { tag: string; digest: string }

/**
 * Writes an OCI layout at `dir` holding `images`: each tag is one platform's image, or an index over several.
 * Returns the tag -> top-level digest (the digest a registry must report after a digest-preserving copy).
 */
export function buildLayout(dir: string, images: Array<{ tag: string; label: string; platforms: Platform[]; index?: boolean }>): BuiltImage[] {
    const layout = new Layout(dir);
    const refs: Array<{ mediaType: string; digest: string; size: number; annotations: Record<string, string> }> = [];
    const out: BuiltImage[] = [];
    for (const img of images) {
        const manifests = img.platforms.map((p) => layout.image(p, img.label));
        const top = img.index || manifests.length > 1
            ? layout.json("application/vnd.oci.image.index.v1+json", { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests })
            : (({ mediaType, digest, size }) => ({ mediaType, digest, size }))(manifests[0]);
        refs.push({ ...top, annotations: { "org.opencontainers.image.ref.name": img.tag } });
        out.push({ tag: img.tag, digest: top.digest });
    }
    fs.writeFileSync(path.join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: refs }));
    return out;
}
