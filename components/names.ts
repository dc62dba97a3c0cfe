// Deterministic object names. Kubernetes names and DNS labels have length limits (63 for labels/Jobs' pod labels);
// long names are shortened with a hash of the full name so they stay unique and stable across runs.
import { createHash } from "crypto";

export function hash(value: string, length = 8): string {
    return createHash("sha256").update(value).digest("hex").slice(0, length);
}

/** `parts` joined with '-', cut to `max` characters with an 8-character hash suffix when too long. */
export function shortName(parts: string[], max = 63): string {
    const full = parts.filter((p) => p.length > 0).join("-");
    if (full.length <= max) return full;
    const suffix = hash(full);
    const head = full.slice(0, max - suffix.length - 1).replace(/[-.]+$/, "");
    return `${head}-${suffix}`;
}

/** Names of the objects one namespace's migration creates (same on both sides where an object exists on both). Each
 * carries the wave: two waves (of one stack or two) can share a source or destination namespace - a big namespace's
 * PVCs split over waves, one source namespace copied to two destinations. */
export interface TransferNames {
    /** Secret with the tunnel key and rsync password. */
    credentials: string;
    /** ConfigMap with the container scripts. */
    scripts: string;
    /** ConfigMap with rsyncd/stunnel config (no secrets). */
    config: string;
    /** Destination Deployment (rsyncd + stunnel server), its Service, Route/Ingress. */
    server: string;
    /** First DNS label of the Route/Ingress host. */
    hostLabel: string;
    /** Source Job (rsync + stunnel client); one per pass (a cutover's final pass has a name of its own). */
    job: string;
}

export function transferNames(wave: string, targetNamespace: string, pass: number, mode: "stage" | "cutover" | "rollback" = "stage"): TransferNames {
    return {
        credentials: shortName(["dvm-transfer-credentials", wave]),
        scripts: shortName(["dvm-transfer-scripts", wave]),
        config: shortName(["dvm-transfer-config", wave]),
        server: shortName(["dvm-rsyncd", wave]),
        hostLabel: shortName(["dvm", wave, targetNamespace]),
        job: shortName(["dvm-rsync", wave, `p${pass}`, ...(mode === "cutover" ? ["cutover"] : [])], 52),
    };
}
