// Pure checks shared by the stack-config and wave-file validation.
import { isIP } from "net";
import { EXTRA_VALUE_SHAPES, EXTRAS, ExtraOptionRow, extraRow, REFUSED_EXTRAS, refusedExtra, reservedBy, reservedShortBy } from "./options";

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

/** An IPv4 or IPv6 CIDR (`203.0.113.0/24`, `2001:db8::/32`): why not, or undefined. */
export function cidrError(value: unknown): string | undefined {
    const m = typeof value === "string" ? /^([^/]+)\/([0-9]{1,3})$/.exec(value) : null;
    const family = m ? isIP(m[1]) : 0;
    const bits = m ? Number(m[2]) : NaN;
    if (!m || family === 0 || bits > (family === 4 ? 32 : 128)) {
        return `${JSON.stringify(value)} is not a CIDR (an IPv4 or IPv6 address with a prefix length, e.g. 203.0.113.0/24 or 2001:db8::/48)`;
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
// rsync `extras`: options of the allow-list (config/options.ts EXTRAS) with values of their shape, passed to rsync as
// separate argv words (never through a shell).

const LONG_OPTION = /^--([a-zA-Z0-9][a-zA-Z0-9-]*)(=(.*))?$/s;
const SHORT_OPTIONS = /^-([a-zA-Z0-9])(.*)$/s;
/** Characters a shell would interpret; rejected even though dvm never uses a shell, so options stay plain. */
const SHELL_META = /[\s;&|`$<>()\\'"*?[\]{}!#~]/;

const HINT = "see the extras tables of docs/configuration.md";

/** Why a value does not fit an accepted extra, or undefined. */
function valueError(row: ExtraOptionRow, shown: string, value: string | undefined): string | undefined {
    if (!row.value) {
        return value === undefined ? undefined : `${shown} takes no value, got ${JSON.stringify(value)}`;
    }
    const shape = EXTRA_VALUE_SHAPES[row.value];
    if (value === undefined || value === "") {
        // rsync would take dvm's own next word (e.g. --exclude=/lost+found) as the value
        return `${shown} needs its value in the same item (${row.short && shown === `-${row.short}` ? `-${row.short}<value>` : `--${row.long}=<value>`}): ${shape.shows}; on its own rsync would take dvm's next word as the value`;
    }
    return shape.re.test(value) ? undefined : `${shown}: ${JSON.stringify(value)} is not ${shape.shows}`;
}

/** Why a long option (name without `--`) may not be an extra, or undefined. */
function longError(name: string, value: string | undefined): string | undefined {
    if (name.startsWith("dvm-")) return `--${name} is not allowed: options starting --dvm- belong to dvm's rsync-client.sh and are set by dvm (dvm:rsync.sparse, dvm:rsync.inplace)`;
    const row = reservedBy(name);
    if (row) return `--${name} is not allowed: it is set by dvm from dvm:rsync.${row.key}`;
    const refused = REFUSED_EXTRAS.find((r) => r.long === name);
    if (refused) return `--${name} is not allowed: it ${refused.why}`;
    const negated = /^no-(.+)$/.exec(name);
    if (negated) {
        // rsync's --no-<option> and --no-<letter> forms
        const target = extraRow(negated[1]);
        const refusedTarget = refusedExtra(negated[1]);
        if (target?.negatable) return value === undefined ? undefined : `--${name} takes no value, got ${JSON.stringify(value)}`;
        if (refusedTarget) return `--${name} is not allowed: it switches off --${refusedTarget.long}, which extras may not set either`;
        if (target) return `--${name} is not allowed: switching off --${target.long} is not on the extras allow-list (${HINT})`;
        return `--${name} is not an rsync option dvm accepts as an extra (${HINT})`;
    }
    const accepted = name.length > 1 ? EXTRAS.find((r) => r.long === name) : undefined;
    if (!accepted) return `--${name} is not on the allow-list of extras (${HINT})`;
    return valueError(accepted, `--${name}`, value);
}

/** Why an extra rsync option is not acceptable, or undefined when it is on the allow-list with a valid value. */
export function rsyncExtraError(option: unknown): string | undefined {
    if (typeof option !== "string") return `must be a string, got ${JSON.stringify(option)}`;
    if (option.length === 0) return "must not be empty";
    if (SHELL_META.test(option)) {
        return `${JSON.stringify(option)} contains whitespace or a shell metacharacter; give plain options such as --bwlimit=1000, one per list item`;
    }
    const long = LONG_OPTION.exec(option);
    if (long) return longError(long[1], long[2] === undefined ? undefined : long[3]);
    const short = SHORT_OPTIONS.exec(option);
    const first = short ? EXTRAS.find((r) => r.short === short[1]) : undefined;
    // a short option with a value takes the rest of the word: -B131072
    if (short && first?.value) return valueError(first, `-${short[1]}`, short[2] || undefined);
    if (short && /^[a-zA-Z0-9]+$/.test(option.slice(1))) {
        const letters = [...option.slice(1)];
        // a reserved or refused letter anywhere in the group is the reason, before any unknown one
        for (const letter of letters) {
            const row = reservedShortBy(letter);
            if (row) return `-${letter} (--${row.reserves![0]}) is not allowed: it is set by dvm from dvm:rsync.${row.key}`;
        }
        // the first refusal of the table (the worst: transport and the source first), wherever its letter stands
        const refused = REFUSED_EXTRAS.find((r) => r.short !== undefined && letters.includes(r.short));
        if (refused) return `-${refused.short}${refused.long.length > 1 ? ` (--${refused.long})` : ""} is not allowed: it ${refused.why}`;
        for (let i = 0; i < letters.length; i++) {
            const row = EXTRAS.find((r) => r.short === letters[i]);
            if (!row) return `-${letters[i]} is not on the allow-list of extras (${HINT})`;
            if (row.value) return `-${letters[i]} takes a value: give it as its own item, -${letters[i]}<value>`;
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
