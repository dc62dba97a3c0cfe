// Experimental variants of the generated configuration (DVM_BENCH_VARIANTS=all or a comma-separated list): each is the
// generated configuration with ONE change, run side by side with it, so the table shows what that change buys. They
// exist to find out why a target is missed; a variant that helps is a proposal for the renderers
// (components/transfer, components/transport), not something the program does.
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_RSYNC } from "../config/defaults";
import { CONFIG_FILES } from "../contract";
import type { RsyncOptions } from "../config/plan";
import type { Tweaks } from "./dataplane";

export interface Variant extends Tweaks {
    name: string;
    description: string;
}

function editFile(dir: string, file: string, edit: (text: string) => string): void {
    const f = path.join(dir, file);
    const mode = fs.statSync(f).mode & 0o777;
    fs.chmodSync(f, 0o644);
    fs.writeFileSync(f, edit(fs.readFileSync(f, "utf8")));
    fs.chmodSync(f, mode);
}
const editConf = editFile;

/** Adds lines to the [rsync] service of both stunnel configs. */
function stunnelLines(lines: string[]) {
    return (dir: string) => {
        for (const f of [CONFIG_FILES.stunnelServer, CONFIG_FILES.stunnelClient]) {
            editConf(dir, f, (t) => t.replace("[rsync]\n", `[rsync]\n${lines.join("\n")}\n`));
        }
    };
}

export const VARIANTS: Record<string, Variant> = {
    "whole-file": {
        name: "whole-file",
        description: "dvm:rsync.extras [--whole-file]: no delta-transfer algorithm (rsync's default for local copies only)",
        rsync: () => ({ ...DEFAULT_RSYNC, extras: ["--whole-file"] }),
    },
    "info-lean": {
        name: "info-lean",
        description: "dvm:rsync.info PROGRESS2,STATS2,DEL2,SKIP2: no per-file COPY2/FLIST2 lines in the log",
        rsync: () => ({ ...DEFAULT_RSYNC, info: "PROGRESS2,STATS2,DEL2,SKIP2" }),
    },
    "sparse-always": {
        name: "sparse-always",
        description: "dvm:rsync.sparse true (--sparse for every PVC; the default auto adds it only where rsync-client.sh finds a file with holes)",
        rsync: () => ({ ...DEFAULT_RSYNC, sparse: true }),
    },
    "no-inplace": {
        name: "no-inplace",
        description: "dvm:rsync.inplace false (a temporary file + rename per file; the default auto writes in place into an empty destination)",
        rsync: () => ({ ...DEFAULT_RSYNC, inplace: false }),
    },
    nodelay: {
        name: "nodelay",
        description: "stunnel socket = l:TCP_NODELAY=1 and r:TCP_NODELAY=1 on both sides (MTC's server options)",
        tweakConfig: stunnelLines(["socket = l:TCP_NODELAY=1", "socket = r:TCP_NODELAY=1"]),
    },
    "no-chroot": {
        name: "no-chroot",
        description: "rsyncd.conf use chroot = no (as MTC's), although the pod runs as root",
        tweakConfig: (dir) => editConf(dir, CONFIG_FILES.rsyncd, (t) => {
            const out = t.replace("use chroot = yes", "use chroot = no");
            if (out === t) throw new Error("variant no-chroot: rsyncd.conf has no 'use chroot = yes' line; update bench/variants.ts");
            return out;
        }),
    },
    chacha20: {
        name: "chacha20",
        description: "stunnel ciphersuites with TLS_CHACHA20_POLY1305_SHA256 first: the suite the tunnel negotiated before AES-128-GCM came first (the AES-256-GCM suite listed first then is never usable with stunnel's SHA-256-bound PSKs)",
        tweakConfig: (dir) => {
            for (const f of [CONFIG_FILES.stunnelServer, CONFIG_FILES.stunnelClient]) {
                editConf(dir, f, (t) => {
                    const out = t.replace(/^ciphersuites = .*$/m, "ciphersuites = TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256");
                    if (out === t) throw new Error(`variant chacha20: ${f} has no ciphersuites line; update bench/variants.ts`);
                    return out;
                });
            }
        },
    },
};

VARIANTS["split-3"] = {
    name: "split-3",
    description: "the small files as 3 PVCs of one namespace (one per top-level directory), copied one after the other (dvm:rsync.parallel 1)",
    rsync: () => ({ ...DEFAULT_RSYNC, parallel: 1 }),
    split: true,
};
for (const n of [2, 3]) {
    VARIANTS[`parallel-${n}`] = {
        name: `parallel-${n}`,
        description: `the same 3 PVCs with dvm:rsync.parallel ${n}: ${n} of them copied at the same time by rsync-client.sh`,
        rsync: () => ({ ...DEFAULT_RSYNC, parallel: n }),
        split: true,
    };
}

for (const n of [2, 3]) {
    VARIANTS[`streams-${n}`] = {
        name: `streams-${n}`,
        description: `the small files as one PVC copied by ${n} rsync streams over the same tunnel (its file list split round-robin, fpsync-like; a bench wrapper), then one final pass with the generated options for hard links, directories and deletions`,
        streams: n,
    };
}

/** Several variants at once: their rsync options, arg edits, config and script edits applied in order. */
export function combine(name: string, parts: string[]): Variant {
    const vs = parts.map((p) => {
        const v = VARIANTS[p];
        if (!v) throw new Error(`variant ${name}: unknown part ${JSON.stringify(p)}; one of ${Object.keys(VARIANTS).join(", ")}`);
        return v;
    });
    // each part's change against the defaults (a part returns the whole option set; merging those would let a later
    // part's defaults undo an earlier part's change)
    const changes = vs.filter((v) => v.rsync).map((v) => {
        const r = v.rsync!();
        return Object.fromEntries(Object.entries(r).filter(([k, val]) => JSON.stringify(val) !== JSON.stringify(DEFAULT_RSYNC[k as keyof RsyncOptions])));
    });
    return {
        name,
        description: `${parts.join(" + ")} together`,
        rsync: changes.length === 0 ? undefined : () => ({
            ...DEFAULT_RSYNC, ...Object.assign({}, ...changes),
            extras: vs.filter((v) => v.rsync).flatMap((v) => v.rsync!().extras),
        }),
        args: (a) => vs.reduce((acc, v) => (v.args ? v.args(acc) : acc), a),
        tweakConfig: (dir) => vs.forEach((v) => v.tweakConfig?.(dir)),
        tweakScripts: (dir) => vs.forEach((v) => v.tweakScripts?.(dir)),
        split: vs.some((v) => v.split),
    };
}

// the defaults sparse auto, inplace auto and AES-128-GCM are measured against their opposites above
VARIANTS.previous = {
    ...combine("previous", ["sparse-always", "no-inplace", "chacha20"]),
    description: "sparse-always + no-inplace + chacha20 together: the opposite of each of the defaults sparse auto, inplace auto and AES-128-GCM",
};
