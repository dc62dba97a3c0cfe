// Per-namespace tunnel credentials: a TLS 1.3 PSK for stunnel and the rsyncd password. Generated from the OS CSPRNG
// (node:crypto randomBytes), never from Math.random; stored by the caller as Pulumi secrets and shipped only in
// Kubernetes Secrets (the same keys on both clusters).
import { randomBytes } from "node:crypto";
import { RSYNC_USER, SECRET_KEYS } from "../../contract";

export interface TunnelCredentials {
    /** PSK identity the client presents; the server knows only this one. Not secret, but unique per generation. */
    pskIdentity: string;
    /** 32 random bytes as 64 hex characters (stunnel decodes it to a 256-bit key). */
    pskKey: string;
    /** rsyncd password: 32 random bytes as 64 hex characters. */
    rsyncPassword: string;
}

export function generateCredentials(): TunnelCredentials {
    return {
        pskIdentity: `dvm-${randomBytes(8).toString("hex")}`,
        pskKey: randomBytes(32).toString("hex"),
        rsyncPassword: randomBytes(32).toString("hex"),
    };
}

function check(c: TunnelCredentials): void {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(c.pskIdentity)) {
        throw new Error(`tunnel credentials: pskIdentity ${JSON.stringify(c.pskIdentity)} must be 1-128 characters of [A-Za-z0-9._-]; example: dvm-3f9a0c1d2e4b5a69`);
    }
    if (!/^[0-9a-f]{64,}$/.test(c.pskKey)) {
        throw new Error("tunnel credentials: pskKey must be at least 64 lowercase hex characters (256 bits); regenerate by bumping dvm:credentialsVersion");
    }
    if (!/^[0-9A-Za-z_-]{32,}$/.test(c.rsyncPassword)) {
        throw new Error("tunnel credentials: rsyncPassword must be at least 32 characters of [0-9A-Za-z_-]; regenerate by bumping dvm:credentialsVersion");
    }
}

/** The files of the credentials Secret, keyed by SECRET_KEYS (mounted at SECRET_DIR on both pods). */
export function secretFiles(c: TunnelCredentials): Record<string, string> {
    check(c);
    return {
        [SECRET_KEYS.psk]: `${c.pskIdentity}:${c.pskKey}\n`,
        [SECRET_KEYS.rsyncPassword]: `${c.rsyncPassword}\n`,
        [SECRET_KEYS.rsyncdSecrets]: `${RSYNC_USER}:${c.rsyncPassword}\n`,
    };
}
