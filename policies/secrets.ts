// Key material lives in Secrets: no ConfigMap carries a credentials file or anything shaped like a key.

import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { RSYNC_USER, SECRET_DIR, SECRET_FILE_NAMES } from "../contract";
import { describe, isObject, kindOf } from "./workloads";

/** What key material looks like, by the file formats the transfer pods use. */
const KEY_MATERIAL: { what: string; re: RegExp }[] = [
    { what: "a PEM private key", re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/ },
    { what: "a stunnel PSK line (identity:hex key)", re: /^[ \t]*[^\s:#;=]+:[0-9A-Fa-f]{32,}[ \t]*$/m },
    { what: `an rsyncd secrets line (${RSYNC_USER}:password)`, re: new RegExp(`^[ \\t]*${RSYNC_USER}:\\S+[ \\t]*$`, "m") },
    { what: "a bare hex key or password line", re: /^[ \t]*[0-9A-Fa-f]{32,}[ \t]*$/m },
];

export const configMapNoKeyMaterial = {
    name: "configmap-no-key-material",
    description: "No ConfigMap carries key material (private keys, PSK lines, rsyncd secrets); it belongs in a Secret.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Move the value into the credentials Secret and reference it by path.",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const kind = kindOf(args.type);
        if (kind !== "ConfigMap" && kind !== "ConfigMapPatch") {
            return;
        }
        const subject = describe(args.type, args.name, args.props);
        const fix = `Fix: put it in the credentials Secret (mounted at ${SECRET_DIR}) and reference the file by path; ` +
            "rotate the exposed credentials (bump dvm:credentialsVersion).";
        for (const field of ["data", "binaryData"]) {
            const data = args.props[field];
            if (!isObject(data)) {
                continue;
            }
            for (const key of Object.keys(data)) {
                const raw = data[key];
                if (typeof raw !== "string") {
                    continue;
                }
                const text = field === "binaryData" ? Buffer.from(raw, "base64").toString("latin1") : raw;
                // Never echo the value: the message ends up in logs.
                if ((SECRET_FILE_NAMES as readonly string[]).includes(key)) {
                    reportViolation(`${subject}: ${field} key "${key}" is a credentials file. ${fix}`);
                    continue;
                }
                const hit = KEY_MATERIAL.find((k) => k.re.test(text));
                if (hit) {
                    reportViolation(`${subject}: ${field} key "${key}" contains ${hit.what}. ${fix}`);
                }
            }
        }
    },
} satisfies ResourceValidationPolicy;
