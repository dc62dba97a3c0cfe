// Flags of the dvm commands: one row per flag (name, value shape, help) drives parsing, the errors and each
// command's --help.
import { parseQuantity } from "../config/rules";

export type FlagValue = "string" | "pass" | "seconds" | "bytes" | "none";

export interface FlagSpec {
    /** `--name`. */
    name: string;
    alias?: string;
    value: FlagValue;
    /** The flag may be given several times (collected in a list). */
    repeat?: boolean;
    /** Shown in --help, e.g. `<stack>`. */
    placeholder?: string;
    help: string;
}

/** What the flags of the commands parse into; each command reads the ones it has. */
export interface Flags {
    stack?: string;
    kubeconfig?: string;
    context?: string;
    namespaces: string[];
    wave?: string;
    /** Follow this pass (default: the stack's dvm:pass when --stack is given). */
    pass?: number;
    interval?: number;
    once: boolean;
    plain: boolean;
    json: boolean;
    /** `dvm status`: read the source cluster now too. */
    live: boolean;
    help: boolean;
    /** discover: the destination cluster (instead of the stack's dvm:destination). */
    destinationKubeconfig?: string;
    destinationContext?: string;
    /** discover: namespaces by label selector. */
    selector?: string;
    /** discover: `source=destination` storage class names. */
    storageClassMap: string[];
    name?: string;
    out?: string;
    maxWaveBytes?: number;
}

const FIELD: Record<string, keyof Flags> = {
    "--stack": "stack", "--kubeconfig": "kubeconfig", "--context": "context", "--namespace": "namespaces", "--wave": "wave",
    "--pass": "pass", "--interval": "interval", "--once": "once", "--plain": "plain", "--json": "json", "--live": "live", "--help": "help",
    "--destination-kubeconfig": "destinationKubeconfig", "--destination-context": "destinationContext", "--selector": "selector",
    "--storage-class-map": "storageClassMap", "--name": "name", "--out": "out", "--max-wave-bytes": "maxWaveBytes",
};

export const FLAGS: Record<string, FlagSpec> = {
    stack: { name: "--stack", alias: "-s", value: "string", placeholder: "<stack>", help: "the stack (cluster pair) whose config names the clusters" },
    kubeconfig: { name: "--kubeconfig", value: "string", placeholder: "<file>", help: "kubeconfig of the source cluster (instead of the stack's dvm:source)" },
    context: { name: "--context", value: "string", placeholder: "<ctx>", help: "context in that kubeconfig" },
    namespace: { name: "--namespace", alias: "-n", value: "string", repeat: true, placeholder: "<ns>", help: "only this source namespace" },
    wave: { name: "--wave", value: "string", placeholder: "<name>", help: "only the Jobs of this wave" },
    pass: { name: "--pass", value: "pass", placeholder: "<n>", help: "follow this pass (default: the stack's dvm:pass)" },
    interval: { name: "--interval", value: "seconds", placeholder: "<seconds>", help: "seconds between reads (default 2 on a terminal, else 10)" },
    once: { name: "--once", value: "none", help: "read once, print, exit (2 when no Job exists yet)" },
    plain: { name: "--plain", value: "none", help: "plain lines instead of progress bars" },
    json: { name: "--json", value: "none", help: "print JSON" },
    live: { name: "--live", value: "none", help: "also read the source cluster now: every workload a cutover left quiesced, wave by wave" },
    help: { name: "--help", alias: "-h", value: "none", help: "show this help" },
    discoverStack: { name: "--stack", alias: "-s", value: "string", placeholder: "<stack>", help: "take both clusters from this stack's dvm:source and dvm:destination" },
    discoverNamespace: { name: "--namespace", alias: "-n", value: "string", repeat: true, placeholder: "<ns>", help: "a source namespace to put into the wave" },
    selector: { name: "--selector", alias: "-l", value: "string", placeholder: "<labels>", help: "the source namespaces with these labels, e.g. team=shop,tier!=test" },
    destinationKubeconfig: { name: "--destination-kubeconfig", value: "string", placeholder: "<file>", help: "kubeconfig of the destination cluster (instead of the stack's dvm:destination)" },
    destinationContext: { name: "--destination-context", value: "string", placeholder: "<ctx>", help: "context of the destination cluster" },
    storageClassMap: { name: "--storage-class-map", value: "string", repeat: true, placeholder: "<src>=<dst>", help: "destination storage class for a source class" },
    name: { name: "--name", value: "string", placeholder: "<wave>", help: "the wave's name (default: the --out file's name, else wave-1)" },
    out: { name: "--out", alias: "-o", value: "string", placeholder: "<file>", help: "write the wave file here (default: stdout); with several waves <file> becomes <name>-1.yaml, ..." },
    maxWaveBytes: { name: "--max-wave-bytes", value: "bytes", placeholder: "<size>", help: "split the namespaces into waves of at most this size (used bytes; capacity where unknown), e.g. 500Gi" },
    checkStack: { name: "--stack", alias: "-s", value: "string", placeholder: "<stack>", help: "the stack whose plan (stack config and wave file) to check (required)" },
};

/** `--name <placeholder>` lines for a command's help. */
export function flagHelp(specs: FlagSpec[]): string {
    const left = specs.map((s) => `${s.alias ? `${s.alias}, ` : "    "}${s.name}${s.placeholder ? ` ${s.placeholder}` : ""}`);
    const width = Math.max(...left.map((l) => l.length));
    return specs.map((s, i) => `  ${left[i].padEnd(width)}  ${s.help}${s.repeat ? " (repeatable)" : ""}`).join("\n");
}

export const DEFAULT_USAGE = "usage: dvm <command> [flags]   (dvm <command> --help for its flags)";

/** Parses argv against the given flags; errors name the flag, say what is wrong and end with `usage`. */
export function parseFlags(argv: string[], specs: FlagSpec[] = Object.values(FLAGS), usage = DEFAULT_USAGE): Flags {
    const f: Flags = { namespaces: [], storageClassMap: [], once: false, plain: false, json: false, live: false, help: false };
    const byName = new Map<string, FlagSpec>();
    for (const s of specs) {
        byName.set(s.name, s);
        if (s.alias) byName.set(s.alias, s);
    }
    const rec = f as unknown as Record<string, unknown>;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const [key, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
        const spec = byName.get(key);
        if (!spec) throw new Error(`unknown argument '${a}'${usage ? `\n${usage}` : ""}`);
        const field = FIELD[spec.name];
        if (spec.value === "none") {
            rec[field] = true;
            continue;
        }
        const v = inline ?? argv[++i];
        if (v === undefined || v === "") throw new Error(`${key} needs a value${usage ? `\n${usage}` : ""}`);
        switch (spec.value) {
            case "pass": {
                const n = Number(v);
                if (!Number.isInteger(n) || n < 1) throw new Error(`--pass must be a whole number >= 1 (the stack's dvm:pass), e.g. --pass 2`);
                rec[field] = n;
                break;
            }
            case "seconds": {
                const n = Number(v);
                if (!(n > 0)) throw new Error(`${spec.name} must be a number of seconds > 0, e.g. ${spec.name} 5`);
                rec[field] = n;
                break;
            }
            case "bytes": {
                const n = /^[0-9]+$/.test(v) ? Number(v) : parseQuantity(v);
                if (n === undefined || !(n > 0)) throw new Error(`${spec.name} must be a size in bytes or a Kubernetes quantity, e.g. ${spec.name} 500Gi`);
                rec[field] = n;
                break;
            }
            default:
                if (spec.repeat) (rec[field] as string[]).push(v);
                else rec[field] = v;
        }
    }
    return f;
}
