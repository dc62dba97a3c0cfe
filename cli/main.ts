// The dvm command line: `dvm <command> [flags]`, each command with its own flags and --help. Runs as compiled
// JavaScript (npm run build -> build/cli/main.js, started by bin/dvm.js).
import { check } from "./check";
import { discover } from "./discover";
import { DEFAULT_USAGE, FlagSpec, FLAGS, flagHelp, Flags, parseFlags } from "./flags";
import { status } from "./status";
import { watch } from "./watch";

interface Command {
    name: string;
    synopsis: string;
    description: string;
    flags: FlagSpec[];
    /** `err`: notes and warnings (stdout may be a wave file); `argv`: the command's own arguments. */
    run(f: Flags, out: NodeJS.WriteStream, err: NodeJS.WritableStream, argv: string[]): Promise<number> | number;
}

const COMMANDS: Command[] = [
    {
        name: "watch",
        synopsis: "live progress of the source transfer Jobs",
        description: "One progress bar per PVC while `pulumi up` runs (plain lines when not a terminal). The source cluster\n" +
            "comes from the flags, else from the stack config dvm:source (pulumi config get), else from\nKUBECONFIG / ~/.kube/config.",
        flags: [FLAGS.stack, FLAGS.kubeconfig, FLAGS.context, FLAGS.namespace, FLAGS.wave, FLAGS.pass, FLAGS.interval, FLAGS.once, FLAGS.plain, FLAGS.help],
        run: watch,
    },
    {
        name: "status",
        synopsis: "the progress table recorded in the stack output 'migration'",
        description: "Reads `pulumi stack output --json migration` of the stack: per PVC, and per namespace the migration mode and the\n" +
            "source workloads a cutover quiesced (saved value, value now). --live also reads the source cluster (flags, else the\n" +
            "stack's dvm:source): every workload that carries dvm's saved values, wave by wave. Exit 1 when a PVC failed.",
        flags: [FLAGS.stack, FLAGS.json, FLAGS.live, FLAGS.kubeconfig, FLAGS.context, FLAGS.help],
        run: (f, out) => status(f, out),
    },
    {
        name: "discover",
        synopsis: "write a reviewable wave file from the source cluster",
        description: "Lists every Bound PVC of the namespaces (--namespace, --selector) with its status capacity, access modes and a\n" +
            "destination storage class (--storage-class-map, else the same name, else the same provisioner, else the\n" +
            "destination's default), and comments for the reviewer: the rule that chose the class, the workloads that mount\n" +
            "the PVC and the node of their pod, used bytes from the kubelet. Block PVCs are listed commented out; PVCs dvm\n" +
            "created are left out. The clusters come from --stack, or --kubeconfig/--context (source) and\n" +
            "--destination-kubeconfig/--destination-context; without a destination the classes are not checked. Reads only.",
        flags: [FLAGS.discoverStack, FLAGS.kubeconfig, FLAGS.context, FLAGS.destinationKubeconfig, FLAGS.destinationContext, FLAGS.discoverNamespace, FLAGS.selector,
            FLAGS.storageClassMap, FLAGS.name, FLAGS.out, FLAGS.maxWaveBytes, FLAGS.help],
        run: (f, out, err, argv) => discover(f, out, err, argv),
    },
    {
        name: "check",
        synopsis: "pre-flight of a stack's whole plan against both clusters, creating nothing",
        description: "Loads the plan as `pulumi up` does, then checks: both API servers answer; every verb on every kind the program\n" +
            "uses is allowed (SelfSubjectAccessReview); destination storage classes exist; existing destination PVCs fit;\n" +
            "ResourceQuotas leave room; the endpoint type is possible; Pod Security admits the privilege mode; the transfer\n" +
            "image is pinned by digest. Prints ok / WARN / FAIL with a fix per problem; exit 1 on any FAIL.",
        flags: [FLAGS.checkStack, FLAGS.json, FLAGS.help],
        run: (f, out) => check(f, out),
    },
];

function synopsisLine(c: Command): string {
    return `dvm ${c.name} ${c.flags.filter((s) => s !== FLAGS.help).map((s) => `[${s.name}${s.placeholder ? ` ${s.placeholder}` : ""}]${s.repeat ? "..." : ""}`).join(" ")}`;
}

export function commandHelp(c: Command): string {
    return `usage: ${synopsisLine(c)}\n\n${c.synopsis}.\n${c.description}\n\nflags:\n${flagHelp(c.flags)}`;
}

export const USAGE = `${DEFAULT_USAGE}\n\ncommands:\n${
    COMMANDS.map((c) => `  ${c.name.padEnd(8)}  ${c.synopsis}`).join("\n")}`;

export async function main(argv: string[], out: NodeJS.WriteStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
    const [cmd, ...rest] = argv;
    if (cmd === undefined || cmd === "help" || cmd === "--help" || cmd === "-h") {
        out.write(`${USAGE}\n`);
        return cmd === undefined ? 2 : 0;
    }
    const command = COMMANDS.find((c) => c.name === cmd);
    if (!command) throw new Error(`unknown command '${cmd}'\n${USAGE}`);
    const flags = parseFlags(rest, command.flags, `usage: ${synopsisLine(command)}`);
    if (flags.help) {
        out.write(`${commandHelp(command)}\n`);
        return 0;
    }
    return command.run(flags, out, err, rest);
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => { process.exitCode = code; },
        (err) => { process.stderr.write(`dvm: ${err && err.message ? err.message : err}\n`); process.exitCode = 1; },
    );
}
