// stunnel configs of the TLS tunnel between the source pod (client) and the destination pod (server).
//
// Authentication is a TLS 1.3 external PSK, per namespace (components/transport/credentials.ts), and it is mutual:
// - the server has no certificate at all, so a client that does not hold this namespace's identity and key cannot
//   complete a handshake (no certificate fallback to fall back to);
// - the client refuses any server that does not prove knowledge of the key. A PSK alone is not enough for that: a
//   rogue server may ignore the PSK and answer with a certificate, which a stunnel client without `verifyChain`
//   accepts ("Certificate verification disabled" - MTC's `verify = 0` hole). So the client offers only
//   `rsa_pkcs1_sha256` as signature algorithm, which TLS 1.3 forbids for CertificateVerify: OpenSSL then rejects
//   every certificate-authenticated TLS 1.3 handshake ("wrong signature type"), while PSK handshakes, which carry no
//   signature, work. With `sslVersionMin = TLSv1.3` there is no TLS 1.2 to downgrade to.
// The PSK handshake still uses (EC)DHE key exchange (psk_dhe_ke), so traffic has forward secrecy.
//
// Cipher: stunnel hands OpenSSL its PSKs through the legacy PSK callbacks, which bind every PSK to SHA-256, so only
// the *_SHA256 TLS 1.3 suites can ever be negotiated with it (never TLS_AES_256_GCM_SHA384). AES-128-GCM comes
// first: on CPUs with AES instructions it costs ~22% less stunnel CPU per GB than ChaCha20 (bench/, 7 repetitions)
// and is TLS 1.3's mandatory suite.
// ChaCha20-Poly1305 stays as the fallback (a peer without AES-GCM).
import { RSYNCD_PORT, SECRET_DIR, SECRET_KEYS, STUNNEL_PORT, TUNNEL_PORT } from "../../contract";

const PSK_FILE = `${SECRET_DIR}/${SECRET_KEYS.psk}`;
const HOST = /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$|^[0-9a-fA-F:]+$/;

/** TLS 1.3 suites in order of preference: only SHA-256 suites work with stunnel's PSKs (see above). */
export const CIPHERSUITES = ["TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"] as const;

/** TLS settings both sides share. */
function tlsLines(): string[] {
    return [
        "sslVersionMin = TLSv1.3",
        `ciphersuites = ${CIPHERSUITES.join(":")}`,
        `PSKsecrets = ${PSK_FILE}`,
    ];
}

function globalLines(): string[] {
    return [
        // foreground: logs go to stderr (the container log); no pid file on the read-only root filesystem
        "foreground = yes",
        "pid =",
        "syslog = no",
        "debug = notice",
    ];
}

/** Destination pod: accepts TLS on every interface at STUNNEL_PORT, IPv4 and IPv6 (`::` is dual-stack: Linux's
 * default net.ipv6.bindv6only=0 holds in every pod network namespace; stunnel-server.sh falls back to 0.0.0.0 on a
 * kernel without IPv6), forwards to rsyncd on 127.0.0.1:RSYNCD_PORT. */
export function renderStunnelServerConf(): string {
    return [
        "; dvm stunnel server - rendered by components/transport/stunnel.ts, do not edit",
        ...globalLines(),
        "",
        "[rsync]",
        `accept = :::${STUNNEL_PORT}`,
        `connect = 127.0.0.1:${RSYNCD_PORT}`,
        ...tlsLines(),
        "",
    ].join("\n");
}

/** Source pod: listens on 127.0.0.1:TUNNEL_PORT for rsync, connects to the destination endpoint. `sni` is the
 * host name an OpenShift Route / ingress-nginx passthrough routes on (defaults to connectHost when it is a name). */
export function renderStunnelClientConf(a: { connectHost: string; connectPort: number; sni?: string }): string {
    if (!HOST.test(a.connectHost)) {
        throw new Error(`stunnel client: destination endpoint host ${JSON.stringify(a.connectHost)} is not a DNS name or IP address; example: dvm-app-3.apps.dest.example.com`);
    }
    if (!Number.isInteger(a.connectPort) || a.connectPort < 1 || a.connectPort > 65535) {
        throw new Error(`stunnel client: destination endpoint port ${JSON.stringify(a.connectPort)} must be 1-65535; example: 443`);
    }
    if (a.sni !== undefined && !HOST.test(a.sni)) {
        throw new Error(`stunnel client: SNI ${JSON.stringify(a.sni)} is not a DNS name; example: dvm-app-3.apps.dest.example.com`);
    }
    return [
        "; dvm stunnel client - rendered by components/transport/stunnel.ts, do not edit",
        ...globalLines(),
        "",
        "[rsync]",
        "client = yes",
        `accept = 127.0.0.1:${TUNNEL_PORT}`,
        `connect = ${a.connectHost}:${a.connectPort}`,
        ...(a.sni !== undefined ? [`sni = ${a.sni}`] : []),
        ...tlsLines(),
        "; PSK only: no certificate-authenticated TLS 1.3 handshake can be accepted (see stunnel.ts)",
        "config = SignatureAlgorithms:RSA+SHA256",
        "",
    ].join("\n");
}
