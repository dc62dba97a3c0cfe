// `dvm check --stack <stack>`: loads the plan exactly as `pulumi up` would (stack config + wave file, the same
// validation) and checks it against both clusters, creating nothing. Prints a table of ok / warn / fail (or --json);
// exit 1 on any failure.
import type { KubeConfig } from "@kubernetes/client-node";
import { loadPlan } from "../../config/load";
import { Plan } from "../../config/plan";
import { kubeConfig } from "../../kube";
import { Flags } from "../flags";
import { projectDir, readStackConfig } from "../stack";
import { CheckClusters, CheckResult, runChecks } from "./checks";

/** The table `dvm check` prints: one line per result, the fix under each failure and warning. */
export function checkTable(results: CheckResult[], heading: string): string {
    const rows = results.map((r) => [r.status === "ok" ? "ok" : r.status === "warn" ? "WARN" : "FAIL", r.cluster, r.check, r.subject, r.detail]);
    const header = ["RESULT", "CLUSTER", "CHECK", "SUBJECT", "DETAIL"];
    const widths = header.slice(0, 4).map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => (i < 4 ? c.padEnd(widths[i]) : c)).join("  ").trimEnd();
    const indent = " ".repeat(widths[0] + 2);
    const out = [heading, line(header)];
    results.forEach((r, i) => {
        out.push(line(rows[i]));
        if (r.fix && r.status !== "ok") out.push(`${indent}fix: ${r.fix}`);
    });
    const n = (s: CheckResult["status"]) => results.filter((r) => r.status === s).length;
    out.push("", `${n("ok")} ok, ${n("warn")} warning${n("warn") === 1 ? "" : "s"}, ${n("fail")} failure${n("fail") === 1 ? "" : "s"}${n("fail") ? ": `pulumi up` would fail; fix the FAIL lines first" : ""}`);
    return out.join("\n");
}

function clusterConfig(plan: Plan, side: "source" | "destination", baseDir: string): { kc?: KubeConfig; error?: string } {
    try {
        return { kc: kubeConfig(plan[side], { baseDir, what: `dvm:${side}`, cluster: side }) };
    } catch (e) {
        return { error: (e as Error).message };
    }
}

export async function check(f: Flags, out: NodeJS.WritableStream): Promise<number> {
    if (!f.stack) throw new Error("--stack is required: the stack whose plan (dvm:* config and its wave file) to check; example: dvm check --stack my-pair");
    const dir = projectDir();
    const plan = loadPlan({ config: readStackConfig(f.stack), projectDir: dir });
    const clusters: CheckClusters = { source: clusterConfig(plan, "source", dir), destination: clusterConfig(plan, "destination", dir) };
    const results = await runChecks(plan, clusters);
    const failed = results.some((r) => r.status === "fail");
    if (f.json) {
        const counts = { ok: 0, warn: 0, fail: 0 };
        for (const r of results) counts[r.status]++;
        out.write(`${JSON.stringify({ stack: f.stack, wave: plan.wave, ok: !failed, counts, results }, null, 2)}\n`);
    } else {
        const pvcs = plan.namespaces.reduce((n, ns) => n + ns.pvcs.length, 0);
        out.write(`${checkTable(results, `dvm check: stack ${f.stack}, wave ${plan.wave.name} (${plan.wave.file}): ${plan.namespaces.length} namespace${plan.namespaces.length === 1 ? "" : "s"}, ${pvcs} PVC${pvcs === 1 ? "" : "s"}; nothing is created or changed`)}\n`);
    }
    return failed ? 1 : 0;
}
