// rsyncd.conf of the destination transfer pod's `rsyncd` container: one module per destination PVC, reachable only
// from 127.0.0.1 (the stunnel server in the same pod), password-authenticated, writing nothing to the read-only root
// filesystem.
import { RSYNCD_PORT, RSYNC_USER, SECRET_DIR, SECRET_KEYS, TARGET_ROOT, TMP_DIR } from "../../contract";
import { DEFAULT_RSYNC } from "../../config/options";

/** What the daemon refuses from any client: the link-following options (the extras allow-list refuses them too). */
export const RSYNCD_REFUSED_OPTIONS = ["copy-links", "copy-unsafe-links", "copy-dirlinks", "keep-dirlinks", "safe-links", "munge-links"] as const;

const MODULE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** `timeout`: dvm:rsync.timeout (seconds without I/O before the daemon gives up a session; 0 = never). */
export function renderRsyncdConf(a: { modules: string[]; runAsRoot: boolean; timeout?: number }): string {
    const timeout = a.timeout ?? DEFAULT_RSYNC.timeout ?? 0;
    if (!Number.isInteger(timeout) || timeout < 0) {
        throw new Error(`dvm:rsync.timeout must be a whole number of seconds >= 0 (0 = none), got ${JSON.stringify(a.timeout)}; example: timeout: 600`);
    }
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
        // chroot needs CAP_SYS_CHROOT: only when running as root. Without it the daemon cleans every received
        // symlink target (a leading "/" dropped, ".." cut at the volume root) whatever `munge symlinks` says:
        // rsync-client.sh counts those links per PVC (--dvm-count-unsafe-links) and dvm:rsync.unsafeSymlinks can
        // refuse them. With chroot they arrive byte for byte.
        `use chroot = ${a.runAsRoot ? "yes" : "no"}`,
        // never the "/rsyncd-munged/" prefix munging would add
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
        // like the client's --timeout (dvm:rsync.timeout): a session without I/O that long is given up
        `timeout = ${timeout}`,
        "",
    ];
    for (const m of a.modules) {
        lines.push(`[${m}]`, `    path = ${TARGET_ROOT}/${m}`, `    comment = destination PVC ${m}`, "");
    }
    return lines.join("\n");
}
