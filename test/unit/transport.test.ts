import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderStunnelClientConf, renderStunnelServerConf } from "../../components/transport/stunnel";
import { generateCredentials, secretFiles } from "../../components/transport/credentials";
import * as L from "../../contract";

/** stunnel.conf as {global, sections}, refusing duplicate keys. */
function parse(text: string): { global: Record<string, string>; sections: Record<string, Record<string, string>> } {
    const out = { global: {} as Record<string, string>, sections: {} as Record<string, Record<string, string>> };
    let cur = out.global;
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "" || line.startsWith(";") || line.startsWith("#")) continue;
        const sec = /^\[(.+)\]$/.exec(line);
        if (sec) { cur = out.sections[sec[1]] = {}; continue; }
        const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
        assert.ok(kv, `not a key = value line: ${line}`);
        assert.equal(cur[kv[1]], undefined, `duplicate key ${kv[1]}`);
        cur[kv[1]] = kv[2];
    }
    return out;
}

describe("stunnel configs", () => {
    it("server: TLS 1.3 PSK on every interface, forwarding to rsyncd on localhost, no certificate", () => {
        const c = parse(renderStunnelServerConf());
        assert.equal(c.global["foreground"], "yes");
        assert.equal(c.global["pid"], "");
        const s = c.sections["rsync"];
        assert.equal(s["accept"], `:::${L.STUNNEL_PORT}`, "every interface, IPv4 and IPv6 (dual-stack)");
        assert.equal(s["connect"], `127.0.0.1:${L.RSYNCD_PORT}`);
        assert.equal(s["sslVersionMin"], "TLSv1.3");
        assert.equal(s["PSKsecrets"], `${L.SECRET_DIR}/${L.SECRET_KEYS.psk}`);
        assert.equal(s["client"], undefined);
        assert.equal(s["cert"], undefined, "a certificate would let clients without the PSK complete a handshake");
        // AES-128-GCM first; only SHA-256 suites (stunnel binds its PSKs to SHA-256: a SHA-384 suite is never usable)
        assert.equal(s["ciphersuites"], "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256");
    });
    it("client: localhost listener, endpoint, PSK, SNI only when asked, certificate handshakes refused", () => {
        const c = parse(renderStunnelClientConf({ connectHost: "dvm-app.apps.example.com", connectPort: 443, sni: "dvm-app.apps.example.com" }));
        const s = c.sections["rsync"];
        assert.equal(s["client"], "yes");
        assert.equal(s["accept"], `127.0.0.1:${L.TUNNEL_PORT}`);
        assert.equal(s["connect"], "dvm-app.apps.example.com:443");
        assert.equal(s["sni"], "dvm-app.apps.example.com");
        assert.equal(s["sslVersionMin"], "TLSv1.3");
        assert.equal(s["PSKsecrets"], `${L.SECRET_DIR}/${L.SECRET_KEYS.psk}`);
        assert.equal(s["config"], "SignatureAlgorithms:RSA+SHA256");
        assert.equal(s["ciphersuites"], parse(renderStunnelServerConf()).sections["rsync"]["ciphersuites"], "both sides prefer the same suites");
        for (const k of ["verify", "verifyChain", "verifyPeer"]) assert.notEqual(s[k], "0", `${k} must never be switched off`);
        const noSni = parse(renderStunnelClientConf({ connectHost: "10.1.2.3", connectPort: 31443 })).sections["rsync"];
        assert.equal(noSni["sni"], undefined);
        assert.equal(noSni["connect"], "10.1.2.3:31443");
    });
    it("rejects endpoints that are not a host and port", () => {
        assert.throws(() => renderStunnelClientConf({ connectHost: "a b", connectPort: 443 }), /host "a b" is not a DNS name.*example/);
        assert.throws(() => renderStunnelClientConf({ connectHost: "x\nverify = 0", connectPort: 443 }), /not a DNS name/);
        assert.throws(() => renderStunnelClientConf({ connectHost: "x.example.com", connectPort: 0 }), /port 0 must be 1-65535/);
        assert.throws(() => renderStunnelClientConf({ connectHost: "x.example.com", connectPort: 443, sni: "" }), /SNI "" is not a DNS name/);
    });
});

describe("tunnel credentials", () => {
    it("are 256-bit keys and 32-byte passwords from the crypto RNG, different every time", () => {
        const seen = new Set<string>();
        for (let i = 0; i < 200; i++) {
            const c = generateCredentials();
            assert.match(c.pskKey, /^[0-9a-f]{64}$/);
            assert.match(c.rsyncPassword, /^[0-9a-f]{64}$/);
            assert.match(c.pskIdentity, /^dvm-[0-9a-f]{16}$/);
            for (const v of [c.pskKey, c.rsyncPassword, c.pskIdentity]) { assert.ok(!seen.has(v)); seen.add(v); }
        }
        const src = fs.readFileSync(path.join(__dirname, "../../components/transport/credentials.ts"), "utf8");
        assert.ok(!/Math\.random\(/.test(src), "credentials never come from Math.random");
        assert.match(src, /from "node:crypto"/);
    });
    it("become the Secret files both pods mount", () => {
        const c = generateCredentials();
        const files = secretFiles(c);
        assert.deepEqual(Object.keys(files).sort(), Object.values(L.SECRET_KEYS).sort());
        assert.equal(files[L.SECRET_KEYS.psk], `${c.pskIdentity}:${c.pskKey}\n`);
        assert.equal(files[L.SECRET_KEYS.rsyncPassword], `${c.rsyncPassword}\n`);
        assert.equal(files[L.SECRET_KEYS.rsyncdSecrets], `${L.RSYNC_USER}:${c.rsyncPassword}\n`);
    });
    it("refuse weak or malformed values", () => {
        const c = generateCredentials();
        assert.throws(() => secretFiles({ ...c, pskKey: "abcd" }), /pskKey must be at least 64/);
        assert.throws(() => secretFiles({ ...c, rsyncPassword: "short" }), /rsyncPassword must be at least 32/);
        assert.throws(() => secretFiles({ ...c, pskIdentity: "a:b" }), /pskIdentity/);
    });
});
