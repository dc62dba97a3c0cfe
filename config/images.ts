// `dvm:images` (the registries images are copied between) and the wave file's per-namespace `images` list, as pure
// functions, plus the naming rules both the program and the docs rely on: where an image lands on the destination.
import { Problems } from "./errors";
import { ImagesConfig, RegistryConfig, WaveImage } from "./plan";
import { autoBool, bool, describe, int, object, str } from "./readers";

export const IMAGES_EXAMPLE = "dvm:images: {source: {registry: registry.src.example.com, username: migrator}, " +
    "destination: {registry: registry.dst.example.com, username: migrator}}   " +
    "(passwords: pulumi config set --secret --path dvm:images.source.password ...)";

export const DEFAULT_IMAGES = { discover: "auto" as const, retries: 3, retryDelaySeconds: 10, tlsVerify: true };

const SOURCE_KEYS = ["registry", "username", "password", "tlsVerify", "caBundle", "aliases"] as const;
const DESTINATION_KEYS = ["registry", "username", "password", "tlsVerify", "caBundle"] as const;
const IMAGES_KEYS = ["source", "destination", "discover", "retries", "retryDelaySeconds"] as const;

// A repository path component as the distribution spec defines it.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Why a `host[:port][/path]` registry value is not one (undefined when it is). */
export function registryError(value: string): string | undefined {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return "must not have a scheme (dvm always talks HTTPS; for a registry without a trusted certificate give caBundle, or tlsVerify: false)";
    if (value.endsWith("/")) return "must not end with '/'";
    const slash = value.indexOf("/");
    const hostPort = slash < 0 ? value : value.slice(0, slash);
    const path = slash < 0 ? "" : value.slice(slash + 1);
    const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::([0-9]+))?$/.exec(hostPort);
    if (!m) return `${JSON.stringify(hostPort)} is not host[:port]`;
    const host = m[1];
    if (!host.startsWith("[") && !host.split(".").every((l) => HOST_LABEL.test(l))) return `${JSON.stringify(host)} is not a host name or IP address`;
    if (m[2] !== undefined && !(Number(m[2]) >= 1 && Number(m[2]) <= 65535)) return `port ${m[2]} is not from 1 to 65535`;
    for (const c of path ? path.split("/") : []) {
        if (!PATH_COMPONENT.test(c)) return `path component ${JSON.stringify(c)} must be lowercase letters and digits, separated by '.', '_' or '-'`;
    }
    return undefined;
}

/** `host[:port]` of a registry value (the key of its entry in an auth file). */
export function registryHost(registry: string): string {
    const slash = registry.indexOf("/");
    return slash < 0 ? registry : registry.slice(0, slash);
}

/** A wave-file image (`app/web:1.4`, relative to the source registry), or why it is not one. */
export function parseWaveImage(value: unknown): WaveImage | string {
    if (typeof value !== "string" || value.length === 0) return `must be an image reference such as app/web:1.4, got ${describe(value)}`;
    if (value.includes("@")) return `${JSON.stringify(value)} names a digest; list the tag to copy (app/web:1.4): dvm copies the tag's current digest, and again when it changes`;
    const colon = value.lastIndexOf(":");
    const hasTag = colon > value.lastIndexOf("/");
    const repository = hasTag ? value.slice(0, colon) : value;
    const tag = hasTag ? value.slice(colon + 1) : "latest";
    const first = repository.split("/")[0];
    if (repository.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")) {
        return `${JSON.stringify(value)} names a registry (${first}); images in the wave file are relative to dvm:images.source.registry`;
    }
    if (!repository.split("/").every((c) => PATH_COMPONENT.test(c))) {
        return `${JSON.stringify(value)}: the repository must be lowercase path components (letters, digits, '.', '_', '-') separated by '/'`;
    }
    if (!TAG.test(tag)) return `${JSON.stringify(value)}: the tag ${JSON.stringify(tag)} must be letters, digits, '_', '.' or '-' (at most 128, not starting with '.' or '-')`;
    return { repository, tag };
}

/**
 * Where an image of source namespace `sourceNs` lands below the destination registry: under the target namespace
 * (OpenShift's registry requires the namespace as the first component, and MTC does the same), with the source
 * namespace's own first component replaced: `app/web` of namespace app -> `<target>/web`; `shared/base` -> `<target>/shared/base`.
 */
export function destinationRepository(sourceNs: string, targetNs: string, repository: string): string {
    const rest = repository.startsWith(`${sourceNs}/`) ? repository.slice(sourceNs.length + 1) : repository;
    return `${targetNs}/${rest}`;
}

/**
 * The repository path of `reference` (a name without transport, e.g. `host:5000/app/web@sha256:...`) below one of
 * `registries` (host[:port][/path]), or undefined when it is on none of them.
 */
export function pathBelow(reference: string, registries: readonly string[]): string | undefined {
    for (const r of registries) {
        if (reference.startsWith(`${r}/`)) return reference.slice(r.length + 1);
    }
    return undefined;
}

/** Validates `dvm:images` (undefined when unset: no image migration). */
export function imagesConfig(p: Problems, v: unknown): ImagesConfig | undefined {
    if (v === undefined) return undefined;
    const where = "dvm:images";
    const o = object(p, v, where, IMAGES_KEYS, IMAGES_EXAMPLE);
    if (!o) return undefined;
    const source = registryConfig(p, o.source, `${where}.source`, SOURCE_KEYS);
    const destination = registryConfig(p, o.destination, `${where}.destination`, DESTINATION_KEYS);
    const aliases: string[] = [];
    const src = o.source as Record<string, unknown> | undefined;
    if (src && typeof src === "object" && src.aliases !== undefined) {
        const example = "dvm:images.source.aliases: [image-registry.openshift-image-registry.svc:5000]";
        if (!Array.isArray(src.aliases)) {
            p.add(`${where}.source.aliases`, `must be a list of host[:port][/path], got ${describe(src.aliases)}`, example);
        } else {
            src.aliases.forEach((a, i) => {
                const e = typeof a === "string" ? registryError(a) : `must be host[:port][/path], got ${describe(a)}`;
                if (e) p.add(`${where}.source.aliases[${i}]`, e, example);
                else aliases.push(a as string);
            });
        }
    }
    const discover = autoBool(p, o.discover, `${where}.discover`, DEFAULT_IMAGES.discover, "pulumi config set --path dvm:images.discover false   # only the images the wave file lists");
    const retries = int(p, o.retries, `${where}.retries`, DEFAULT_IMAGES.retries, 0, 100, "pulumi config set --path dvm:images.retries 5");
    const retryDelaySeconds = int(p, o.retryDelaySeconds, `${where}.retryDelaySeconds`, DEFAULT_IMAGES.retryDelaySeconds, 1, 3600, "pulumi config set --path dvm:images.retryDelaySeconds 10");
    if (!source || !destination) return undefined;
    return { source: { ...source, aliases }, destination, discover, retries, retryDelaySeconds };
}

function registryConfig(p: Problems, v: unknown, where: string, keys: readonly string[]): RegistryConfig | undefined {
    const side = where.endsWith("source") ? "src" : "dst";
    const example = `pulumi config set --path ${where}.registry registry.${side}.example.com:5000`;
    if (v === undefined) {
        p.add(where, "is required: the registry images are copied " + (side === "src" ? "from" : "to") + ", as host[:port][/path]", example);
        return undefined;
    }
    const o = object(p, v, where, keys, IMAGES_EXAMPLE);
    if (!o) return undefined;
    let registry = str(p, o.registry, `${where}.registry`, example);
    if (registry === undefined && o.registry === undefined) p.add(`${where}.registry`, "is required: host[:port][/path] of the registry", example);
    if (registry !== undefined) {
        const e = registryError(registry);
        if (e) {
            p.add(`${where}.registry`, `${JSON.stringify(registry)} ${e}`, example);
            registry = undefined;
        }
    }
    const username = str(p, o.username, `${where}.username`, `pulumi config set --path ${where}.username migrator`);
    const password = str(p, o.password, `${where}.password`, `pulumi config set --secret --path ${where}.password "$(cat token)"`);
    if ((o.username === undefined) !== (o.password === undefined)) {
        const missing = o.username === undefined ? "username" : "password";
        p.add(`${where}.${missing}`, `is required with ${where}.${missing === "username" ? "password" : "username"} (or give neither, for anonymous access)`,
            missing === "username" ? `pulumi config set --path ${where}.username migrator   (OpenShift with a token: any user name)` : `pulumi config set --secret --path ${where}.password "$(oc whoami -t)"`);
    }
    const tlsVerify = bool(p, o.tlsVerify, `${where}.tlsVerify`, DEFAULT_IMAGES.tlsVerify, `pulumi config set --path ${where}.tlsVerify true   (a private CA: ${where}.caBundle)`);
    const caBundle = str(p, o.caBundle, `${where}.caBundle`, `pulumi config set --path ${where}.caBundle certs/${side}-ca.pem   (a file, or the PEM text)`);
    if (registry === undefined) return undefined;
    return { registry, username, password, tlsVerify, caBundle };
}

/** Validates a wave-file namespace's `images` list. */
export function waveImages(p: Problems, v: unknown, where: string): WaveImage[] {
    if (v === undefined) return [];
    const example = "images: [app/web:1.4, app/worker:2.0]";
    if (!Array.isArray(v)) {
        p.add(where, `must be a list of images relative to dvm:images.source.registry, got ${describe(v)}`, example);
        return [];
    }
    const out: WaveImage[] = [];
    const seen = new Map<string, number>();
    v.forEach((x, i) => {
        const r = parseWaveImage(x);
        if (typeof r === "string") {
            p.add(`${where}[${i}]`, r, example);
            return;
        }
        const key = `${r.repository}:${r.tag}`;
        if (seen.has(key)) {
            p.add(`${where}[${i}]`, `${key} is listed twice (also [${seen.get(key)}])`, example);
            return;
        }
        seen.set(key, i);
        out.push(r);
    });
    return out;
}
