// Data-plane throughput on the data-plane tier's network-namespace host pair
// (test/support/dataplane.ts: the veth link, "containers", the destination and source transfer pods running the real
// container scripts and rendered configs). Over the same link, timed the same way:
//
// - the limits of bench/limits.ts: iperf3 over the link and through a stunnel pair with dvm's TLS settings, the data
//   set through `tar | socat` with 1 MiB buffers, and reading the source tree alone;
// - generated: dvm exactly as the program generates it: rsyncClientArgs(DEFAULT_RSYNC) + rsync-client.sh in the
//              source pod, renderRsyncdConf/renderStunnel*Conf + the scripts in the destination pod (harness pods);
// - mtc:       MTC's default configuration (bench/mtc/: its rsync flags, TLS 1.2 stunnel with its socket options,
//              its rsyncd.conf), in "containers" of the same harness.
//
// rsync-based runs are timed from the `dvm: pvc-start` to the `dvm: pvc-end` line of the rsync container's log (seen
// through inotify), so pod start-up and the tunnel probe are not counted as transfer time; they are reported apart.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { PvcPlan, RsyncOptions } from "../config/plan";
import { DEFAULT_RSYNC } from "../config/defaults";
import * as L from "../contract";
import { rsyncClientArgs } from "../components/transfer/rsync";
import {
    container, DestinationPod, findProcess, generateCredentials, listening, NET, Proc, Rendered, sh, sleep, SourcePod, waitFor,
} from "../test/support/dataplane";

export type ConfigName = "iperf" | "iperf-stunnel" | "pipe" | "read" | "generated" | "mtc" | string;

export interface Dataset {
    name: "large" | "small" | "mix";
    dir: string;
    files: number;
    /** payload: file data read from the source (a hard-linked file once, a sparse file's data without its holes) */
    bytes: number;
}

export interface RunSample {
    dataset: string;
    config: ConfigName;
    rep: number;
    /** "full" (empty destination), "incremental" (after changing 1% of the files), "unchanged" (nothing changed) */
    pass: "full" | "incremental" | "unchanged";
    seconds: number;
    bytes: number;
    files: number;
    /** pod start until the transfer began (tunnel probe, container start); rsync configurations only */
    startupSeconds?: number;
    /** from the rsync container's exit to the stunnel container's (the done-file, the wake FIFO); dvm's pods only */
    sidecarStopSeconds?: number;
    /** CPU seconds over the transfer window, from /proc (utime+stime; scripts include their reaped children) */
    cpu: Record<string, number>;
    loadavg: string;
}

// ---------------------------------------------------------------- /proc CPU accounting

const CLK_TCK = Number(sh("getconf", ["CLK_TCK"]).out.trim());

/** utime+stime of a process (all its threads); with `children`, plus the reaped children's cutime+cstime. */
export function procCpu(pid: number | undefined, children = false): number {
    if (pid === undefined) return NaN;
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        // fields 14-17 of proc(5): utime stime cutime cstime (index 11.. after the "state" field)
        const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
        return ticks / CLK_TCK;
    } catch {
        return NaN;
    }
}

const loadavg = () => fs.readFileSync("/proc/loadavg", "utf8").trim();

/** Adds `total`, the sum of the parts (NaN when one is unknown). */
function withTotal(parts: Record<string, number>): Record<string, number> {
    return { ...parts, total: Object.values(parts).reduce((a, b) => a + b, 0) };
}

/** Sum of the two lines of bash's `times` output (the shell; its children): "0m0.010s 0m0.020s". */
export function shellTimes(file: string): number {
    const text = fs.readFileSync(file, "utf8");
    const all = [...text.matchAll(/([0-9]+)m([0-9.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
    if (all.length !== 4) throw new Error(`${file}: expected bash 'times' output (two lines of user and system time), got ${JSON.stringify(text)}`);
    return all.reduce((a, b) => a + b, 0);
}

// ---------------------------------------------------------------- data sets

/** `mib` MiB of incompressible data in files of at most 256 MiB. */
export function makeLarge(dir: string, mib: number): Dataset {
    fs.mkdirSync(dir, { recursive: true });
    let left = mib;
    let files = 0;
    for (let i = 0; left > 0; i++) {
        const n = Math.min(left, 256);
        const fd = fs.openSync(path.join(dir, `large-${i}.bin`), "w");
        for (let j = 0; j < n; j += 4) {
            const len = Math.min(4, n - j) << 20;
            fs.writeSync(fd, randomBytes(len), 0, len);
        }
        fs.closeSync(fd);
        left -= n;
        files++;
    }
    return { name: "large", dir, files, bytes: mib * 1048576 };
}

/** `count` files of `kib` KiB, 100 per directory under 3 top-level directories (the PVCs of the split variants),
 * content cut from a random pool (no two files alike). */
export function makeSmall(dir: string, count: number, kib: number): Dataset {
    const pool = randomBytes(8 << 20);
    const size = kib * 1024;
    let made = "";
    for (let i = 0; i < count; i++) {
        const d = path.join(dir, `d${Math.floor((i * 3) / count)}`, `e${Math.floor(i / 100)}`);
        if (d !== made) { fs.mkdirSync(d, { recursive: true }); made = d; }
        const off = (i * 7919 * 16) % (pool.length - size);
        fs.writeFileSync(path.join(d, `f${i}.dat`), pool.subarray(off, off + size));
    }
    return { name: "small", dir, files: count, bytes: count * size };
}

/**
 * A database-like volume: `tables` large files of `tableMiB` MiB (db/), `files` small files of 512 B to 32 KiB, 100
 * per directory (files/), one in 100 of them with a second name (links/: hard links), and a sparse disk image of
 * `sparseMiB` MiB apparent size holding 4 MiB of data (db/sparse.img: dvm's sparse scan finds it, so the PVC is
 * copied with --sparse).
 */
export function makeMix(dir: string, o: { tables: number; tableMiB: number; files: number; sparseMiB: number }): Dataset {
    const db = path.join(dir, "db");
    fs.mkdirSync(db, { recursive: true });
    let bytes = 0;
    for (let t = 0; t < o.tables; t++) {
        const fd = fs.openSync(path.join(db, `table-${t}.dat`), "w");
        for (let j = 0; j < o.tableMiB; j += 4) {
            const len = Math.min(4, o.tableMiB - j) << 20;
            fs.writeSync(fd, randomBytes(len), 0, len);
        }
        fs.closeSync(fd);
        bytes += o.tableMiB << 20;
    }
    const sparse = fs.openSync(path.join(db, "sparse.img"), "w");
    for (let k = 0; k < 4; k++) fs.writeSync(sparse, randomBytes(1 << 20), 0, 1 << 20, Math.floor((k * o.sparseMiB) / 4) << 20);
    fs.ftruncateSync(sparse, o.sparseMiB << 20);
    fs.closeSync(sparse);
    bytes += 4 << 20;
    const pool = randomBytes(8 << 20);
    fs.mkdirSync(path.join(dir, "links"));
    let names = o.tables + 1;
    for (let i = 0; i < o.files; i++) {
        const d = path.join(dir, "files", `g${Math.floor(i / 100)}`);
        if (i % 100 === 0) fs.mkdirSync(d, { recursive: true });
        const size = 512 + ((i * 2654435761) % (32 * 1024 - 512));
        const off = (i * 7919 * 16) % (pool.length - size);
        const f = path.join(d, `r${i}.dat`);
        fs.writeFileSync(f, pool.subarray(off, off + size));
        bytes += size;
        names++;
        if (i % 100 === 50) { fs.linkSync(f, path.join(dir, "links", `r${i}.dat`)); names++; }
    }
    return { name: "mix", dir, files: names, bytes };
}

/** Regular files (names), their total size and their distinct inodes under `dir` (the check that a run really copied
 * everything, hard links included). */
export function tally(dir: string): { files: number; bytes: number; inodes: number } {
    let files = 0;
    let bytes = 0;
    const inodes = new Set<number>();
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.isFile()) {
                const st = fs.statSync(p);
                files++;
                bytes += st.size;
                inodes.add(st.ino);
            }
        }
    };
    walk(dir);
    return { files, bytes, inodes: inodes.size };
}

/** Changes `fraction` of the files under `dir` (every n-th in sorted order: 64 bytes appended, a new mtime) and
 * returns how to undo it (the original size and times), so every configuration's incremental pass meets the same
 * change against its own full copy. */
export function changeFiles(dir: string, fraction: number): { files: string[]; revert: () => void } {
    const all: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((x, y) => x.name.localeCompare(y.name))) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.isFile()) all.push(p);
        }
    };
    walk(dir);
    const n = Math.max(1, Math.round(all.length * fraction));
    const step = Math.floor(all.length / n);
    // from the middle of the first step: the few large files at the start of the sorted list are not always hit
    const files = Array.from({ length: n }, (_, i) => all[Math.floor(step / 2) + i * step]);
    const before = files.map((f) => fs.statSync(f));
    files.forEach((f, i) => {
        fs.appendFileSync(f, randomBytes(64));
        const t = new Date(Date.UTC(2024, 5, 1) + i * 1000);
        fs.utimesSync(f, t, t);
    });
    return {
        files,
        revert: () => files.forEach((f, i) => {
            fs.truncateSync(f, before[i].size);
            fs.utimesSync(f, before[i].atime, before[i].mtime);
        }),
    };
}

export function clearDir(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    for (const e of fs.readdirSync(dir)) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
}

function expectCopy(src: string, dst: string, what: string): void {
    const a = tally(src);
    const b = tally(dst);
    if (a.files !== b.files || a.bytes !== b.bytes || a.inodes !== b.inodes) {
        throw new Error(`${what}: destination has ${b.files} files / ${b.bytes} bytes / ${b.inodes} inodes, source ${a.files} / ${a.bytes} / ${a.inodes}: the run did not copy everything (or lost hard links)`);
    }
}

// ---------------------------------------------------------------- log timing

/** Watches a container log for the `dvm: pvc-start` / `dvm: pvc-end` lines and calls back the moment they appear. */
class LogTimer {
    private offset = 0;
    private buf = "";
    private watcher?: fs.FSWatcher;
    private poll?: NodeJS.Timeout;
    start?: number;
    end?: number;
    readonly endLines: string[] = [];
    /** `ends`: how many pvc-end lines make the end (one per PVC when they run in parallel) */
    constructor(readonly file: string, readonly onStart: () => void, readonly onEnd: () => void, readonly ends = 1) {
        // create it before the container appends to it, and start after what an earlier run left in it
        fs.appendFileSync(file, "");
        this.offset = fs.statSync(file).size;
    }
    begin(): this {
        const check = () => this.read();
        this.watcher = fs.watch(this.file, check);
        this.poll = setInterval(check, 50); // belt and braces: inotify may coalesce the last event
        return this;
    }
    private read(): void {
        let fd: number;
        try { fd = fs.openSync(this.file, "r"); } catch { return; }
        try {
            const st = fs.fstatSync(fd);
            if (st.size <= this.offset) return;
            const b = Buffer.alloc(st.size - this.offset);
            fs.readSync(fd, b, 0, b.length, this.offset);
            this.offset = st.size;
            this.buf += b.toString("latin1");
        } finally {
            fs.closeSync(fd);
        }
        const lines = this.buf.split(/[\r\n]/);
        this.buf = lines.pop() ?? "";
        // anywhere in a line: with PVCs in parallel, one script's line can follow another's rsync progress text
        for (const m of lines.join("\n").matchAll(/dvm: pvc-(start|end) [^\n]*/g)) {
            if (m[1] === "start" && this.start === undefined) { this.start = performance.now(); this.onStart(); }
            if (m[1] === "end" && this.end === undefined) {
                this.endLines.push(m[0]);
                if (this.endLines.length === this.ends) { this.end = performance.now(); this.onEnd(); }
            }
        }
    }
    stop(): void {
        this.read();
        this.watcher?.close();
        if (this.poll) clearInterval(this.poll);
    }
    seconds(what: string, log: () => string): number {
        if (this.start === undefined || this.end === undefined) throw new Error(`${what}: no pvc-start/pvc-end lines in ${this.file}:\n${log().slice(-3000)}`);
        const failed = this.endLines.find((l) => !/ exit=0( |$)/.test(l));
        if (failed) throw new Error(`${what}: the transfer failed: ${failed}\n${log().slice(-3000)}`);
        return (this.end - this.start) / 1000;
    }
}

// ---------------------------------------------------------------- the configurations

export interface Env {
    work: string;
    logs: string;
}

/** What a variant of the generated configuration changes (bench/variants.ts); nothing for the generated one. */
export interface Tweaks {
    /** `dvm:rsync` (the program's default when absent) */
    rsync?: () => RsyncOptions;
    /** edits the generated rsync container args (for what `dvm:rsync` cannot express) */
    args?: (generated: string[]) => string[];
    /** edits the rendered config directory (stunnel-*.conf, rsyncd.conf) before the pods start */
    tweakConfig?: (configDir: string) => void;
    /** edits the copies of the container scripts the pods run (never the files in the repository) */
    tweakScripts?: (scriptsDir: string) => void;
    /** one PVC per top-level directory of the data set (a namespace with several PVCs); data sets without
     * subdirectories are skipped */
    split?: boolean;
    /** one PVC as this many rsync streams over the same tunnel (a partition of its file list), then one final pass
     * with the generated options (--delete, hard links, directory times): what fpsync / msrsync do */
    streams?: number;
}

/** The wrapper of the `streams-<n>` experiment (fpsync-like): waits for the tunnel as rsync-client.sh does, splits the
 * PVC's regular files round-robin into n lists, copies each with its own rsync (no --delete: nothing
 * to delete in a file list; hard links across lists come apart), then the final pass restores what the lists could
 * not (hard links, directories, deletions) and is timed with them. */
const STREAMS_WRAPPER = `#!/usr/bin/env bash
# dvm bench (experiment "streams", not part of dvm): one PVC as N rsync streams over one tunnel, then a final pass
set -uo pipefail
ipc=\${DVM_IPC_DIR:-/rsync-stunnel-ipc}
n=__STREAMS__
opts=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do case $1 in --dvm-*) ;; *) opts+=("$1") ;; esac; shift; done
shift
IFS=: read -r src target _ <<<"$1"
root=/mnt/source/$src
url="rsync://dvm@127.0.0.1:\${DVM_TUNNEL_PORT:-2222}/$target/"
probe() { local l=""; { exec 3<>"/dev/tcp/127.0.0.1/\${DVM_TUNNEL_PORT:-2222}"; } 2>/dev/null || return 1; IFS= read -r -t 5 l <&3; exec 3<&- 3>&-; [[ $l == "@RSYNCD:"* ]]; }
until probe; do sleep 0.2; done
pw=$(umask 077 && mktemp) && cat /etc/dvm/secret/rsync.password >"$pw"
parts=$(mktemp -d)
part_opts=()
for o in "\${opts[@]}"; do [ "$o" = --delete ] || part_opts+=("$o"); done
printf 'dvm: pvc-start pvc=%s target=%s attempt=1 max=1 streams=%s\n' "$src" "$target" "$n"
(cd "$root" && find . -path ./lost+found -prune -o -type f -print0) >"$parts/all"
(cd "$parts" && split -n "r/$n" -t '\\0' all part-)
pids=()
for p in "$parts"/part-*; do
    rsync "\${part_opts[@]}" --files-from="$p" --from0 --password-file="$pw" "$root/" "$url" &
    pids+=("$!")
done
rc=0
for p in "\${pids[@]}"; do wait "$p" || rc=$?; done
printf 'dvm: streams-done exit=%s\n' "$rc"
[ "$rc" -eq 0 ] && { rsync "\${opts[@]}" --exclude=/lost+found --password-file="$pw" "$root/" "$url"; rc=$?; }
printf 'dvm: pvc-end pvc=%s attempt=1 exit=%s result=%s\n' "$src" "$rc" "$([ "$rc" -eq 0 ] && echo ok || echo fatal)"
rm -rf "$pw" "$parts"
: >"$ipc/rsync-client-container-done"
[ -p "$ipc/rsync-client-container-wake" ] && { printf 'done\n' 1<>"$ipc/rsync-client-container-wake"; } 2>/dev/null
exit "$rc"
`;

/** PVC name -> host directory of one PVC each per top-level directory of `dir` (empty when it has none). */
export function splitSources(dir: string): Record<string, string> {
    const subs = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    return Object.fromEntries(subs.map((d, i) => [`data-${i}`, path.join(dir, d)]));
}

/** The destination pod and rendered configs of the generated configuration (kept up for the whole benchmark, like
 * the destination Deployment of a wave). */
export class Generated {
    rendered!: Rendered;
    dest!: DestinationPod;
    /** PVC names of the destination (rsyncd modules): "data", or data-0..data-n for a split variant */
    modules: string[] = ["data"];
    private pvcs(sources: Record<string, string>): PvcPlan[] {
        return Object.keys(sources).map((n) => ({ source: n, target: n, capacity: "10Gi", accessModes: ["ReadWriteOnce"], verify: false }));
    }
    constructor(readonly env: Env, readonly name: string, readonly srcDir: string, readonly dstDir: string,
        readonly change: Tweaks = {}) {}
    /** The rsync container's args, exactly as the program generates them from `dvm:rsync` (a variant may edit them). */
    args(sources: Record<string, string> = { data: this.srcDir }): string[] {
        const a = rsyncClientArgs(this.change.rsync?.() ?? DEFAULT_RSYNC, this.pvcs(sources));
        return this.change.args ? this.change.args(a) : a;
    }
    /** Renders the configs once; the destination pod itself is started for each run (see run()). */
    /** `splitFrom`: a data set directory whose top-level directories become the PVCs of a split variant */
    prepare(splitFrom?: string): this {
        fs.mkdirSync(this.dstDir, { recursive: true });
        if (this.change.split && splitFrom) this.modules = Object.keys(splitSources(splitFrom));
        this.rendered = new Rendered(path.join(this.env.work, `rendered-${this.name}`), { creds: generateCredentials(), modules: this.modules, runAsRoot: true });
        this.change.tweakConfig?.(this.rendered.config);
        this.change.tweakScripts?.(this.rendered.scripts);
        if (this.change.streams) {
            fs.writeFileSync(path.join(this.rendered.scripts, L.SCRIPT_FILES.rsyncClient), STREAMS_WRAPPER.replace("__STREAMS__", String(this.change.streams)), { mode: 0o555 });
        }
        return this;
    }
    /** One transfer: the destination pod is started for it and stopped after it (the variants share the destination
     * host's ports; the destination directory, and so an earlier pass's copy, stays). */
    async run(label: string, srcDir = this.srcDir): Promise<{ seconds: number; startupSeconds: number; sidecarStopSeconds?: number; cpu: Record<string, number> }> {
        const sources = this.change.split ? splitSources(srcDir) : { data: srcDir };
        if (Object.keys(sources).join() !== this.modules.join()) {
            throw new Error(`${this.name}: the data set ${srcDir} splits into ${Object.keys(sources).join(", ") || "no PVCs"}, the destination has ${this.modules.join(", ")}`);
        }
        const targets = Object.fromEntries(this.modules.map((m) => [m, this.modules.length === 1 ? this.dstDir : path.join(this.dstDir, m)]));
        for (const d of Object.values(targets)) fs.mkdirSync(d, { recursive: true });
        this.dest = await new DestinationPod(this.rendered, targets, { runAsRoot: true, logDir: this.env.logs }).start();
        let res;
        try {
            res = await this.transfer(label, sources);
        } finally {
            await this.dest.stop();
        }
        expectCopy(srcDir, this.dstDir, `${this.name} ${label}`);
        return res;
    }
    /** Whether this configuration can run on a data set (a split needs top-level directories). */
    fits(dir: string): boolean {
        return !this.change.split || Object.keys(splitSources(dir)).join() === this.modules.join();
    }
    private async transfer(label: string, sources: Record<string, string>): Promise<{ seconds: number; startupSeconds: number; sidecarStopSeconds?: number; cpu: Record<string, number> }> {
        const pod = new SourcePod(this.rendered, sources, this.args(sources), { runAsRoot: true, logDir: this.env.logs, name: `${this.name}-${label}` });
        const logFile = path.join(this.env.logs, `${this.name}-${label}-rsync.log`);
        // CPU from /proc: at pvc-start, at pvc-end (the rsync client has been reaped by its script, the stunnel client
        // still runs), and after the pod is gone (the destination daemons have reaped their connection children)
        let s0: Record<string, number> = {};
        let s1: Record<string, number> = {};
        const stunnelClientPid = () => findProcess(pod.stunnel.pid, (c) => c.startsWith("stunnel "));
        const onStart = () => {
            s0 = {
                rsyncClient: procCpu(pod.rsync.pid, true), sidecarLoop: procCpu(pod.stunnel.pid, true), stunnelClient: procCpu(stunnelClientPid()),
                stunnelServer: procCpu(this.dest.stunnel.pid), rsyncd: procCpu(this.dest.rsyncd.pid, true),
            };
        };
        const onEnd = () => {
            s1 = { rsyncClient: procCpu(pod.rsync.pid, true), sidecarLoop: procCpu(pod.stunnel.pid, true), stunnelClient: procCpu(stunnelClientPid()) };
        };
        // from the first PVC's start to the last PVC's end (one after the other, or in parallel)
        const timer = new LogTimer(logFile, onStart, onEnd, Object.keys(sources).length);
        const t0 = performance.now();
        pod.start();
        timer.begin();
        const exits: number[] = [];
        void pod.rsync.exited.then(() => { exits[0] = performance.now(); });
        void pod.stunnel.exited.then(() => { exits[1] = performance.now(); });
        const res = await pod.wait(20 * 60 * 1000);
        timer.stop();
        const s2 = { stunnelServer: procCpu(this.dest.stunnel.pid), rsyncd: procCpu(this.dest.rsyncd.pid, true) };
        const seconds = timer.seconds(`${this.name} ${label}`, () => res.log);
        if (res.rsyncExit !== 0) throw new Error(`${this.name} ${label}: rsync container exited ${res.rsyncExit}:\n${res.log.slice(-3000)}`);
        const cpu = withTotal({
            rsyncClient: s1.rsyncClient - s0.rsyncClient, stunnelClient: s1.stunnelClient - s0.stunnelClient,
            stunnelServer: s2.stunnelServer - s0.stunnelServer, rsyncd: s2.rsyncd - s0.rsyncd,
        });
        cpu.sidecarLoop = s1.sidecarLoop - s0.sidecarLoop;
        return { seconds, startupSeconds: (timer.start! - t0) / 1000, sidecarStopSeconds: (exits[1] - exits[0]) / 1000, cpu };
    }
}

/** MTC's default configuration (bench/mtc/), in containers of the same harness. */
export class Mtc {
    private stunnelServer!: Proc;
    private rsyncd!: Proc;
    private stunnelClient!: Proc;
    private secret!: string;
    private ipc!: string;
    readonly files = path.join(__dirname, "mtc");
    constructor(readonly env: Env, readonly dstDir: string) {}
    async start(): Promise<void> {
        fs.mkdirSync(this.dstDir, { recursive: true });
        this.secret = path.join(this.env.work, "mtc-secret");
        fs.mkdirSync(this.secret, { recursive: true });
        // MTC generates a self-signed certificate per migration and shares it between both sides
        sh("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=dvm-bench-mtc-baseline",
            "-keyout", path.join(this.secret, "tls.key"), "-out", path.join(this.secret, "tls.crt")]);
        const password = randomBytes(16).toString("hex");
        fs.writeFileSync(path.join(this.secret, "mtc-rsyncd.secrets"), `crane:${password}\n`, { mode: 0o600 });
        fs.writeFileSync(path.join(this.secret, "password"), password, { mode: 0o600 });
        this.ipc = path.join(this.env.work, "mtc-ipc");
        fs.mkdirSync(this.ipc, { recursive: true });
        const ro: [string, string][] = [[this.files, L.CONFIG_DIR], [this.secret, L.SECRET_DIR]];
        this.rsyncd = container("mtc-rsyncd", path.join(this.env.logs, "mtc-rsyncd.log"),
            { netns: NET.dst, ro, rw: [[this.dstDir, `${L.TARGET_ROOT}/data`]] },
            ["rsync", "--daemon", "--no-detach", `--config=${L.CONFIG_DIR}/rsyncd.conf`]);
        this.stunnelServer = container("mtc-stunnel-server", path.join(this.env.logs, "mtc-stunnel-server.log"), { netns: NET.dst, ro },
            ["stunnel", `${L.CONFIG_DIR}/stunnel-server.conf`]);
        this.stunnelClient = container("mtc-stunnel-client", path.join(this.env.logs, "mtc-stunnel-client.log"), { netns: NET.src, ro },
            ["stunnel", `${L.CONFIG_DIR}/stunnel-client.conf`]);
        await waitFor("MTC baseline rsyncd, stunnel server and client listening", () => {
            for (const p of [this.rsyncd, this.stunnelServer, this.stunnelClient]) {
                if (p.exitCode !== undefined) throw new Error(`MTC baseline ${p.name} exited ${p.exitCode}:\n${p.log().slice(-2000)}`);
            }
            return listening(NET.dst, 9873).length > 0 && listening(NET.dst, 9443).length > 0 && listening(NET.src, 3222).length > 0;
        });
    }
    async run(label: string, srcDir: string): Promise<{ seconds: number; startupSeconds: number; cpu: Record<string, number> }> {
        const logFile = path.join(this.env.logs, `mtc-${label}-rsync.log`);
        let s0: Record<string, number> = {};
        let s1: Record<string, number> = {};
        const daemons = () => ({ stunnelServer: procCpu(this.stunnelServer.pid), stunnelClient: procCpu(this.stunnelClient.pid), rsyncd: procCpu(this.rsyncd.pid, true) });
        let p: Proc | undefined;
        const timer = new LogTimer(logFile, () => { s0 = { ...daemons(), rsyncClient: procCpu(p?.pid, true) }; }, () => { s1 = { rsyncClient: procCpu(p?.pid, true) }; });
        const t0 = performance.now();
        p = container(`mtc-${label}`, logFile, {
            netns: NET.src,
            ro: [[this.files, L.SCRIPTS_DIR], [srcDir, `${L.SOURCE_ROOT}/data`]],
            env: { RSYNC_PASSWORD: fs.readFileSync(path.join(this.secret, "password"), "utf8") },
        }, [`${L.SCRIPTS_DIR}/rsync-mtc.sh`, `${L.SOURCE_ROOT}/data`, "data"]);
        timer.begin();
        const code = await p.exited;
        timer.stop();
        await sleep(300); // the daemons reap their connection children
        const s2 = daemons();
        const seconds = timer.seconds(`mtc ${label}`, () => p!.log());
        if (code !== 0) throw new Error(`MTC baseline rsync exited ${code}:\n${p.log().slice(-3000)}`);
        expectCopy(srcDir, this.dstDir, `mtc ${label}`);
        const cpu = withTotal({
            rsyncClient: s1.rsyncClient - s0.rsyncClient, stunnelClient: s2.stunnelClient - s0.stunnelClient,
            stunnelServer: s2.stunnelServer - s0.stunnelServer, rsyncd: s2.rsyncd - s0.rsyncd,
        });
        return { seconds, startupSeconds: (timer.start! - t0) / 1000, cpu };
    }
    async stop(): Promise<void> {
        await Promise.all([this.stunnelClient, this.stunnelServer, this.rsyncd].filter(Boolean).map((p) => p.stop()));
    }
}

// ---------------------------------------------------------------- waiting loops

export interface IdleSample {
    seconds: number;
    /** share of one core: rsync-client.sh waiting for the tunnel (probe + sleep 2), sleeps included */
    rsyncWaitLoop: number;
    /** share of one core: stunnel-client.sh waiting for the done-file (sleep 1), sleeps included, stunnel excluded */
    sidecarLoop: number;
    /** share of one core: the stunnel client process itself while it answers the probes */
    stunnelClient: number;
}

/** A source pod whose destination never answers: both waiting loops run for `seconds`, and nothing else does. */
export async function measureIdle(env: Env, seconds: number): Promise<IdleSample> {
    const src = path.join(env.work, "idle-src");
    fs.mkdirSync(src, { recursive: true });
    // the destination port is closed: stunnel accepts each probe and fails to connect, the probe sees no greeting
    const r = new Rendered(path.join(env.work, "rendered-idle"), { creds: generateCredentials(), modules: ["data"], runAsRoot: true, connectPort: 9 });
    const pod = new SourcePod(r, { data: src }, rsyncClientArgs(DEFAULT_RSYNC, [{ source: "data", target: "data", capacity: "1Gi", accessModes: ["ReadWriteOnce"], verify: false }]),
        { runAsRoot: true, logDir: env.logs, name: "idle", env: { DVM_STUNNEL_WAIT_SECONDS: seconds + 60 } }).start();
    await sleep(12000); // past start-up and the first 10 s of quick probes: the cost of a long wait
    const stunnelPid = findProcess(pod.stunnel.pid, (c) => c.startsWith("stunnel "));
    const a = { rsync: procCpu(pod.rsync.pid, true), loop: procCpu(pod.stunnel.pid, true), stunnel: procCpu(stunnelPid), t: performance.now() };
    await sleep(seconds * 1000);
    const b = { rsync: procCpu(pod.rsync.pid, true), loop: procCpu(pod.stunnel.pid, true), stunnel: procCpu(stunnelPid), t: performance.now() };
    const wall = (b.t - a.t) / 1000;
    pod.rsync.kill("SIGTERM");
    await pod.wait(30000);
    if (!/dvm: tunnel-wait /.test(pod.rsync.log())) throw new Error(`idle: the rsync container never waited for the tunnel:\n${pod.rsync.log()}`);
    return {
        seconds: wall,
        rsyncWaitLoop: (b.rsync - a.rsync) / wall,
        sidecarLoop: (b.loop - a.loop) / wall,
        stunnelClient: (b.stunnel - a.stunnel) / wall,
    };
}

export { loadavg };
