// What the default pack refuses beyond the basic privilege rules: root's group through runAsGroup, fsGroup or
// supplementalGroups; SELinux types other than container types; AppArmor Unconfined; an unmasked /proc; sysctls;
// volumes the pod reaches by itself (nfs, iscsi); images that are not pinned by digest. Each is a crafted pod that
// would pass a pack without the rule.
import { strict as assert } from "node:assert";
import * as P from "../../policies/policies";
import { ConfigError } from "../../config/errors";
import { validateStackConfig } from "../../config/stack";
import { allViolations, destinationDeployment, edit, Obj, readConfigFile, sourceJob, validate, wave } from "../support/policies-fixtures";

const dep = () => destinationDeployment("app-1");
const job = () => sourceJob("app-1");
const pod = (p: any) => p.spec.template.spec;

/** The crafted wave's violations of the whole default pack, by policy name. */
async function caught(o: Obj): Promise<string[]> {
    const objs = wave("nonroot").map((x) => (x.name === o.name ? o : x));
    return [...new Set((await allViolations(objs)).map((m) => m.split(":")[0]))];
}

describe("policy pack: gaps a crafted pod could use", () => {
    it("group 0 via runAsGroup, fsGroup or supplementalGroups is refused unless root is allowed", async () => {
        const cases: [Obj, RegExp][] = [
            [edit(dep(), (p) => { pod(p).securityContext.runAsGroup = 0; }), /runAsGroup: 0/],
            [edit(dep(), (p) => { pod(p).containers[1].securityContext.runAsGroup = 0; }), /container "stunnel": runs with group 0/],
            [edit(dep(), (p) => { pod(p).securityContext.fsGroup = 0; }), /fsGroup is 0/],
            [edit(job(), (p) => { pod(p).securityContext.supplementalGroups = [5555, 0]; }), /supplementalGroups holds 0/],
        ];
        for (const [o, why] of cases) {
            assert.deepEqual(await caught(o), ["transfer-run-as-non-root"], String(why));
            assert.match((await validate(P.transferRunAsNonRoot, o)).join("\n"), why);
            assert.deepEqual(await validate(P.transferRunAsNonRoot, o, readConfigFile("root.json")), []);
        }
        // and the config no longer accepts it for a non-root transfer
        const base = { source: { context: "s" }, destination: { context: "d", endpoint: { type: "clusterIP" } }, wave: "w.yaml" };
        for (const [security, where] of [[{ runAsGroup: 0 }, "dvm:security.runAsGroup"], [{ targetSupplementalGroups: [6, 0] }, "dvm:security.targetSupplementalGroups[1]"],
            [{ sourceSupplementalGroups: [0] }, "dvm:security.sourceSupplementalGroups[0]"]] as const) {
            assert.throws(() => validateStackConfig({ ...base, security }), (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.where === where), where);
        }
        assert.equal(validateStackConfig({ ...base, security: { runAsRoot: true, runAsGroup: 0 } }).security.runAsGroup, 0);
    });

    it("SELinux types other than container types (unconfined_t), and a SELinux user or role", async () => {
        for (const o of [
            edit(dep(), (p) => { pod(p).securityContext.seLinuxOptions = { type: "unconfined_t" }; }),
            edit(job(), (p) => { pod(p).containers[0].securityContext.seLinuxOptions = { type: "kernel_t" }; }),
            edit(job(), (p) => { pod(p).containers[0].securityContext.seLinuxOptions = { user: "system_u", role: "system_r" }; }),
        ]) {
            assert.deepEqual(await caught(o), ["transfer-selinux-options"]);
        }
        const ok = edit(dep(), (p) => { pod(p).securityContext.seLinuxOptions = { type: "container_t", level: "s0:c1,c2" }; });
        assert.deepEqual(await caught(ok), []);
        // spc_t stays the super-privileged rule's
        assert.deepEqual(await validate(P.transferSelinuxOptions, wave("super").find((x) => x.name === "app-3-destination") ?? destinationDeployment("app-1", "super")), []);
    });

    it("AppArmor Unconfined, by field or by the beta annotation", async () => {
        for (const o of [
            edit(dep(), (p) => { pod(p).securityContext.appArmorProfile = { type: "Unconfined" }; }),
            edit(job(), (p) => { pod(p).containers[1].securityContext.appArmorProfile = { type: "Unconfined" }; }),
            edit(job(), (p) => { p.spec.template.metadata.annotations = { "container.apparmor.security.beta.kubernetes.io/rsync": "unconfined" }; }),
        ]) {
            assert.deepEqual(await caught(o), ["transfer-apparmor"]);
        }
        assert.deepEqual(await caught(edit(dep(), (p) => { pod(p).securityContext.appArmorProfile = { type: "RuntimeDefault" }; })), []);
    });

    it("procMount Unmasked, sysctls", async () => {
        assert.deepEqual(await caught(edit(dep(), (p) => { pod(p).containers[0].securityContext.procMount = "Unmasked"; })), ["transfer-proc-mount"]);
        assert.deepEqual(await caught(edit(dep(), (p) => { pod(p).containers[0].securityContext.procMount = "Default"; })), []);
        assert.deepEqual(await caught(edit(job(), (p) => { pod(p).securityContext.sysctls = [{ name: "kernel.shm_rmid_forced", value: "0" }]; })), ["transfer-no-sysctls"]);
    });

    it("nfs and iscsi volumes", async () => {
        const nfs = edit(job(), (p) => { pod(p).volumes.push({ name: "nas", nfs: { server: "192.0.2.5", path: "/exports/all" } }); });
        assert.deepEqual(await caught(nfs), ["transfer-volume-types"]);
        const iscsi = edit(dep(), (p) => { pod(p).volumes.push({ name: "lun", iscsi: { targetPortal: "192.0.2.6:3260", iqn: "iqn.2001-04.com.example:x", lun: 0 } }); });
        assert.match((await validate(P.transferVolumeTypes, iscsi)).join(""), /"lun" is a iscsi volume/);
        assert.deepEqual(await caught(iscsi), ["transfer-volume-types"]);
    });

    it("images not pinned by digest", async () => {
        for (const image of ["quay.io/konveyor/rsync-transfer:latest", "quay.io/dvm/transfer", "x@sha256:abc"]) {
            const o = edit(job(), (p) => { pod(p).containers[0].image = image; });
            assert.deepEqual(await caught(o), ["transfer-image-pinned"], image);
            assert.match((await validate(P.transferImagePinned, o)).join(""), /dvm:transferImage/);
        }
    });
});

describe("policy pack: the documented default", () => {
    it("every `pulumi up` / `pulumi preview` command in the docs and example stacks runs the pack", () => {
        const fs = require("node:fs") as typeof import("node:fs");
        const path = require("node:path") as typeof import("node:path");
        const root = path.join(__dirname, "..", "..");
        const files = ["README.md", ...fs.readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
            ...fs.readdirSync(path.join(root, "stacks")).map((f) => `stacks/${f}`), "hack/clusters/demo/Pulumi.local.yaml"];
        const commands: string[] = [];
        for (const f of files) {
            for (const [i, line] of fs.readFileSync(path.join(root, f), "utf8").split("\n").entries()) {
                // a command line (in a code block or a stack file's comment), not prose that names the command
                if (/^\s*(#\s*)?(\$\s*)?pulumi (up|preview)\b/.test(line)) {
                    commands.push(line);
                    assert.match(line, /--policy-pack policies/, `${f}:${i + 1} runs pulumi without the policy pack: ${line.trim()}`);
                }
            }
        }
        assert.ok(commands.length >= 4, `found only ${commands.length} commands`);
    });
});
