// PVCs copied at the same time (dvm:rsync.parallel): rsync's lines of every PVC interleave in one container log, each
// prefixed `[<pvc>] `. An interleaved fixture is built from real serial logs (test/fixtures/rsync/): each PVC's own
// lines in their order, the PVCs' lines taken in turn; parsed, every record must be what the serial log gives.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { EVENTS, PVC_OUTPUT_CLOSE, PVC_OUTPUT_OPEN } from "../../contract";
import { parseTransferLogs } from "../../progress/parser";
import { forEachToken, parseEvent } from "../../progress/parser/tokens";

const DIR = path.join(__dirname, "..", "fixtures", "rsync");
const fixture = (name: string) => fs.readFileSync(path.join(DIR, name), "utf8");
const PVCS = ["postgresql", "uploads"];

/** A serial log rewritten as parallel copies would print it: script lines as they are, rsync output prefixed with
 * its PVC, and the PVCs' lines (from each one's first pvc-start to its last pvc-end) taken in turn. */
export function interleave(serial: string): string {
    const head: string[] = [];
    const tail: string[] = [];
    const streams = new Map<string, string[]>();
    let current: string | undefined;
    let started = false;
    forEachToken(serial, (t) => {
        if (t.text !== undefined) {
            if (current) streams.get(current)!.push(`${PVC_OUTPUT_OPEN}${current}${PVC_OUTPUT_CLOSE}${t.text}`);
            else (started ? tail : head).push(t.text);
        }
        if (t.event) {
            const ev = parseEvent(t.event);
            const pvc = ev?.fields.pvc;
            if (ev?.event === EVENTS.pvcStart && pvc) {
                started = true;
                current = pvc;
                if (!streams.has(pvc)) streams.set(pvc, []);
            }
            if (pvc && streams.has(pvc)) streams.get(pvc)!.push(t.event);
            else (started ? tail : head).push(t.event);
            if (ev?.event === EVENTS.pvcEnd) current = undefined;
        }
    });
    const merged: string[] = [];
    const lists = [...streams.values()];
    for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) merged.push(l[i]);
    return [...head, ...merged, ...tail].join("\n") + "\n";
}

const fields = (r: Record<string, unknown>) => {
    const { phase, attempts, exitCode, reason, transferredBytes, totalProgressPercentage } = r;
    return { phase, attempts, exitCode, reason, transferredBytes, totalProgressPercentage };
};

describe("progress parser: PVCs copied at the same time, lines prefixed with their PVC", () => {
    for (const name of ["local-complete.log", "local-retried.log", "local-failed-nospace.log", "dataplane-first-pass.log"]) {
        it(`${name}: interleaved, every PVC's record is the serial log's`, () => {
            const serial = fixture(name);
            const parallel = interleave(serial);
            // the rewrite really interleaves: a line of the second PVC comes before the first PVC's last line
            const lines = parallel.split("\n");
            const names = [...new Set(lines.map((l) => /^\[([a-z0-9.-]+)\] /.exec(l)?.[1]).filter(Boolean))];
            if (names.length > 1) {
                const lastOfFirst = lines.map((l) => l.startsWith(`[${names[0]}] `)).lastIndexOf(true);
                const firstOfSecond = lines.findIndex((l) => l.startsWith(`[${names[1]}] `));
                assert.ok(firstOfSecond < lastOfFirst, "the fixture interleaves the PVCs' lines");
            }
            const a = parseTransferLogs(serial, { pvcs: PVCS, now: 0 });
            const b = parseTransferLogs(parallel, { pvcs: PVCS, now: 0 });
            assert.deepStrictEqual(Object.keys(b.pvcs), Object.keys(a.pvcs));
            for (const pvc of Object.keys(a.pvcs)) {
                assert.deepStrictEqual(fields(b.pvcs[pvc] as never), fields(a.pvcs[pvc] as never), `${name}: ${pvc}`);
            }
            assert.strictEqual(b.doneExit, a.doneExit);
        });
    }

    it("without the prefix the same interleaving mixes the PVCs up (the prefix is what keeps them apart)", () => {
        const serial = fixture("local-complete.log");
        const unprefixed = interleave(serial).replace(/^\[[a-z0-9.-]+\] /gm, "");
        const a = parseTransferLogs(serial, { pvcs: PVCS, now: 0 });
        const b = parseTransferLogs(unprefixed, { pvcs: PVCS, now: 0 });
        assert.notDeepStrictEqual(PVCS.map((p) => b.pvcs[p].transferredBytes), PVCS.map((p) => a.pvcs[p].transferredBytes));
    });

    it("a prefix naming a PVC that never started is not a new record", () => {
        const out = parseTransferLogs("dvm: tunnel-up after=0\n[ghost] 1,000 100% 1.00MB/s 0:00:01 (xfr#1, to-chk=0/1)\n", { pvcs: PVCS, now: 0 });
        assert.deepStrictEqual(Object.keys(out.pvcs), PVCS);
    });
});
