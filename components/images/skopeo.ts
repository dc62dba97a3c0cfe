// The program's own registry reads: the current digest of each image the wave file lists, with `skopeo inspect --raw`
// (the digest is the sha256 of the manifest's bytes). It becomes the copy's trigger, so `pulumi up` copies an image
// again exactly when its source digest changed. Credentials reach skopeo through an auth file in a private temporary
// directory (removed afterwards), never its command line.
import { execFile } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Problem } from "../../config/errors";
import { registryHost } from "../../config/images";
import { RegistryConfig } from "../../config/plan";

export interface RunResult { code: number; stdout: Buffer; stderr: string; missing?: boolean }
/** Runs skopeo with these arguments (tests give a fake). */
export type SkopeoRunner = (args: string[]) => Promise<RunResult>;

export const runSkopeo: SkopeoRunner = (args) => new Promise((resolve) => {
    execFile("skopeo", args, { encoding: "buffer", maxBuffer: 64 * 1024 * 1024, timeout: 5 * 60 * 1000 }, (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
        resolve({
            code: e ? (typeof e.code === "number" ? e.code : 1) : 0,
            stdout: stdout ?? Buffer.alloc(0),
            stderr: String(stderr ?? ""),
            missing: e?.code === "ENOENT",
        });
    });
});

/** An auth file and cert dir for one registry, in a private temporary directory; `close` removes it. */
export function registryAccess(r: RegistryConfig): { args: string[]; close(): void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-skopeo-"));
    const authFile = path.join(dir, "auth.json");
    const auths = r.username !== undefined ? { [registryHost(r.registry)]: { auth: Buffer.from(`${r.username}:${r.password ?? ""}`).toString("base64") } } : {};
    fs.writeFileSync(authFile, JSON.stringify({ auths }), { mode: 0o600 });
    const args = ["--authfile", authFile, `--tls-verify=${r.tlsVerify}`];
    if (r.caBundle) {
        fs.mkdirSync(path.join(dir, "certs"), { mode: 0o700 });
        fs.writeFileSync(path.join(dir, "certs", "ca.crt"), r.caBundle);
        args.push("--cert-dir", path.join(dir, "certs"));
    }
    return { args, close: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** The manifest digest a registry serves for these raw bytes. */
export function manifestDigest(raw: Buffer): string {
    return `sha256:${createHash("sha256").update(raw).digest("hex")}`;
}

/** skopeo's own message without its log framing (`time=... level=fatal msg="..."`). */
export function skopeoMessage(stderr: string): string {
    const last = stderr.split("\n").map((l) => l.trim()).filter(Boolean).pop() ?? "";
    const m = /^time="[^"]*" level=[a-z]+ msg="(.*)"$/.exec(last);
    // `skopeo inspect` puts this before every error, also when the name was fine
    const text = (m ? m[1].replace(/\\"/g, "\"") : last).replace(/^Error parsing image name "[^"]*": /, "");
    return text || "skopeo failed without a message";
}

/**
 * What a failed `skopeo inspect` of a source image means, as a configuration problem: the key to fix (credentials,
 * CA, registry address) or, for an image that does not exist, the wave-file path that lists it.
 */
export function inspectProblem(stderr: string, reference: string, waveWhere: string): Problem {
    const msg = skopeoMessage(stderr);
    const k = "dvm:images.source";
    if (/unauthorized|authentication required|incorrect username or password|denied/i.test(msg)) {
        return { where: `${k}.password`, what: `the source registry refused the credentials (${k}.username, ${k}.password) reading ${reference}: ${msg}`, example: `pulumi config set --secret --path ${k}.password "$(oc whoami -t)"` };
    }
    if (/x509:|certificate/i.test(msg)) {
        return { where: `${k}.caBundle`, what: `the source registry's certificate is not trusted reading ${reference}: ${msg}`, example: `pulumi config set --path ${k}.caBundle certs/src-ca.pem   (or ${k}.tlsVerify false)` };
    }
    if (/manifest unknown|name unknown|not found/i.test(msg)) {
        return { where: waveWhere, what: `${reference} does not exist on the source registry: ${msg}`, example: "images: [app/web:1.4]" };
    }
    if (/connection refused|no such host|i\/o timeout|no route to host|network is unreachable|server gave HTTP response to HTTPS/i.test(msg)) {
        return { where: `${k}.registry`, what: `cannot reach the source registry reading ${reference}: ${msg}`, example: `pulumi config set --path ${k}.registry registry.src.example.com:5000` };
    }
    return { where: k, what: `skopeo inspect ${reference} failed: ${msg}`, example: `pulumi config set --path ${k}.registry registry.src.example.com:5000` };
}

export const SKOPEO_MISSING = "skopeo is not installed on the machine that runs `pulumi up` (Debian/Ubuntu: apt-get install skopeo jq; " +
    "Fedora/RHEL: dnf install skopeo jq); dvm copies images with it";

/** The current digest of each reference (host/path:tag) on one registry, at most `parallel` at a time. */
export async function digests(r: RegistryConfig, refs: Array<{ reference: string; where: string }>, run: SkopeoRunner = runSkopeo, parallel = 4):
    Promise<Array<{ digest?: string; problem?: Problem }>> {
    if (refs.length === 0) return [];
    const access = registryAccess(r);
    try {
        const out: Array<{ digest?: string; problem?: Problem }> = new Array(refs.length);
        let next = 0;
        const worker = async () => {
            while (next < refs.length) {
                const i = next++;
                const res = await run(["inspect", "--raw", "--retry-times", "2", ...access.args, `docker://${refs[i].reference}`]);
                if (res.missing) {
                    out[i] = { problem: { where: "dvm:images", what: SKOPEO_MISSING, example: "apt-get install skopeo jq" } };
                } else if (res.code !== 0) {
                    out[i] = { problem: inspectProblem(res.stderr, refs[i].reference, refs[i].where) };
                } else {
                    out[i] = { digest: manifestDigest(res.stdout) };
                }
            }
        };
        await Promise.all(Array.from({ length: Math.min(parallel, refs.length) }, worker));
        return out;
    } finally {
        access.close();
    }
}
