// Data-plane harness: two "hosts" (network namespaces joined by a veth pair, 10.213.0.0/30, nothing routed off this
// machine), "pods" whose containers are processes sharing the host's network namespace, each in a private mount
// namespace that shows the container paths (test/dataplane/container.sh). Scripts and configs come from the same
// functions the components use: scriptFiles(), renderRsyncdConf(), renderStunnel*Conf(), secretFiles().
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PvcPlan, RsyncOptions } from "../../config/plan";
import * as L from "../../contract";
import { scriptFiles } from "../../components/scripts";
import { rsyncClientArgs } from "../../components/transfer/rsync";
import { renderRsyncdConf } from "../../components/transfer/rsyncd";
import { generateCredentials, secretFiles, TunnelCredentials } from "../../components/transport/credentials";
import { renderStunnelClientConf, renderStunnelServerConf } from "../../components/transport/stunnel";

// names carry the pid so that two runs (make dataplane, make bench) on one machine never share a namespace
const id = process.pid.toString(36);
export const NET = {
    src: `dvmdp-${id}-src`,
    dst: `dvmdp-${id}-dst`,
    vethSrc: `dvs-${id}`,
    vethDst: `dvd-${id}`,
    srcIp: "10.213.0.1",
    dstIp: "10.213.0.2",
} as const;

const CONTAINER_SH = path.join(__dirname, "..", "dataplane", "container.sh");

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean; input?: string } = {}): { code: number; out: string; err: string } {
    const r = spawnSync(cmd, args, { encoding: "utf8", input: opts.input, maxBuffer: 64 << 20 });
    const code = r.status ?? 128;
    if (code !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(" ")} failed (${code}): ${r.stderr}${r.stdout}`);
    return { code, out: r.stdout ?? "", err: r.stderr ?? "" };
}

export function inNetns(ns: string, args: string[], opts: { allowFail?: boolean; input?: string } = {}) {
    return sh("ip", ["netns", "exec", ns, ...args], opts);
}

export function netUp(): void {
    netDown();
    sh("ip", ["netns", "add", NET.src]);
    sh("ip", ["netns", "add", NET.dst]);
    sh("ip", ["link", "add", NET.vethSrc, "netns", NET.src, "type", "veth", "peer", "name", NET.vethDst, "netns", NET.dst]);
    for (const [ns, dev, ip] of [[NET.src, NET.vethSrc, NET.srcIp], [NET.dst, NET.vethDst, NET.dstIp]]) {
        sh("ip", ["-n", ns, "addr", "add", `${ip}/30`, "dev", dev]);
        sh("ip", ["-n", ns, "link", "set", dev, "up"]);
        sh("ip", ["-n", ns, "link", "set", "lo", "up"]);
    }
    // the mount points the private mount namespaces bind onto (empty directories, like an image's)
    for (const d of [L.SCRIPTS_DIR, L.CONFIG_DIR, L.SECRET_DIR, L.SOURCE_ROOT, L.TARGET_ROOT, L.IPC_DIR]) fs.mkdirSync(d, { recursive: true });
}

export function netDown(): void {
    for (const ns of [NET.src, NET.dst]) sh("ip", ["netns", "del", ns], { allowFail: true });
}

/** A started container process. */
export class Proc {
    readonly child: ChildProcess;
    readonly exited: Promise<number>;
    exitCode: number | undefined;
    constructor(readonly name: string, readonly logFile: string, args: string[]) {
        // stdout/stderr are pipes, as a container runtime gives them: a daemon that reopens /dev/stdout (rsyncd's
        // `log file`) must work with a pipe; a file here would sit on a mount the container cannot see
        this.child = spawn(CONTAINER_SH, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
        const fd = fs.openSync(logFile, "a");
        const write = (b: Buffer) => fs.writeSync(fd, b);
        this.child.stdout!.on("data", write);
        this.child.stderr!.on("data", write);
        all.add(this);
        this.exited = new Promise((resolve) => {
            // "close": the process exited and its output is written
            this.child.on("close", (code, signal) => {
                fs.closeSync(fd);
                this.exitCode = code ?? 128 + (signal ? os.constants.signals[signal] : 0);
                all.delete(this);
                resolve(this.exitCode);
            });
        });
    }
    get pid(): number { return this.child.pid!; }
    log(): string { return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, "utf8") : ""; }
    /** Signal the whole process group (the container). */
    kill(signal: NodeJS.Signals = "SIGTERM"): void {
        try { process.kill(-this.pid, signal); } catch { /* already gone */ }
    }
    async stop(): Promise<number> {
        if (this.exitCode !== undefined) return this.exitCode;
        this.kill("SIGTERM");
        const t = setTimeout(() => this.kill("SIGKILL"), 5000);
        const code = await this.exited;
        clearTimeout(t);
        return code;
    }
}
const all = new Set<Proc>();
export async function stopAll(): Promise<void> {
    await Promise.all([...all].map((p) => p.stop()));
}

export interface ContainerSpec {
    netns: string;
    /** "uid:gid[:supplementalGid]"; root when absent. */
    user?: string;
    /** Root's capability bounding set (all when absent). */
    caps?: string[];
    ro?: [string, string][];
    rw?: [string, string][];
    tmpfs?: [string, string][];
    env?: Record<string, string | number>;
}

export function container(name: string, logFile: string, spec: ContainerSpec, cmd: string[]): Proc {
    const a = ["--netns", spec.netns];
    if (spec.user) a.push("--user", spec.user);
    if (spec.caps) a.push("--caps", spec.caps.join(","));
    for (const [h, c] of spec.ro ?? []) a.push("--ro", `${h}:${c}`);
    for (const [h, c] of spec.rw ?? []) a.push("--rw", `${h}:${c}`);
    for (const [c, s] of spec.tmpfs ?? []) a.push("--tmpfs", `${c}:${s}`);
    for (const [k, v] of Object.entries(spec.env ?? {})) a.push("--env", `${k}=${v}`);
    return new Proc(name, logFile, [...a, "--", ...cmd]);
}

export function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 20000, stepMs = 100): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!cond()) {
        if (Date.now() > end) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
        await sleep(stepMs);
    }
}

export function listening(ns: string, port: number): string[] {
    return inNetns(ns, ["ss", "-Hltn", `sport = :${port}`]).out.split("\n").filter((l) => l.trim() !== "").map((l) => l.trim().split(/\s+/)[3]);
}

/** The files a namespace's Secret, ConfigMaps and scripts ConfigMap would hold, rendered into a temp directory. */
export class Rendered {
    readonly scripts: string;
    readonly config: string;
    readonly secret: string;
    constructor(readonly dir: string, a: {
        creds: TunnelCredentials; modules: string[]; runAsRoot: boolean; connectHost?: string; connectPort?: number; sni?: string;
        /** group of the secret files (the pod's fsGroup), root when absent */ secretGid?: number;
    }) {
        this.scripts = path.join(dir, "scripts");
        this.config = path.join(dir, "config");
        this.secret = path.join(dir, "secret");
        for (const d of [this.scripts, this.config, this.secret]) fs.mkdirSync(d, { recursive: true });
        for (const [name, text] of Object.entries(scriptFiles())) fs.writeFileSync(path.join(this.scripts, name), text, { mode: 0o555 });
        const configs: Record<string, string> = {
            [L.CONFIG_FILES.rsyncd]: renderRsyncdConf({ modules: a.modules, runAsRoot: a.runAsRoot }),
            [L.CONFIG_FILES.stunnelServer]: renderStunnelServerConf(),
            [L.CONFIG_FILES.stunnelClient]: renderStunnelClientConf({
                connectHost: a.connectHost ?? NET.dstIp, connectPort: a.connectPort ?? L.STUNNEL_PORT, sni: a.sni,
            }),
        };
        for (const [name, text] of Object.entries(configs)) fs.writeFileSync(path.join(this.config, name), text, { mode: 0o444 });
        for (const [name, text] of Object.entries(secretFiles(a.creds))) {
            const f = path.join(this.secret, name);
            fs.writeFileSync(f, text, { mode: 0o440 });
            fs.chmodSync(f, 0o440);
            fs.chownSync(f, 0, a.secretGid ?? 0);
        }
    }
}

export function tempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(process.env.DVM_DATAPLANE_TMP ?? os.tmpdir(), `dvm-dp-${prefix}-`));
}

/** Destination transfer pod: rsyncd + stunnel server containers sharing the destination host's network. */
export class DestinationPod {
    rsyncd!: Proc;
    stunnel!: Proc;
    constructor(readonly r: Rendered, readonly targets: Record<string, string>, readonly opts: {
        runAsRoot: boolean; user?: string; logDir: string; tmpfsTargets?: Record<string, string>;
    }) {}
    private spec(): ContainerSpec {
        return {
            netns: NET.dst,
            user: this.opts.runAsRoot ? undefined : this.opts.user,
            caps: this.opts.runAsRoot ? [...L.ROOT_CAPABILITIES] : undefined,
            ro: [[this.r.scripts, L.SCRIPTS_DIR], [this.r.config, L.CONFIG_DIR], [this.r.secret, L.SECRET_DIR]],
        };
    }
    startStunnel(): Proc {
        this.stunnel = container("stunnel-server", path.join(this.opts.logDir, "stunnel-server.log"), this.spec(),
            [`${L.SCRIPTS_DIR}/${L.SCRIPT_FILES.stunnelServer}`]);
        return this.stunnel;
    }
    /** The rsyncd container alone (a restart: the stunnel server keeps running). */
    startRsyncd(): Proc {
        const spec = this.spec();
        spec.rw = Object.entries(this.targets).map(([m, host]) => [host, `${L.TARGET_ROOT}/${m}`]);
        spec.tmpfs = Object.entries(this.opts.tmpfsTargets ?? {}).map(([m, size]) => [`${L.TARGET_ROOT}/${m}`, size]);
        this.rsyncd = container("rsyncd", path.join(this.opts.logDir, "rsyncd.log"), spec, [`${L.SCRIPTS_DIR}/${L.SCRIPT_FILES.rsyncd}`]);
        return this.rsyncd;
    }
    async start(): Promise<this> {
        this.startRsyncd();
        this.startStunnel();
        await waitFor("rsyncd and stunnel server listening", () => {
            if (this.rsyncd.exitCode !== undefined || this.stunnel.exitCode !== undefined) {
                throw new Error(`destination pod died: rsyncd=${this.rsyncd.exitCode} ${this.rsyncd.log()}\nstunnel=${this.stunnel.exitCode} ${this.stunnel.log()}`);
            }
            // the start lines too: the scripts print them before exec, but the pipe's data event may still be
            // queued when the port already answers
            return listening(NET.dst, L.RSYNCD_PORT).length > 0 && listening(NET.dst, L.STUNNEL_PORT).length > 0 &&
                this.rsyncd.log().includes("dvm: rsyncd-start ") && this.stunnel.log().includes("dvm: stunnel-start ");
        });
        return this;
    }
    async stop(): Promise<void> {
        await Promise.all([this.rsyncd?.stop(), this.stunnel?.stop()]);
    }
}

export interface SourceRun {
    rsyncExit: number;
    stunnelExit: number;
    log: string;
    stunnelLog: string;
    doneFile: boolean;
    seconds: number;
}

/** Source transfer pod: rsync + stunnel client containers sharing the ipc emptyDir and the source host's network. */
export class SourcePod {
    rsync!: Proc;
    stunnel!: Proc;
    readonly ipc: string;
    private started = 0;
    constructor(readonly r: Rendered, readonly sources: Record<string, string>, readonly args: string[], readonly opts: {
        runAsRoot: boolean; user?: string; logDir: string; name?: string; env?: Record<string, string | number>;
    }) {
        this.ipc = fs.mkdtempSync(path.join(opts.logDir, "ipc-"));
        fs.chmodSync(this.ipc, 0o777);
        // the source pod mounts its Secret 0444 and has no fsGroup (components/source.ts): nothing on a source volume
        // may change owner; rsync-client.sh makes the private copy rsync's --password-file insists on
        this.secret = fs.mkdtempSync(path.join(opts.logDir, "source-secret-"));
        for (const name of fs.readdirSync(r.secret)) {
            fs.copyFileSync(path.join(r.secret, name), path.join(this.secret, name));
            fs.chmodSync(path.join(this.secret, name), 0o444);
        }
        fs.chmodSync(this.secret, 0o755);
    }
    readonly secret: string;
    start(): this {
        const base = (): ContainerSpec => ({
            netns: NET.src,
            user: this.opts.runAsRoot ? undefined : this.opts.user,
            caps: this.opts.runAsRoot ? [...L.ROOT_CAPABILITIES] : undefined,
            ro: [[this.r.scripts, L.SCRIPTS_DIR], [this.r.config, L.CONFIG_DIR], [this.secret, L.SECRET_DIR]],
            rw: [[this.ipc, L.IPC_DIR]],
        });
        const rs = base();
        rs.ro!.push(...Object.entries(this.sources).map(([pvc, host]): [string, string] => [host, `${L.SOURCE_ROOT}/${pvc}`]));
        rs.env = { DVM_STUNNEL_WAIT_SECONDS: 30, DVM_BACKOFF_LIMIT: 2, DVM_RETRY_BASE_SECONDS: 1, DVM_RETRY_MAX_SECONDS: 4, ...this.opts.env };
        const name = this.opts.name ?? "source";
        this.started = Date.now();
        this.rsync = container("rsync", path.join(this.opts.logDir, `${name}-rsync.log`), rs, [`${L.SCRIPTS_DIR}/${L.SCRIPT_FILES.rsyncClient}`, ...this.args]);
        this.stunnel = container("stunnel-client", path.join(this.opts.logDir, `${name}-stunnel.log`), base(), [`${L.SCRIPTS_DIR}/${L.SCRIPT_FILES.stunnelClient}`]);
        return this;
    }
    async wait(timeoutMs = 600000): Promise<SourceRun> {
        const t = setTimeout(() => { this.rsync.kill("SIGKILL"); this.stunnel.kill("SIGKILL"); }, timeoutMs);
        const [rsyncExit, stunnelExit] = await Promise.all([this.rsync.exited, this.stunnel.exited]);
        clearTimeout(t);
        return {
            rsyncExit, stunnelExit, log: this.rsync.log(), stunnelLog: this.stunnel.log(),
            doneFile: fs.existsSync(path.join(this.ipc, L.DONE_FILE)), seconds: (Date.now() - this.started) / 1000,
        };
    }
}

export function clientArgs(o: Partial<RsyncOptions>, pvcs: PvcPlan[]): string[] {
    return rsyncClientArgs({
        archive: true, delete: true, hardLinks: true, partial: true, bwlimit: 0,
        info: "COPY2,DEL2,REMOVE2,SKIP2,FLIST2,PROGRESS2,STATS2", extras: [], backoffLimit: 2, retryDelaySeconds: 5, retryMaxDelaySeconds: 60, verify: false, ...o,
    }, pvcs);
}

export function pvc(source: string, target = source, verify = false): PvcPlan {
    return { source, target, capacity: "1Gi", accessModes: ["ReadWriteOnce"], verify };
}

export { generateCredentials };

/** CPU seconds (user+system) a process has used, with its reaped children (each `sleep` a loop starts), from
 * /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime, stime, cutime, cstime (stat fields 14-17)
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    return ticks / Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
}

/** Share of one core a process used over `ms` milliseconds. */
export async function cpuShare(pid: number, ms: number): Promise<number> {
    const a = cpuSeconds(pid);
    const t = Date.now();
    await sleep(ms);
    return (cpuSeconds(pid) - a) / ((Date.now() - t) / 1000);
}

/** The pid of the process running `needle` among `root` and its descendants. */
export function findProcess(root: number, needle: (cmdline: string) => boolean): number | undefined {
    const queue = [root];
    while (queue.length > 0) {
        const pid = queue.shift()!;
        let cmd = "";
        try { cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" "); } catch { continue; }
        if (needle(cmd)) return pid;
        for (const task of safeReaddir(`/proc/${pid}/task`)) {
            const kids = safeRead(`/proc/${pid}/task/${task}/children`).trim();
            if (kids) queue.push(...kids.split(/\s+/).map(Number));
        }
    }
    return undefined;
}
function safeReaddir(d: string): string[] { try { return fs.readdirSync(d); } catch { return []; } }
function safeRead(f: string): string { try { return fs.readFileSync(f, "utf8"); } catch { return ""; } }

/** Packet capture (dumpcap, as tshark uses) on an interface of a network namespace. */
export class Capture {
    private proc!: ChildProcess;
    private exited!: Promise<void>;
    constructor(readonly ns: string, readonly iface: string, readonly file: string) {}
    async start(): Promise<this> {
        const errFile = `${this.file}.stderr`;
        const fd = fs.openSync(errFile, "w");
        // a large kernel buffer: a dropped packet would make "no marker on the wire" meaningless (stop() checks)
        this.proc = spawn("ip", ["netns", "exec", this.ns, "dumpcap", "-q", "-B", "512", "-i", this.iface, "-w", this.file], { stdio: ["ignore", fd, fd] });
        fs.closeSync(fd);
        this.exited = new Promise((r) => this.proc.on("exit", () => r()));
        await waitFor(`capture on ${this.ns}/${this.iface}`, () => fs.existsSync(this.file) && fs.statSync(this.file).size > 0, 15000);
        await sleep(300);
        return this;
    }
    /** Stops the capture: the captured file and dumpcap's own received/dropped counts. */
    async stop(): Promise<{ bytes: Buffer; received: number; dropped: number }> {
        await sleep(500);
        this.proc.kill("SIGINT");
        await this.exited;
        const err = fs.readFileSync(`${this.file}.stderr`, "utf8");
        const m = /received\/dropped on interface '.*?': ([0-9]+)\/([0-9]+)/.exec(err);
        if (!m) throw new Error(`no packet counts in dumpcap's output: ${err}`);
        return { bytes: fs.readFileSync(this.file), received: Number(m[1]), dropped: Number(m[2]) };
    }
}

/** rsync --info=STATS2 numbers of the last stats block in a log. */
export function lastStats(log: string): Record<string, number> {
    const i = log.lastIndexOf("Number of files:");
    if (i < 0) throw new Error(`no rsync stats block in:\n${log.slice(-2000)}`);
    const out: Record<string, number> = {};
    for (const line of log.slice(i).split("\n")) {
        const m = /^([A-Za-z][A-Za-z ]+?): ([0-9,.]+)/.exec(line.trim());
        if (m) out[m[1]] = Number(m[2].replace(/,/g, ""));
    }
    return out;
}

export function dvmLines(log: string, event: string): Record<string, string>[] {
    return log.split(/\r|\n/).filter((l) => l.startsWith(`dvm: ${event} `) || l === `dvm: ${event}`).map((l) => {
        const rec: Record<string, string> = {};
        for (const m of l.matchAll(/([a-z-]+)=("([^"]*)"|\S+)/g)) rec[m[1]] = m[3] ?? m[2];
        return rec;
    });
}
