// Kubernetes resource quantities ("10Gi", "500M", "1.5Ti", "1e9"), compared exactly (no floating point).

/** A non-negative quantity as the exact fraction num/den. */
export interface Quantity {
    num: bigint;
    den: bigint;
}

const BINARY: Record<string, bigint> = {
    Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n,
};
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const QUANTITY = /^\+?(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|n|u|m|k|M|G|T|P|E)?$/;

/** Parses a quantity; undefined when it is not one (negative quantities are not capacities either). */
export function parseQuantity(text: unknown): Quantity | undefined {
    if (typeof text === "number" && Number.isFinite(text) && text >= 0) {
        text = String(text);
    }
    if (typeof text !== "string") {
        return undefined;
    }
    const m = QUANTITY.exec(text.trim());
    if (!m) {
        return undefined;
    }
    const [intPart, fracPart = ""] = m[1].split(".");
    let num = BigInt((intPart || "0") + fracPart);
    let den = 10n ** BigInt(fracPart.length);
    const suffix = m[2] ?? "";
    let exp = 0;
    if (suffix in BINARY) {
        num *= BINARY[suffix];
    } else if (/^[eE]/.test(suffix)) {
        exp = Number(suffix.slice(1));
    } else {
        exp = DECIMAL[suffix];
    }
    if (exp >= 0) {
        num *= 10n ** BigInt(exp);
    } else {
        den *= 10n ** BigInt(-exp);
    }
    return { num, den };
}

/** -1, 0 or 1 as a < b, a = b, a > b. */
export function compareQuantities(a: Quantity, b: Quantity): number {
    const l = a.num * b.den;
    const r = b.num * a.den;
    return l < r ? -1 : l > r ? 1 : 0;
}
