// The rsync client command line, as an argument list (never a shell string). The source pod's `rsync` container gets
// `rsyncClientArgs(...)` as its `args`; components/transfer/scripts/rsync-client.sh passes the options to rsync
// word for word and adds `--exclude=/lost+found` (and `--checksum` for a `:verify` PVC). Words starting `--dvm-` are
// options of the script itself, never passed to rsync (contract/PROTOCOL.md).
import { PVC_PAIRS_SEPARATOR, VERIFY_SUFFIX } from "../../contract";
import { RSYNC_OPTIONS } from "../../config/options";
import { PvcPlan, RsyncOptions } from "../../config/plan";

/** rsync options from `dvm:rsync`, in the table's order (config/options.ts RSYNC_OPTIONS: each row renders its own
 * words, `--numeric-ids` always), the (already validated) extras last. */
export function rsyncOptionArgs(o: RsyncOptions): string[] {
    return RSYNC_OPTIONS.flatMap((row) => row.argv(o));
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
