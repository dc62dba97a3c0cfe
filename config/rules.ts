// Pure checks shared by the stack-config and wave-file validation.
import { reservedBy, reservedShortBy } from "./options";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS-1123 label (namespace names, label-like names): lowercase alphanumerics and '-', at most 63 chars. */
export function dns1123LabelError(value: string): string | undefined {
    if (value.length === 0) return "must not be empty";
    if (value.length > 63) return `is ${value.length} characters long; a DNS-1123 label has at most 63`;
    if (!DNS1123_LABEL.test(value)) {
        return "must consist of lowercase letters, digits and '-', and start and end with a letter or digit (DNS-1123 label)";
    }
    return undefined;
}

/** A DNS-1123 subdomain (PVC, storage class, node names, hosts): labels separated by '.', at most 253 chars. */
export function dns1123SubdomainError(value: string): string | undefined {
    if (value.length === 0) return "must not be empty";
    if (value.length > 253) return `is ${value.length} characters long; a DNS-1123 subdomain has at most 253`;
    for (const label of value.split(".")) {
        if (label.length > 63 || !DNS1123_LABEL.test(label)) {
            return "must be lowercase letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit (DNS-1123 subdomain)";
        }
    }
    return undefined;
}

const QUANTITY = /^([+]?)([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;
const SUFFIX: Record<string, number> = {
    "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** Parses a Kubernetes resource quantity ("10Gi", "500m", "1.5", "2e3"); undefined when it is not one. */
export function parseQuantity(value: string): number | undefined {
    const m = QUANTITY.exec(value.trim() === value ? value : "");
    if (!m) return undefined;
    const number = Number(m[2]);
    const suffix = m[4] ?? "";
    const factor = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix];
    return number * factor;
}

// ---------------------------------------------------------------------------------------------------------------
// rsync `extras`: plain options only, passed to rsync as separate argv words (never through a shell).

/** Options that would break the migration, touch the source, or escape the tunnel/daemon set-up. */
const FORBIDDEN_LONG: Record<string, string> = {
    "remove-source-files": "deletes files on the source volume",
    "remove-sent-files": "deletes files on the source volume",
    daemon: "starts an rsync daemon instead of a client",
    rsh: "replaces the transport; data must go through the stunnel tunnel",
    "rsync-path": "runs a different program on the remote side",
    server: "is an internal option of the rsync protocol",
    sender: "is an internal option of the rsync protocol",
    config: "selects a daemon config file",
    dparam: "overrides daemon parameters",
    "remote-option": "passes options to the daemon side",
    "password-file": "is set by dvm from the credentials Secret",
    port: "is set by dvm (the local tunnel port)",
    address: "is set by dvm",
    sockopts: "is set by dvm",
    "dry-run": "copies nothing while reporting success",
    "list-only": "copies nothing while reporting success",
    "only-write-batch": "copies nothing to the destination",
    "write-batch": "writes batch files next to the read-only source",
    "read-batch": "reads a batch file instead of the source",
    "files-from": "reads a list file that does not exist in the transfer pod",
    "exclude-from": "reads a file that does not exist in the transfer pod",
    "include-from": "reads a file that does not exist in the transfer pod",
    "temp-dir": "points outside the destination volume",
    "backup-dir": "points outside the destination volume",
    "log-file": "writes to a file in the read-only transfer pod; rsync output already goes to the pod log",
    "no-recursive": "would skip the contents of every volume",
};
/** Short options with the same effects ('e' = --rsh, 'n' = --dry-run, 'M' = --remote-option). */
const FORBIDDEN_SHORT: Record<string, string> = { e: "rsh", n: "dry-run", M: "remote-option" };

const LONG_OPTION = /^--([a-z0-9][a-z0-9-]*)(=(.*))?$/s;
const SHORT_OPTIONS = /^-([a-zA-Z0-9]+)$/;
/** Characters a shell would interpret; rejected even though dvm never uses a shell, so options stay plain. */
const SHELL_META = /[\s;&|`$<>()\\'"*?[\]{}!#~]/;

/** Why an extra rsync option is not acceptable, or undefined when it is a plain, harmless option. */
export function rsyncExtraError(option: unknown): string | undefined {
    if (typeof option !== "string") return `must be a string, got ${JSON.stringify(option)}`;
    if (option.length === 0) return "must not be empty";
    if (SHELL_META.test(option)) {
        return `${JSON.stringify(option)} contains whitespace or a shell metacharacter; give plain options such as --bwlimit=1000, one per list item`;
    }
    const long = LONG_OPTION.exec(option);
    if (long) {
        const name = long[1];
        if (name.startsWith("dvm-")) return `--${name} is not allowed: options starting --dvm- belong to dvm's rsync-client.sh and are set by dvm (dvm:rsync.sparse, dvm:rsync.inplace)`;
        const row = reservedBy(name);
        if (row) return `--${name} is not allowed: it is set by dvm from dvm:rsync.${row.key}`;
        const reason = Object.prototype.hasOwnProperty.call(FORBIDDEN_LONG, name) ? FORBIDDEN_LONG[name] : undefined;
        return reason ? `--${name} is not allowed: it ${reason}` : undefined;
    }
    const short = SHORT_OPTIONS.exec(option);
    if (short) {
        for (const letter of short[1]) {
            const row = reservedShortBy(letter);
            if (row) return `-${letter} (--${row.reserves![0]}) is not allowed: it is set by dvm from dvm:rsync.${row.key}`;
            const longName = FORBIDDEN_SHORT[letter];
            if (longName) return `-${letter} (--${longName}) is not allowed: it ${FORBIDDEN_LONG[longName]}`;
        }
        return undefined;
    }
    if (!option.startsWith("-")) {
        return `${JSON.stringify(option)} is not an option; extras are rsync options only (sources and destinations are set by dvm)`;
    }
    return `${JSON.stringify(option)} is not a plain rsync option (expected --name, --name=value or -abc)`;
}

const ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"] as const;
export function accessModeError(mode: unknown): string | undefined {
    return typeof mode === "string" && (ACCESS_MODES as readonly string[]).includes(mode)
        ? undefined
        : `${JSON.stringify(mode)} is not an access mode; use one of ${ACCESS_MODES.join(", ")}`;
}
