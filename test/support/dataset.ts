// Test data sets for the data plane and an exact tree comparison (content, type, mode, mtime, link target,
// hard-link grouping, owners).
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface DatasetOptions {
    smallFiles: number;
    largeMiB: number;
    /** chown files to assorted owners (needs root) */
    owners: boolean;
    /** apparent size of the sparse file (2 MiB of it data) */
    sparseMiB?: number;
}

export function datasetOptions(): DatasetOptions {
    const num = (name: string, def: number) => {
        const v = process.env[name];
        if (v === undefined || v === "") return def;
        if (!/^[0-9]+$/.test(v)) throw new Error(`${name} must be a whole number, got ${JSON.stringify(v)}; example: ${name}=${def}`);
        return Number(v);
    };
    return {
        smallFiles: num("DVM_DATAPLANE_SMALL_FILES", 3000),
        largeMiB: num("DVM_DATAPLANE_LARGE_MIB", 96),
        owners: process.getuid?.() === 0,
    };
}

/** Names that break naive scripts: spaces, unicode, newline, leading dashes, glob and shell characters, 255 bytes. */
export const ODD_NAMES = [
    "with space", "  leading and trailing  ", "ünïcødé-文件-🙂", "new\nline", "tab\there", "-leading-dash", "--delete",
    "-e", "*glob?[x]", "$(echo no)", "back\\slash", "colon:name", "quote'\"s", "semi;colon&amp", ".hidden",
    "x".repeat(255), "é".repeat(127),
];

function mtime(seed: number): Date {
    // a fixed past time with sub-second precision (rsync keeps nanoseconds)
    return new Date(Date.UTC(2021, 0, 1) + seed * 7919 * 1000 + (seed % 997));
}

/** Writes the test tree; returns the marker strings written into it. */
export function generate(root: string, o: DatasetOptions, markerCount = 8): string[] {
    fs.mkdirSync(root, { recursive: true });
    const markers: string[] = [];
    for (let i = 0; i < markerCount; i++) markers.push(`DVM-PLAINTEXT-MARKER-${randomBytes(12).toString("hex")}`);

    // filesystem's lost+found: must not be copied
    fs.mkdirSync(path.join(root, "lost+found"), { mode: 0o700 });
    fs.writeFileSync(path.join(root, "lost+found", "#1234"), "fsck leftovers");

    // many small files in nested directories
    const pool = randomBytes(1 << 20);
    for (let i = 0; i < o.smallFiles; i++) {
        const dir = path.join(root, "small", `d${i % 10}`, `e${Math.floor(i / 10) % 10}`, `f${Math.floor(i / 100) % 30}`);
        fs.mkdirSync(dir, { recursive: true });
        const size = (i * 2654435761) % 8192;
        const off = (i * 40503) % (pool.length - size);
        const f = path.join(dir, `file-${i}.dat`);
        fs.writeFileSync(f, pool.subarray(off, off + size));
        fs.utimesSync(f, mtime(i), mtime(i));
    }

    // markers: plain text an eavesdropper would see if the tunnel leaked
    fs.mkdirSync(path.join(root, "markers"));
    markers.forEach((m, i) => fs.writeFileSync(path.join(root, "markers", `marker-${i}.txt`), `${m}\n`.repeat(50 + i)));

    // large files
    fs.mkdirSync(path.join(root, "large"));
    let left = o.largeMiB;
    for (let i = 0; left > 0; i++) {
        const mib = Math.min(left, 256);
        const fd = fs.openSync(path.join(root, "large", `big-${i}.bin`), "w");
        for (let j = 0; j < mib; j++) fs.writeSync(fd, randomBytes(1 << 20));
        fs.closeSync(fd);
        left -= mib;
    }

    // sparse: 256 MiB apparent (default), 2 MiB of data
    fs.mkdirSync(path.join(root, "sparse"));
    const sp = path.join(root, "sparse", "disk.img");
    const fd = fs.openSync(sp, "w");
    fs.writeSync(fd, randomBytes(1 << 20), 0, 1 << 20, 0);
    fs.writeSync(fd, randomBytes(1 << 20), 0, 1 << 20, 100 << 20); // the second data block ends at 101 MiB
    fs.ftruncateSync(fd, Math.max(o.sparseMiB ?? 256, 102) << 20);
    fs.closeSync(fd);

    // odd names, files and directories
    fs.mkdirSync(path.join(root, "odd"));
    ODD_NAMES.forEach((n, i) => {
        fs.writeFileSync(path.join(root, "odd", n), `odd ${i} ${JSON.stringify(n)}\n`);
        const d = Buffer.byteLength(`dir ${n}`) <= 255 ? `dir ${n}` : `dir-${i}`;
        fs.mkdirSync(path.join(root, "odd", d));
        fs.writeFileSync(path.join(root, "odd", d, n), `inside ${i}\n`);
    });

    // hard links: a group of three, a group of two across directories
    fs.mkdirSync(path.join(root, "links", "sub"), { recursive: true });
    fs.writeFileSync(path.join(root, "links", "h1"), "hard link group one\n");
    fs.linkSync(path.join(root, "links", "h1"), path.join(root, "links", "h1-second"));
    fs.linkSync(path.join(root, "links", "h1"), path.join(root, "links", "sub", "h1 third"));
    fs.writeFileSync(path.join(root, "links", "h2"), "hard link group two\n");
    fs.linkSync(path.join(root, "links", "h2"), path.join(root, "odd", "h2 in odd"));
    // symlinks: relative, absolute (kept verbatim, never followed), dangling, to a directory, a chain
    fs.symlinkSync("../small/d1/e1", path.join(root, "links", "rel-dir"));
    fs.symlinkSync("h1", path.join(root, "links", "rel-file"));
    fs.symlinkSync("/etc/passwd", path.join(root, "links", "absolute"));
    fs.symlinkSync("does/not/exist", path.join(root, "links", "dangling"));
    fs.symlinkSync("rel-file", path.join(root, "links", "chain"));
    fs.symlinkSync("../odd/new\nline", path.join(root, "links", "to odd name"));

    // empty directories
    fs.mkdirSync(path.join(root, "empty", "a", "b", "c"), { recursive: true });
    fs.mkdirSync(path.join(root, "empty", "z"));

    // modes
    fs.mkdirSync(path.join(root, "modes"));
    const modes: [string, number][] = [["private", 0o600], ["exec", 0o755], ["readonly", 0o444], ["none", 0o000], ["group-w", 0o664], ["setuid", 0o4755], ["setgid", 0o2750]];
    for (const [n, m] of modes) {
        const f = path.join(root, "modes", n);
        fs.writeFileSync(f, `${n}\n`);
        fs.chmodSync(f, m);
    }
    fs.mkdirSync(path.join(root, "modes", "sticky"));
    fs.chmodSync(path.join(root, "modes", "sticky"), 0o1777);
    fs.mkdirSync(path.join(root, "modes", "setgid-dir"));
    fs.chmodSync(path.join(root, "modes", "setgid-dir"), 0o2775);

    // owners
    if (o.owners) {
        fs.mkdirSync(path.join(root, "owners"));
        [[1000, 1000], [1234, 5678], [65534, 65534], [4000000, 4000001]].forEach(([u, g], i) => {
            const f = path.join(root, "owners", `u${u}-g${g}`);
            fs.writeFileSync(f, `owned ${i}\n`);
            fs.chownSync(f, u, g);
        });
        fs.symlinkSync("u1234-g5678", path.join(root, "owners", "link-owned"));
        fs.lchownSync(path.join(root, "owners", "link-owned"), 4321, 8765);
        fs.chownSync(path.join(root, "owners"), 2222, 3333);
        fs.chownSync(path.join(root, "modes", "setgid"), 1234, 5678);
        fs.chmodSync(path.join(root, "modes", "setgid"), 0o2750); // chown clears setgid
        fs.chownSync(path.join(root, "modes", "setuid"), 1234, 5678);
        fs.chmodSync(path.join(root, "modes", "setuid"), 0o4755);
    }

    // mtimes everywhere, directories last (bottom-up) so that creating children does not change them
    stampTimes(root);
    return markers;
}

/** Give every entry (symlinks included) a distinct past mtime with nanoseconds, bottom-up. */
export function stampTimes(root: string): void {
    let n = 0;
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const p = path.join(dir, e.name);
            if (e.isDirectory()) walk(p);
            const t = mtime(++n + 100000);
            if (e.isSymbolicLink()) fs.lutimesSync(p, t, t);
            else fs.utimesSync(p, t, t);
        }
    };
    walk(root);
    fs.utimesSync(root, mtime(1), mtime(1));
}

export interface Entry {
    type: "file" | "dir" | "symlink" | "other";
    mode: number;
    uid: number;
    gid: number;
    mtimeNs: string;
    size: number;
    sha256?: string;
    target?: string;
    /** other paths with the same inode (files with nlink > 1) */
    linkGroup?: string[];
    blocks: number;
}

/** path (relative, "." for the root) -> entry; `skip` are top-level names left out (lost+found). */
export function snapshot(root: string, skip: string[] = []): Map<string, Entry> {
    const out = new Map<string, Entry>();
    const inodes = new Map<bigint, string[]>();
    const visit = (rel: string) => {
        const p = rel === "." ? root : path.join(root, rel);
        const st = fs.lstatSync(p, { bigint: true });
        const e: Entry = {
            type: st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other",
            mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs.toString(),
            size: Number(st.size), blocks: Number(st.blocks),
        };
        if (e.type === "file") {
            e.sha256 = createHash("sha256").update(fs.readFileSync(p)).digest("hex");
            if (st.nlink > 1n) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), rel]);
        }
        if (e.type === "symlink") e.target = fs.readlinkSync(p);
        out.set(rel, e);
        if (e.type === "dir") {
            for (const name of fs.readdirSync(p).sort()) {
                if (rel === "." && skip.includes(name)) continue;
                visit(rel === "." ? name : path.join(rel, name));
            }
        }
    };
    visit(".");
    for (const group of inodes.values()) for (const rel of group) out.get(rel)!.linkGroup = [...group].sort();
    return out;
}

export interface CompareOptions {
    owners: boolean;
    /** compare the mtime of the tree's root directory too */
    rootTimes?: boolean;
}

/** Differences between two snapshots, as readable lines (empty = equal). */
export function diff(a: Map<string, Entry>, b: Map<string, Entry>, o: CompareOptions): string[] {
    const out: string[] = [];
    for (const [rel, ea] of a) {
        const eb = b.get(rel);
        if (!eb) { out.push(`missing in destination: ${JSON.stringify(rel)}`); continue; }
        const fields: (keyof Entry)[] = ["type", "mode", "size", "sha256", "target", "mtimeNs"];
        if (o.owners) fields.push("uid", "gid");
        for (const f of fields) {
            if (f === "mtimeNs" && rel === "." && !o.rootTimes) continue;
            if (String(ea[f]) !== String(eb[f])) out.push(`${JSON.stringify(rel)}: ${f} ${String(ea[f])} != ${String(eb[f])}`);
        }
        if (JSON.stringify(ea.linkGroup) !== JSON.stringify(eb.linkGroup)) {
            out.push(`${JSON.stringify(rel)}: hard links ${JSON.stringify(ea.linkGroup)} != ${JSON.stringify(eb.linkGroup)}`);
        }
    }
    for (const rel of b.keys()) if (!a.has(rel)) out.push(`extra in destination: ${JSON.stringify(rel)}`);
    return out;
}

/** Rewrites `fraction` of the regular files under `dir` (new content, new mtime); returns their paths. */
export function changeFraction(root: string, sub: string, fraction: number): string[] {
    const files: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((x, y) => x.name.localeCompare(y.name))) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.isFile()) files.push(p);
        }
    };
    walk(path.join(root, sub));
    const n = Math.max(1, Math.round(files.length * fraction));
    const step = Math.floor(files.length / n);
    const changed: string[] = [];
    for (let i = 0; i < n; i++) {
        const f = files[i * step];
        fs.appendFileSync(f, randomBytes(64));
        const t = new Date(Date.UTC(2024, 5, 1) + i * 1000);
        fs.utimesSync(f, t, t);
        changed.push(f);
    }
    // parents' mtimes are not touched by appends, so no directory changes
    return changed;
}
