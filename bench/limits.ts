// The limits dvm is measured against, on the same veth pair, in the same run (bench/run.ts):
//
// - iperf3:          one TCP stream over the veth pair, no disks: the link's own limit;
// - iperf3 + stunnel: the same stream through a stunnel pair with dvm's rendered TLS settings (TLS 1.3 PSK, the
//                    cipher suites of components/transport/stunnel.ts, the same credentials files): the limit of any
//                    encrypted transfer over this tunnel;
// - pipe:            `tar --record-size=1M --sparse | socat -b1048576` into `tar -x`: the data set itself, files and
//                    all, unencrypted with big buffers (OpenBSD netcat moves 16 KiB per call and tar's default record
//                    is 10 KiB: `tar | nc` is no limit for a fast link);
// - read:            `tar --record-size=1M` of the source into a pipe that discards it: reading the tree alone.
//
// Each reports wall seconds and CPU seconds of every process it ran (bash `times` of the shells, their reaped children
// included; /proc for the stunnels), so CPU seconds per GB can be set against dvm's.
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CONFIG_DIR, CONFIG_FILES, RSYNCD_PORT, SECRET_DIR, STUNNEL_PORT, TUNNEL_PORT } from "../contract";
import { container, listening, NET, Proc, Rendered, waitFor } from "../test/support/dataplane";
import { clearDir, Env, procCpu, shellTimes, tally } from "./dataplane";

export interface LimitSample {
    seconds: number;
    /** bytes moved (iperf3: what the receiver got; the tree limits: the data set's payload) */
    bytes: number;
    cpu: Record<string, number>;
}

const IPERF_PORT = 5201;
/** the limit's own stunnel ports (dvm's destination pod and MTC's baseline use theirs) */
const LIMIT_STUNNEL_PORT = 9444;
const LIMIT_TUNNEL_PORT = 5202;
const PIPE_PORT = 9001;

function withTotal(parts: Record<string, number>): Record<string, number> {
    return { ...parts, total: Object.values(parts).reduce((a, b) => a + b, 0) };
}

function spawnIn(env: Env, ns: string, script: string, log: string): { child: ChildProcess; exited: Promise<number> } {
    const fd = fs.openSync(path.join(env.logs, log), "a");
    const child = spawn("ip", ["netns", "exec", ns, "bash", "-c", script], { stdio: ["ignore", fd, fd] });
    fs.closeSync(fd);
    return { child, exited: new Promise<number>((r) => child.on("exit", (c) => r(c ?? 128))) };
}

/** `--json` output of an iperf3 client: bytes and seconds the receiver saw. */
export function iperfResult(json: string): { bytes: number; seconds: number } {
    let j: any;
    try { j = JSON.parse(json); } catch { throw new Error(`iperf3 wrote no JSON: ${json.slice(0, 500)}`); }
    if (j.error) throw new Error(`iperf3: ${j.error}`);
    const r = j.end?.sum_received;
    if (!r || typeof r.bytes !== "number" || typeof r.seconds !== "number" || r.seconds <= 0) throw new Error(`iperf3 JSON has no end.sum_received: ${json.slice(0, 500)}`);
    return { bytes: r.bytes, seconds: r.seconds };
}

/** stunnel configs of the limit: dvm's rendered ones, but on the limit's own ports and in front of iperf3. */
export function limitStunnelConfigs(rendered: Rendered, dir: string): string {
    fs.mkdirSync(dir, { recursive: true });
    const edit = (file: string, from: string, to: string, from2: string, to2: string) => {
        const text = fs.readFileSync(path.join(rendered.config, file), "utf8");
        if (!text.includes(from) || !text.includes(from2)) throw new Error(`${file} has no '${from}' or '${from2}' line: update bench/limits.ts`);
        fs.writeFileSync(path.join(dir, file), text.replace(from, to).replace(from2, to2), { mode: 0o444 });
    };
    edit(CONFIG_FILES.stunnelServer, `accept = 0.0.0.0:${STUNNEL_PORT}`, `accept = 0.0.0.0:${LIMIT_STUNNEL_PORT}`,
        `connect = 127.0.0.1:${RSYNCD_PORT}`, `connect = 127.0.0.1:${IPERF_PORT}`);
    edit(CONFIG_FILES.stunnelClient, `accept = 127.0.0.1:${TUNNEL_PORT}`, `accept = 127.0.0.1:${LIMIT_TUNNEL_PORT}`,
        `connect = ${NET.dstIp}:${STUNNEL_PORT}`, `connect = ${NET.dstIp}:${LIMIT_STUNNEL_PORT}`);
    return dir;
}

/** One iperf3 stream of `seconds` over the veth pair, or through a stunnel pair with dvm's configs (`rendered`). */
export async function runIperf(env: Env, seconds: number, rendered?: Rendered): Promise<LimitSample> {
    const times = { client: path.join(env.logs, "iperf-client.times"), server: path.join(env.logs, "iperf-server.times") };
    const out = path.join(env.logs, "iperf-client.json");
    const server = spawnIn(env, NET.dst, `iperf3 -s -1 -B ${rendered ? "127.0.0.1" : NET.dstIp} -p ${IPERF_PORT}; rc=$?; times >'${times.server}'; exit $rc`, "iperf-server.log");
    let tunnel: Proc[] = [];
    try {
        await waitFor("iperf3 server listening", () => listening(NET.dst, IPERF_PORT).length > 0, 10000, 20);
        let host: string = NET.dstIp;
        let port = IPERF_PORT;
        if (rendered) {
            const conf = limitStunnelConfigs(rendered, path.join(env.work, "limit-stunnel"));
            const ro: [string, string][] = [[conf, CONFIG_DIR], [rendered.secret, SECRET_DIR]];
            tunnel = [
                container("limit-stunnel-server", path.join(env.logs, "limit-stunnel-server.log"), { netns: NET.dst, ro }, ["stunnel", `${CONFIG_DIR}/${CONFIG_FILES.stunnelServer}`]),
                container("limit-stunnel-client", path.join(env.logs, "limit-stunnel-client.log"), { netns: NET.src, ro }, ["stunnel", `${CONFIG_DIR}/${CONFIG_FILES.stunnelClient}`]),
            ];
            await waitFor("the limit's stunnel pair listening", () => {
                for (const p of tunnel) if (p.exitCode !== undefined) throw new Error(`${p.name} exited ${p.exitCode}:\n${p.log().slice(-2000)}`);
                return listening(NET.dst, LIMIT_STUNNEL_PORT).length > 0 && listening(NET.src, LIMIT_TUNNEL_PORT).length > 0;
            }, 10000, 20);
            host = "127.0.0.1";
            port = LIMIT_TUNNEL_PORT;
        }
        const s0 = tunnel.map((p) => procCpu(p.pid));
        const client = spawnIn(env, NET.src, `iperf3 -c ${host} -p ${port} -t ${seconds} -J >'${out}'; rc=$?; times >'${times.client}'; exit $rc`, "iperf-client.log");
        const [cc, sc] = await Promise.all([client.exited, server.exited]);
        const s1 = tunnel.map((p) => procCpu(p.pid));
        if (cc !== 0 || sc !== 0) throw new Error(`iperf3${rendered ? " through stunnel" : ""} failed: client ${cc}, server ${sc}: ${fs.readFileSync(out, "utf8").slice(0, 1000)}; see ${env.logs}/iperf-*.log`);
        const r = iperfResult(fs.readFileSync(out, "utf8"));
        const cpu: Record<string, number> = { sender: shellTimes(times.client), receiver: shellTimes(times.server) };
        if (rendered) Object.assign(cpu, { stunnelServer: s1[0] - s0[0], stunnelClient: s1[1] - s0[1] });
        return { seconds: r.seconds, bytes: r.bytes, cpu: withTotal(cpu) };
    } finally {
        server.child.kill("SIGTERM");
        await Promise.all(tunnel.map((p) => p.stop()));
    }
}

/** The data set through `tar | socat` with 1 MiB records and buffers into `tar -x` on the destination host. */
export async function runPipe(env: Env, srcDir: string, dst: string, payload: number): Promise<LimitSample> {
    clearDir(dst);
    const times = { send: path.join(env.logs, "pipe-send.times"), recv: path.join(env.logs, "pipe-recv.times") };
    // -B: a pipe delivers short reads; tar must reassemble its 1 MiB records
    const recv = spawnIn(env, NET.dst, `set -o pipefail; socat -u -b1048576 TCP-LISTEN:${PIPE_PORT},bind=${NET.dstIp},reuseaddr - | tar --record-size=1M -B -xf - -C '${dst}'; rc=$?; times >'${times.recv}'; exit $rc`, "pipe-recv.log");
    await waitFor("socat listening", () => listening(NET.dst, PIPE_PORT).length > 0, 10000, 20);
    const t0 = performance.now();
    const send = spawnIn(env, NET.src, `set -o pipefail; tar --record-size=1M --sparse -cf - -C '${srcDir}' . | socat -u -b1048576 - TCP:${NET.dstIp}:${PIPE_PORT}; rc=$?; times >'${times.send}'; exit $rc`, "pipe-send.log");
    const [sc, rc] = await Promise.all([send.exited, recv.exited]);
    const seconds = (performance.now() - t0) / 1000;
    if (sc !== 0 || rc !== 0) throw new Error(`tar | socat failed: sender ${sc}, receiver ${rc}; see ${env.logs}/pipe-*.log`);
    const a = tally(srcDir);
    const b = tally(dst);
    if (a.files !== b.files || a.bytes !== b.bytes) throw new Error(`tar | socat: destination has ${b.files} files / ${b.bytes} bytes, source ${a.files} / ${a.bytes}`);
    return { seconds, bytes: payload, cpu: withTotal({ sender: shellTimes(times.send), receiver: shellTimes(times.recv) }) };
}

/** Reading the tree alone: tar with 1 MiB records into a pipe whose reader discards it (tar itself would skip reading
 * file data when its archive is /dev/null). */
export async function runRead(env: Env, srcDir: string, payload: number): Promise<LimitSample> {
    const times = path.join(env.logs, "read.times");
    const t0 = performance.now();
    const p = spawnIn(env, NET.src, `set -o pipefail; tar --record-size=1M --sparse -cf - -C '${srcDir}' . | cat >/dev/null; rc=$?; times >'${times}'; exit $rc`, "read.log");
    const code = await p.exited;
    const seconds = (performance.now() - t0) / 1000;
    if (code !== 0) throw new Error(`reading ${srcDir} failed (${code}); see ${env.logs}/read.log`);
    return { seconds, bytes: payload, cpu: withTotal({ reader: shellTimes(times) }) };
}
