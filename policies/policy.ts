// The two shapes of a dvm policy. Pod-spec policies apply to every resource that carries a pod spec (Pod,
// Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, PodTemplate, custom resources with
// spec.template.spec, their *Patch and *List forms): a dvm stack creates nothing but transfer pods, and a different
// wrapper kind must not slip past. Stack checks see several resources at once.

import {
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    UnknownValueError,
} from "@pulumi/policy";
import { PackConfig, configOf, schema } from "./config";
import { ContainerRef, PodSpecRef, describe, podSpecsOf } from "./workloads";

export type PodCheck = (ref: PodSpecRef, cfg: PackConfig, report: (msg: string) => void, subject: string) => void;

interface PodPolicyArgs {
    name: string;
    description: string;
    enforcementLevel: EnforcementLevel;
    remediationSteps: string;
    config?: (keyof PackConfig)[];
    check: PodCheck;
}

/** A resource policy judging every pod spec of a resource. */
export function podPolicy(p: PodPolicyArgs): ResourceValidationPolicy {
    return {
        name: p.name,
        description: p.description,
        enforcementLevel: p.enforcementLevel,
        severity: "high",
        remediationSteps: p.remediationSteps,
        configSchema: p.config ? schema(...p.config) : undefined,
        validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
            const refs = podSpecsOf(args.type, args.props);
            if (refs.length === 0) {
                return;
            }
            const cfg = configOf(p.name, args);
            const subject = describe(args.type, args.name, args.props);
            for (const ref of refs) {
                const where = refs.length > 1 ? `${subject} (${ref.path})` : subject;
                p.check(ref, cfg, (msg) => reportViolation(msg), where);
            }
        },
    };
}

/** A container's own securityContext field (not the pod's). */
export const sc = (c: ContainerRef, field: string): any => c.c?.securityContext?.[field];

/** Runs a stack check per resource; values unknown during preview skip that resource and are re-raised at the end
 * (the engine turns that into an advisory "can't run during preview"), after the violations found in the rest. */
export function eachResource(args: StackValidationArgs, fn: (r: PolicyResource) => void): void {
    let firstUnknown: UnknownValueError | undefined;
    for (const r of args.resources) {
        try {
            fn(r);
        } catch (e) {
            if (e instanceof UnknownValueError) {
                firstUnknown = firstUnknown ?? e;
            } else {
                throw e;
            }
        }
    }
    if (firstUnknown) {
        throw firstUnknown;
    }
}
