// components/wave.ts withoutPromiseStacks: the wave is declared with V8 recording no stack frames (Pulumi's per-promise
// stacks cost about half the construction time of a large wave), the limit comes back afterwards, an error thrown
// meanwhile says how to get its frames, and PULUMI_DEBUG_PROMISE_LEAKS keeps them.
import * as assert from "assert";
import { withoutPromiseStacks } from "../../components/wave";

describe("wave: no promise stacks while the wave is declared", () => {
    const saved = process.env.PULUMI_DEBUG_PROMISE_LEAKS;
    afterEach(() => {
        if (saved === undefined) delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
        else process.env.PULUMI_DEBUG_PROMISE_LEAKS = saved;
    });

    it("records no frames inside, restores the limit after, and returns the result", () => {
        delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
        const before = Error.stackTraceLimit;
        const inside = withoutPromiseStacks(() => ({ limit: Error.stackTraceLimit, stack: new Error("x").stack }));
        assert.strictEqual(inside.limit, 0);
        assert.strictEqual(inside.stack, "Error: x");
        assert.strictEqual(Error.stackTraceLimit, before);
        assert.match(new Error("y").stack!, /\n\s+at /, "frames again after");
    });

    it("an error thrown inside is rethrown with a note on how to get its frames; the limit is restored", () => {
        delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
        const before = Error.stackTraceLimit;
        assert.throws(() => withoutPromiseStacks(() => { throw new Error("broken"); }), (e: Error) => {
            assert.strictEqual(e.message, "broken");
            assert.match(e.stack!, /^Error: broken\n.*PULUMI_DEBUG_PROMISE_LEAKS=1 records them/);
            return true;
        });
        assert.strictEqual(Error.stackTraceLimit, before);
    });

    it("PULUMI_DEBUG_PROMISE_LEAKS set: frames are recorded as usual", () => {
        process.env.PULUMI_DEBUG_PROMISE_LEAKS = "1";
        const stack = withoutPromiseStacks(() => new Error("z").stack!);
        assert.match(stack, /\n\s+at /);
    });
});
