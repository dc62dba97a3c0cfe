// rsyncd.conf of the destination transfer pod's `rsyncd` container: one module per destination PVC, reachable only
// from 127.0.0.1 (the stunnel server in the same pod), password-authenticated, writing nothing to the read-only root
// filesystem.
import { RSYNCD_PORT, RSYNC_USER, SECRET_DIR, SECRET_KEYS, TARGET_ROOT, TMP_DIR } from "../../contract";

/** What the daemon refuses from any client: the link-following options (the extras allow-list refuses them too). */
export const RSYNCD_REFUSED_OPTIONS = ["copy-links", "copy-unsafe-links", "copy-dirlinks", "keep-dirlinks", "safe-links", "munge-links"] as const;

const MODULE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function renderRsyncdConf(a: { modules: string[]; runAsRoot: boolean }): string {
    if (a.modules.length === 0) {
        throw new Error("rsyncd.conf needs at least one module (destination PVC); example: modules: [\"postgresql\"]");
    }
    const seen = new Set<string>();
    for (const m of a.modules) {
        if (!MODULE_NAME.test(m)) {
            throw new Error(`rsyncd module ${JSON.stringify(m)} is not a DNS-1123 PVC name (wave file pvcs[].targetName); example: postgresql-data`);
        }
        if (seen.has(m)) throw new Error(`rsyncd module ${JSON.stringify(m)} appears twice (wave file pvcs[].targetName must be unique per namespace)`);
        seen.add(m);
    }
    const lines = [
        "# dvm rsyncd.conf - rendered by components/transfer/rsyncd.ts, do not edit",
        `address = 127.0.0.1`,
        `port = ${RSYNCD_PORT}`,
        `hosts allow = 127.0.0.1`,
        // chroot needs CAP_SYS_CHROOT: only when running as root
        `use chroot = ${a.runAsRoot ? "yes" : "no"}`,
        // without chroot rsync would rewrite every symlink target; keep them byte for byte
        `munge symlinks = no`,
        `numeric ids = yes`,
        // as root rsyncd would otherwise drop to "nobody" and lose owners; non-root cannot switch ids at all
        ...(a.runAsRoot ? ["uid = 0", "gid = 0"] : []),
        `read only = no`,
        `write only = yes`,
        `list = no`,
        `auth users = ${RSYNC_USER}`,
        `secrets file = ${SECRET_DIR}/${SECRET_KEYS.rsyncdSecrets}`,
        `strict modes = yes`,
        // Defence in depth behind the extras allow-list: options that follow links, if a client sends them, end the
        // session. (-L and -k act on the sender alone and never reach the daemon; the allow-list refuses those.)
        `refuse options = ${RSYNCD_REFUSED_OPTIONS.join(" ")}`,
        // nothing on the read-only root filesystem: no pid file, lock file in the writable scratch dir
        `lock file = ${TMP_DIR}/rsyncd.lock`,
        `log file = /dev/stdout`,
        `transfer logging = no`,
        `timeout = 600`,
        "",
    ];
    for (const m of a.modules) {
        lines.push(`[${m}]`, `    path = ${TARGET_ROOT}/${m}`, `    comment = destination PVC ${m}`, "");
    }
    return lines.join("\n");
}
