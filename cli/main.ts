// The dvm command line: `dvm <command> [flags]`, each command with its own flags and --help. Runs as compiled
// JavaScript (npm run build -> build/cli/main.js, started by bin/dvm.js).
import { DEFAULT_USAGE, FlagSpec, FLAGS, flagHelp, Flags, parseFlags } from "./flags";
import { status } from "./status";
import { watch } from "./watch";

interface Command {
    name: string;
    synopsis: string;
    description: string;
    flags: FlagSpec[];
    run(f: Flags, out: NodeJS.WriteStream): Promise<number> | number;
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
];

function synopsisLine(c: Command): string {
    return `dvm ${c.name} ${c.flags.filter((s) => s !== FLAGS.help).map((s) => `[${s.name}${s.placeholder ? ` ${s.placeholder}` : ""}]${s.repeat ? "..." : ""}`).join(" ")}`;
}

export function commandHelp(c: Command): string {
    return `usage: ${synopsisLine(c)}\n\n${c.synopsis}.\n${c.description}\n\nflags:\n${flagHelp(c.flags)}`;
}

export const USAGE = `${DEFAULT_USAGE}\n\ncommands:\n${
    COMMANDS.map((c) => `  ${c.name.padEnd(8)}  ${c.synopsis}`).join("\n")}`;

export async function main(argv: string[], out: NodeJS.WriteStream = process.stdout): Promise<number> {
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
    return command.run(flags, out);
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => { process.exitCode = code; },
        (err) => { process.stderr.write(`dvm: ${err && err.message ? err.message : err}\n`); process.exitCode = 1; },
    );
}
