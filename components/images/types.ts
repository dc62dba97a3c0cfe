// What the image part plans and records: one copy per image, one record per copy in the `migration` stack output.

/** One image to copy (the program resolved its source digest, or read it from an ImageStream tag item). */
export interface ImageCopy {
    /** As the record shows it: `<source registry>/<path>:<tag>` (wave file) or `...@sha256:...` (ImageStream item). */
    source: string;
    /** `<destination registry>/<target namespace>/<path>:<tag>`. */
    destination: string;
    /** The source manifest's digest: the copy's trigger, and what must land on the destination. */
    digest: string;
    origin: "wave" | "imagestream";
    /** ImageStream items: `<stream>:<tag>`. */
    tag?: string;
}

/** `Copied` (now or by an earlier `pulumi up`), `Rendered` (render mode: nothing copied). */
export type ImageResult = "Copied" | "Rendered";

/** One image in the `migration` stack output (namespaces.<ns>.images[]). */
export interface ImageRecord {
    source: string;
    destination: string;
    digest: string;
    origin: ImageCopy["origin"];
    tag?: string;
    result: ImageResult;
    /** Every distinct blob of every architecture plus the manifests, as stored on the destination. */
    bytes?: number;
    /** Wall-clock seconds of the copy (retries and their delays included). */
    seconds?: number;
    attempts?: number;
}
