// The rsync client command line, as an argument list (never a shell string). The source pod's `rsync` container gets
// `rsyncClientArgs(...)` as its `args`; components/transfer/scripts/rsync-client.sh passes the options to rsync
// word for word and adds `--exclude=/lost+found` (and `--checksum` for a `:verify` PVC). Words starting `--dvm-` are
// options of the script itself, never passed to rsync (components/transfer/PROTOCOL.md).
import { PVC_PAIRS_SEPARATOR, SCRIPT_OPTIONS, VERIFY_SUFFIX } from "../../contract";
import { PvcPlan, RsyncOptions } from "../../config/plan";

/** rsync options from `dvm:rsync`, in a stable order, followed by the (already validated) extras.
 *
 * Always added, whatever the config says:
 * - `--numeric-ids`: the two pods have unrelated /etc/passwd files, so owners travel as numbers (as in MTC).
 * From `dvm:rsync.sparse` (`auto` unless set):
 * - `--sparse` (true): a sparse file (VM disk, database file) stays sparse, so it cannot outgrow a destination PVC of
 *   the source's size; costs ~21% CPU on large files without holes (bench/).
 * - `--dvm-sparse-if-holes` (auto): the script scans each source PVC before its copy and adds `--sparse` only when a
 *   file there has fewer bytes allocated than its size.
 * From `dvm:rsync.inplace` (`auto` unless set):
 * - `--inplace` (true): files are written in place, never as a temporary file renamed over the old one.
 * - `--dvm-inplace-if-empty` (auto): the script adds `--inplace` only for a PVC whose destination volume is empty
 *   (the first copy: -16% CPU on small files, bench/) and that is not copied with `--sparse`. Later passes then
 *   replace changed files by rename, so a hard-link group that was split on the source never rewrites the other
 *   names of its old destination inode. */
export function rsyncOptionArgs(o: RsyncOptions): string[] {
    const args: string[] = [];
    if (o.archive) args.push("--archive");
    if (o.delete) args.push("--delete");
    if (o.hardLinks) args.push("--hard-links");
    if (o.partial) args.push("--partial");
    if (!Number.isInteger(o.bwlimit) || o.bwlimit < 0) {
        throw new Error(`dvm:rsync.bwlimit must be a whole number of KiB/s >= 0 (0 = unlimited), got ${JSON.stringify(o.bwlimit)}; example: bwlimit: 10240`);
    }
    if (o.bwlimit > 0) args.push(`--bwlimit=${o.bwlimit}`);
    // A connection lost without a reset (a silent network or node failure) would otherwise hang the attempt for the
    // kernel's TCP retry time; with a timeout it ends (exit 30) and the next attempt resumes.
    if (o.timeout !== undefined && o.timeout > 0) args.push(`--timeout=${o.timeout}`);
    if (o.verify) args.push("--checksum");
    args.push("--numeric-ids");
    const sparse = o.sparse ?? "auto";
    if (sparse === true) args.push("--sparse");
    else if (sparse === "auto") args.push(SCRIPT_OPTIONS.sparseIfHoles);
    else if (sparse !== false) throw new Error(`dvm:rsync.sparse must be auto, true or false, got ${JSON.stringify(sparse)}; example: sparse: auto`);
    const inplace = o.inplace ?? "auto";
    if (inplace === true) args.push("--inplace");
    else if (inplace === "auto") args.push(SCRIPT_OPTIONS.inplaceIfEmpty);
    else if (inplace !== false) throw new Error(`dvm:rsync.inplace must be auto, true or false, got ${JSON.stringify(inplace)}; example: inplace: auto`);
    if (o.info !== "") {
        if (!/^[A-Za-z0-9,]+$/.test(o.info)) {
            throw new Error(`dvm:rsync.info must be a comma-separated list of rsync --info flags, got ${JSON.stringify(o.info)}; example: info: "COPY2,DEL2,REMOVE2,SKIP2,FLIST2,PROGRESS2,STATS2"`);
        }
        args.push(`--info=${o.info}`);
    }
    for (const e of o.extras) {
        if (!e.startsWith("-") || e === "--" || /[\0\r\n]/.test(e)) {
            throw new Error(`dvm:rsync.extras: ${JSON.stringify(e)} is not a plain rsync option; example: extras: ["--xattrs", "--acls"]`);
        }
        args.push(e);
    }
    return args;
}

/** One `<source>:<target>[:verify]` word per PVC: the source PVC directory and the destination rsyncd module. */
export function pvcPairArgs(pvcs: PvcPlan[]): string[] {
    if (pvcs.length === 0) throw new Error("a namespace needs at least one PVC; example wave entry: pvcs: [{name: data, capacity: 10Gi}]");
    return pvcs.map((p) => {
        for (const [key, name] of [["name", p.source], ["targetName", p.target]] as const) {
            if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) {
                throw new Error(`wave file pvcs[].${key}: ${JSON.stringify(name)} is not a DNS-1123 PVC name; example: postgresql-data`);
            }
        }
        return `${p.source}:${p.target}${p.verify ? VERIFY_SUFFIX : ""}`;
    });
}

/** The complete `args` of the rsync container: options, `--`, then the PVC pairs. */
export function rsyncClientArgs(o: RsyncOptions, pvcs: PvcPlan[]): string[] {
    return [...rsyncOptionArgs(o), PVC_PAIRS_SEPARATOR, ...pvcPairArgs(pvcs)];
}
