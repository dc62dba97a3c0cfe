// Two real registries on loopback (hack/registries.sh: Debian's docker-registry, TLS from a local CA each, htpasswd
// auth) for the image-migration tests, and the skopeo calls the tests make against them: seeding from an OCI layout
// or archive, reading digests back. Credentials go to skopeo through auth files, as the product does.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { repoRoot } from "./engine";

export interface Registry {
    /** `127.0.0.1:<port>` */
    host: string;
    user: string;
    password: string;
    /** PEM of the CA that signed the registry's certificate. */
    ca: string;
    caFile: string;
    /** Auth file and cert dir for skopeo (test-side calls only). */
    authFile: string;
    certDir: string;
}

export interface Registries {
    dir: string;
    src: Registry;
    dst: Registry;
    stop(): void;
    /** An outage of one registry: stopped, and started again as it was. */
    pause(side: "src" | "dst"): void;
    resume(side: "src" | "dst"): void;
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

function run(cmd: string, args: string[], what: string): string {
    const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 10 * 60 * 1000 });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`${what} exited ${r.status}: ${r.stderr}${r.stdout}`);
    return r.stdout;
}

export async function startRegistries(dir: string): Promise<Registries> {
    const ports = [await freePort(), await freePort()];
    run("bash", [path.join(repoRoot, "hack", "registries.sh"), "up", dir, String(ports[0]), String(ports[1])], "hack/registries.sh up");
    const side = (name: "src" | "dst", port: number): Registry => {
        const d = path.join(dir, name);
        const user = fs.readFileSync(path.join(d, "user"), "utf8").trim();
        const password = fs.readFileSync(path.join(d, "password"), "utf8").trim();
        const host = `127.0.0.1:${port}`;
        const authFile = path.join(d, "test-auth.json");
        fs.writeFileSync(authFile, JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${password}`).toString("base64") } } }), { mode: 0o600 });
        const certDir = path.join(d, "test-certs");
        fs.mkdirSync(certDir, { recursive: true });
        fs.copyFileSync(path.join(d, "ca.pem"), path.join(certDir, "ca.crt"));
        return { host, user, password, ca: fs.readFileSync(path.join(d, "ca.pem"), "utf8"), caFile: path.join(d, "ca.pem"), authFile, certDir };
    };
    return {
        dir,
        src: side("src", ports[0]),
        dst: side("dst", ports[1]),
        stop: () => { spawnSync("bash", [path.join(repoRoot, "hack", "registries.sh"), "down", dir]); },
        pause: (s) => { run("bash", [path.join(repoRoot, "hack", "registries.sh"), "stop", dir, s], `hack/registries.sh stop ${s}`); },
        resume: (s) => { run("bash", [path.join(repoRoot, "hack", "registries.sh"), "start", dir, s], `hack/registries.sh start ${s}`); },
    };
}

/** Pushes `oci:<layout>:<tag>` (or `oci-archive:<file>:<tag>`) to `<registry>/<repository>:<tag>` keeping digests. */
export function seed(r: Registry, source: string, repositoryTag: string): void {
    run("skopeo", ["copy", "--all", "--preserve-digests", "--dest-authfile", r.authFile, "--dest-cert-dir", r.certDir, source, `docker://${r.host}/${repositoryTag}`], `seeding ${repositoryTag}`);
}

/** The registry's digest of a manifest (sha256 of its raw bytes), or undefined when it does not exist. */
export function digestOf(r: Registry, reference: string): string | undefined {
    const res = spawnSync("skopeo", ["inspect", "--raw", "--authfile", r.authFile, "--cert-dir", r.certDir, `docker://${r.host}/${reference}`], { maxBuffer: 64 * 1024 * 1024 });
    if (res.status !== 0) {
        const err = String(res.stderr);
        if (/manifest unknown|name unknown|not found/i.test(err)) return undefined;
        throw new Error(`skopeo inspect ${reference}: ${err}`);
    }
    return `sha256:${require("crypto").createHash("sha256").update(res.stdout).digest("hex")}`;
}

/** The platforms of a manifest list on the registry (`os/arch[/variant]`), [] for a single image. */
export function platformsOf(r: Registry, reference: string): string[] {
    const raw = JSON.parse(run("skopeo", ["inspect", "--raw", "--authfile", r.authFile, "--cert-dir", r.certDir, `docker://${r.host}/${reference}`], `skopeo inspect ${reference}`));
    return (raw.manifests ?? []).map((m: any) => [m.platform?.os, m.platform?.architecture, m.platform?.variant].filter(Boolean).join("/")).sort();
}

/** Tags of a repository on the registry. */
export function tagsOf(r: Registry, repository: string): string[] {
    const res = spawnSync("skopeo", ["list-tags", "--authfile", r.authFile, "--cert-dir", r.certDir, `docker://${r.host}/${repository}`], { encoding: "utf8" });
    if (res.status !== 0) return [];
    return (JSON.parse(res.stdout).Tags ?? []).sort();
}
