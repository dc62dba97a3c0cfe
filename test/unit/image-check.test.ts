// The transfer image's start-up self-check (components/transfer/scripts/image-check.sh): every container's script
// refuses at once, exit 96 naming dvm:transferImage, an image without rsync/stunnel, with an rsync too old for the
// progress dvm reads, a stunnel without PSK or TLS 1.3, or an rsync that does not know an option dvm passes. Real bash
// runs the real scripts; the image is simulated by the PATH they see (the real rsync and stunnel, or stand-ins).
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EXIT_CODES, LOG_PREFIX, SCRIPT_FILES, TRANSFER_IMAGE_KEY } from "../../contract";
import { scriptFiles } from "../../components/scripts";
import { parseTransferLogs } from "../../progress/parser/state";

const TOOLS = ["bash", "sed", "awk", "sort", "find", "mktemp", "cat", "tee", "head", "dirname", "rm", "mkdir", "grep", "sleep", "rsync", "stunnel"];

function which(tool: string): string {
    const r = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" });
    assert.strictEqual(r.status, 0, `${tool} is not installed here`);
    return r.stdout.trim();
}

describe("transfer image self-check (image-check.sh)", function () {
    this.timeout(30000);
    let dir = "";
    let scripts = "";
    before(function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dvm-image-check-"));
        scripts = path.join(dir, "scripts");
        fs.mkdirSync(scripts);
        for (const [name, text] of Object.entries(scriptFiles())) fs.writeFileSync(path.join(scripts, name), text, { mode: 0o555 });
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** An "image": a bin directory with the real tools, minus `without`, plus stand-in scripts. */
    function image(name: string, without: string[] = [], fakes: Record<string, string> = {}): string {
        const bin = path.join(dir, name);
        fs.mkdirSync(bin);
        for (const t of TOOLS.filter((x) => !without.includes(x) && !(x in fakes))) fs.symlinkSync(which(t), path.join(bin, t));
        for (const [t, body] of Object.entries(fakes)) fs.writeFileSync(path.join(bin, t), `#!${which("bash")}\n${body}\n`, { mode: 0o755 });
        return bin;
    }

    function run(bin: string, script: string, args: string[] = []) {
        const tmp = fs.mkdtempSync(path.join(dir, "tmp-"));
        const r = spawnSync(which("bash"), [path.join(scripts, script), ...args], {
            encoding: "utf8", timeout: 20000,
            env: { PATH: bin, TMPDIR: tmp, DVM_IPC_DIR: path.join(tmp, "ipc"), DVM_CONFIG_DIR: path.join(tmp, "config"), DVM_SOURCE_ROOT: path.join(tmp, "src"), DVM_SECRET_DIR: path.join(tmp, "secret") },
        });
        const out = `${r.stdout}${r.stderr}`;
        const unfit = out.split("\n").find((l) => l.startsWith(`${LOG_PREFIX}image-unfit `));
        return { code: r.status, out, unfit, doneFile: fs.existsSync(path.join(tmp, "ipc")) };
    }

    const ALL = [SCRIPT_FILES.rsyncClient, SCRIPT_FILES.stunnelClient, SCRIPT_FILES.rsyncd, SCRIPT_FILES.stunnelServer];
    const clientArgs = ["--archive", "--info=PROGRESS2,STATS2", "--numeric-ids", "--", "data:data"];
    const argsOf = (s: string) => (s === SCRIPT_FILES.rsyncClient ? clientArgs : []);

    it("a fit image passes: each script goes on to its own checks (here: a missing config or source volume, exit 98)", () => {
        const bin = image("fit");
        for (const s of ALL) {
            const r = run(bin, s, argsOf(s));
            assert.strictEqual(r.unfit, undefined, `${s}: ${r.out}`);
            assert.strictEqual(r.code, EXIT_CODES.usage, `${s}: ${r.out}`);
        }
    });

    it("a missing stunnel or rsync fails every container at once with 96, naming dvm:transferImage", () => {
        for (const missing of ["stunnel", "rsync"]) {
            const bin = image(`no-${missing}`, [missing]);
            for (const s of ALL) {
                const r = run(bin, s, argsOf(s));
                assert.strictEqual(r.code, EXIT_CODES.imageUnfit, `${s} without ${missing}: ${r.out}`);
                assert.ok(r.unfit, `${s}: no image-unfit line in ${r.out}`);
                assert.match(r.unfit!, new RegExp(`problems="[^"]*no ${missing}`));
                assert.ok(r.unfit!.includes(TRANSFER_IMAGE_KEY), r.unfit);
            }
        }
        // the rsync container's EXIT trap still writes the done-file, so its stunnel container stops too
        const r = run(image("no-stunnel-2", ["stunnel"]), SCRIPT_FILES.rsyncClient, clientArgs);
        assert.match(r.out, new RegExp(`${LOG_PREFIX}done exit=${EXIT_CODES.imageUnfit}`));
        assert.ok(r.doneFile);
        // what `pulumi up` reports from that log: every PVC failed, reason ImageUnfit, naming the key
        const rec = parseTransferLogs(r.out, { pvcs: ["data"] }).pvcs.data;
        assert.strictEqual(rec.phase, "Failed");
        assert.strictEqual(rec.reason, "ImageUnfit");
        assert.strictEqual(rec.exitCode, EXIT_CODES.imageUnfit);
        assert.match(rec.message ?? "", new RegExp(`${TRANSFER_IMAGE_KEY}.*no stunnel`));
    });

    it("an rsync too old for --info=PROGRESS2, a stunnel without PSK, SNI or TLS 1.3", () => {
        const real = { rsync: which("rsync"), stunnel: which("stunnel") };
        const cases: [string, Record<string, string>, RegExp][] = [
            ["old-rsync", { rsync: `[ "$1" = --version ] && { echo "rsync  version 3.0.9  protocol version 30"; exit 0; }; exec ${real.rsync} "$@"` }, /rsync 3\.0\.9 < 3\.1\.0/],
            ["no-psk", { stunnel: `echo "stunnel 5.68 on x86_64-pc-linux-gnu platform" >&2; echo "Running  with OpenSSL 3.0.11 19 Sep 2023" >&2; echo "Threading:PTHREAD Sockets:POLL,IPv6 TLS:ENGINE,OCSP,SNI Auth:LIBWRAP" >&2` }, /stunnel without PSK/],
            ["no-sni", { stunnel: `echo "stunnel 5.68 on x86_64-pc-linux-gnu platform" >&2; echo "Running  with OpenSSL 3.0.11 19 Sep 2023" >&2; echo "Threading:PTHREAD Sockets:POLL,IPv6 TLS:ENGINE,PSK Auth:LIBWRAP" >&2` }, /stunnel without SNI/],
            ["old-openssl", { stunnel: `echo "stunnel 5.44 on x86_64-pc-linux-gnu platform" >&2; echo "Running  with OpenSSL 1.0.2k-fips  26 Jan 2017" >&2; echo "TLS:ENGINE,OCSP,PSK,SNI" >&2` }, /stunnel 5\.44 < 5\.50.*OpenSSL 1\.0\.2k/],
        ];
        for (const [name, fakes, why] of cases) {
            const bin = image(name, [], fakes);
            for (const s of ALL) {
                const r = run(bin, s, argsOf(s));
                assert.strictEqual(r.code, EXIT_CODES.imageUnfit, `${name} ${s}: ${r.out}`);
                assert.match(r.unfit ?? "", why, `${name} ${s}`);
            }
        }
    });

    it("the rsync container dry-runs every option dvm passes: one this rsync does not know fails at once", () => {
        const r = run(image("fit-2"), SCRIPT_FILES.rsyncClient, ["--archive", "--no-such-option-dvm-passes", "--", "data:data"]);
        assert.strictEqual(r.code, EXIT_CODES.imageUnfit, r.out);
        assert.match(r.unfit ?? "", /rsync refuses dvm's options: .*no-such-option-dvm-passes/);
    });
});
