// Configuration errors: every problem names where it is (a config key such as `dvm:rsync.extras[0]`, or a wave-file
// path such as `waves/wave-1.yaml: namespaces[0].pvcs[1].capacity`), says what is wrong, and shows a valid example.

export interface Problem {
    /** `dvm:<key path>` for stack config, `<file>: <yaml path>` for the wave file. */
    where: string;
    what: string;
    example: string;
}

export class ConfigError extends Error {
    constructor(public readonly problems: Problem[]) {
        super(formatProblems(problems));
        this.name = "ConfigError";
    }
}

export function formatProblems(problems: Problem[]): string {
    const n = problems.length;
    const lines = [`dvm: ${n} configuration problem${n === 1 ? "" : "s"}; nothing was created or changed:`];
    for (const p of problems) {
        lines.push(`  - ${p.where}: ${p.what}`);
        lines.push(`      valid example: ${p.example.split("\n").join("\n                     ")}`);
    }
    return lines.join("\n");
}

/** Collects problems while validation walks the input; `throwIfAny` raises one error listing all of them. */
export class Problems {
    readonly list: Problem[] = [];
    add(where: string, what: string, example: string): void {
        this.list.push({ where, what, example });
    }
    throwIfAny(): void {
        if (this.list.length > 0) {
            throw new ConfigError(this.list);
        }
    }
}

/** Closest candidate by edit distance, for "did you mean" hints on typos. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const c of candidates) {
        const d = editDistance(word.toLowerCase(), c.toLowerCase());
        if (d < bestDistance) {
            best = c;
            bestDistance = d;
        }
    }
    return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let prev = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const tmp = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
            prev = tmp;
        }
    }
    return row[b.length];
}
