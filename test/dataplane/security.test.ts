// Security of the data plane on real rsync and stunnel between two network-namespace hosts: the stunnel server
// answers over IPv6 as well as IPv4 (IPv6-only clusters), and the rsync daemon refuses link-following options from a
// client that sends them whatever dvm's config allowed.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as L from "../../contract";
import { generateCredentials } from "../../components/transport/credentials";
import {
    clientArgs, DestinationPod, inNetns, listening, NET, netDown, netUp, pvc, Rendered, sh, SourcePod, stopAll, tempDir,
} from "../support/dataplane";
import { diff, generate, snapshot } from "../support/dataset";

/** Unique local addresses of the two hosts (nothing routed off this machine). */
const V6 = { src: "fd00:d7a::1", dst: "fd00:d7a::2" };

describe("data plane security: IPv6 and the daemon's refused options", function () {
    this.timeout(10 * 60 * 1000);
    let work = "";
    let src = "";
    let dst = "";

    before(function () {
        if (process.getuid?.() !== 0) throw new Error("the data-plane tests need root (network namespaces, mounts, owners)");
        work = tempDir("security");
        netUp();
        for (const [ns, dev, ip] of [[NET.src, NET.vethSrc, V6.src], [NET.dst, NET.vethDst, V6.dst]]) {
            // nodad: usable at once, no duplicate address detection wait
            sh("ip", ["-n", ns, "-6", "addr", "add", `${ip}/64`, "dev", dev, "nodad"]);
        }
        src = path.join(work, "src", "data");
        dst = path.join(work, "dst", "data");
        generate(src, { smallFiles: 50, largeMiB: 1, owners: true, sparseMiB: 0 }, 1);
        fs.mkdirSync(dst, { recursive: true });
    });

    after(async function () {
        await stopAll();
        netDown();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it("the stunnel server listens dual-stack; a source that reaches it over IPv6 only copies everything", async function () {
        const creds = generateCredentials();
        const r = new Rendered(path.join(work, "v6"), { creds, modules: ["data"], runAsRoot: true, connectHost: V6.dst });
        const logs = path.join(work, "v6");
        const dest = await new DestinationPod(r, { data: dst }, { runAsRoot: true, logDir: logs }).start();
        try {
            assert.deepEqual(listening(NET.dst, L.STUNNEL_PORT), [`*:${L.STUNNEL_PORT}`]);
            assert.match(dest.stunnel.log(), /dvm: stunnel-start config=\S+ listen=dual-stack/);
            // both families reach the port from the source host
            for (const ip of [V6.dst, NET.dstIp]) {
                assert.equal(inNetns(NET.src, ["nc", "-z", "-w", "3", ip, String(L.STUNNEL_PORT)], { allowFail: true }).code, 0, `stunnel port open on ${ip}`);
            }
            // the IPv4 address gone from the source host: only IPv6 is left between them
            sh("ip", ["-n", NET.src, "addr", "del", `${NET.srcIp}/30`, "dev", NET.vethSrc]);
            const run = await new SourcePod(r, { data: src }, clientArgs({}, [pvc("data")]), { runAsRoot: true, logDir: logs, name: "v6" }).start().wait();
            assert.equal(run.rsyncExit, 0, `${run.log}\n${run.stunnelLog}`);
            assert.match(run.stunnelLog, new RegExp(`connected ${V6.dst.replace(/:/g, ":")}:${L.STUNNEL_PORT}`));
            assert.deepEqual(diff(snapshot(src, ["lost+found"]), snapshot(dst), { owners: true }).slice(0, 10), []);
        } finally {
            sh("ip", ["-n", NET.src, "addr", "add", `${NET.srcIp}/30`, "dev", NET.vethSrc], { allowFail: true });
            await dest.stop();
        }
    });

    it("the rsync daemon ends a session whose client sends a link-following option (exit 4, never retried)", async function () {
        const creds = generateCredentials();
        const r = new Rendered(path.join(work, "refuse"), { creds, modules: ["data"], runAsRoot: true });
        const logs = path.join(work, "refuse");
        const dest = await new DestinationPod(r, { data: dst }, { runAsRoot: true, logDir: logs }).start();
        try {
            // clientArgs() does not validate extras: this is a client that bypassed dvm's allow-list
            for (const option of ["--copy-unsafe-links", "--keep-dirlinks"]) {
                const run = await new SourcePod(r, { data: src }, clientArgs({ extras: [option] }, [pvc("data")]), { runAsRoot: true, logDir: logs, name: option.slice(2) }).start().wait();
                assert.equal(run.rsyncExit, 4, run.log);
                assert.match(run.log, new RegExp(`server is configured to refuse ${option}`));
                assert.match(run.log, /pvc-end pvc=data attempt=1 exit=4 result=fatal/);
            }
        } finally {
            await dest.stop();
        }
    });
});
