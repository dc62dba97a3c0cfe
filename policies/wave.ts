// Wave shape: every destination PVC holds what the wave file asks for, and each namespace has exactly one transfer
// pod per side.

import {
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { ANNOTATIONS, LABELS, ROLE_DESTINATION, ROLE_SOURCE } from "../contract";
import { eachResource } from "./policy";
import { compareQuantities, parseQuantity } from "./quantity";
import { describe, kindOf, podSpecsOf } from "./workloads";

const ANNOTATION_REQUESTED_CAPACITY = ANNOTATIONS.requestedCapacity;

export const pvcCapacityCoversWave = {
    name: "pvc-capacity-covers-wave",
    description: `Every destination PVC requests at least the capacity the wave file asks for (${ANNOTATION_REQUESTED_CAPACITY}).`,
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Make spec.resources.requests.storage >= the wave file's capacity for that PVC.",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (kindOf(args.type) !== "PersistentVolumeClaim") {
            return;
        }
        const subject = describe(args.type, args.name, args.props);
        const wanted = args.props.metadata?.annotations?.[ANNOTATION_REQUESTED_CAPACITY];
        const storage = args.props.spec?.resources?.requests?.storage;
        if (wanted === undefined) {
            reportViolation(`${subject}: has no ${ANNOTATION_REQUESTED_CAPACITY} annotation, so its size cannot be ` +
                `checked against the wave file. Fix: annotate it with the wave file's capacity, e.g. ` +
                `metadata.annotations["${ANNOTATION_REQUESTED_CAPACITY}"]: "10Gi".`);
            return;
        }
        const want = parseQuantity(wanted);
        if (!want) {
            reportViolation(`${subject}: annotation ${ANNOTATION_REQUESTED_CAPACITY} is ${JSON.stringify(wanted)}, ` +
                `not a Kubernetes quantity. Fix: use the wave file's capacity, e.g. "10Gi".`);
            return;
        }
        const have = parseQuantity(storage);
        if (!have) {
            reportViolation(`${subject}: spec.resources.requests.storage is ${storage === undefined ? "not set" : JSON.stringify(storage)}` +
                `. Fix: request at least ${wanted}, e.g. spec.resources.requests.storage: "${wanted}".`);
            return;
        }
        if (compareQuantities(have, want) < 0) {
            reportViolation(`${subject}: requests ${storage} but the wave file asks for ${wanted}; the data would not fit. ` +
                `Fix: set spec.resources.requests.storage to at least "${wanted}" (the wave file's pvcs[].capacity).`);
        }
    },
} satisfies ResourceValidationPolicy;

export const waveOneTransferPodPerNamespace = {
    name: "wave-one-transfer-pod-per-namespace",
    description: "Each namespace of the wave has exactly one destination transfer pod and one source transfer pod, and the stack runs no other pods.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: `One Deployment (1 replica) per destination namespace and one Job (parallelism 1) per source namespace, labelled ${LABELS.role} and ${LABELS.namespace}.`,
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        const counts = new Map<string, { [ROLE_DESTINATION]: number; [ROLE_SOURCE]: number }>();
        eachResource(args, (r) => {
            for (const ref of podSpecsOf(r.type, r.props)) {
                if (ref.partial) {
                    continue; // a patch of an existing workload starts no pod of ours
                }
                const subject = describe(r.type, r.name, r.props);
                const role = ref.labels[LABELS.role];
                const ns = ref.labels[LABELS.namespace];
                if (role !== ROLE_DESTINATION && role !== ROLE_SOURCE) {
                    reportViolation(`${subject}: runs pods that are not dvm transfer pods (pod label ${LABELS.role} is ` +
                        `${role === undefined ? "missing" : JSON.stringify(role)}); a wave runs only "${ROLE_DESTINATION}" ` +
                        `and "${ROLE_SOURCE}" pods. Fix: remove it from the stack, or label its pod template ` +
                        `${LABELS.role}: ${ROLE_DESTINATION} | ${ROLE_SOURCE}.`, r.urn);
                    continue;
                }
                if (ns === undefined) {
                    reportViolation(`${subject}: the ${role} pod has no ${LABELS.namespace} label, so it cannot be ` +
                        `counted for its namespace. Fix: label its pod template ${LABELS.namespace}: <source namespace>.`, r.urn);
                    continue;
                }
                const entry = counts.get(ns) ?? { [ROLE_DESTINATION]: 0, [ROLE_SOURCE]: 0 };
                entry[role] += ref.pods === "per-node" ? Infinity : ref.pods;
                counts.set(ns, entry);
                if (ref.pods === "per-node") {
                    reportViolation(`${subject}: a DaemonSet runs one ${role} pod per node. Fix: use a ` +
                        `${role === ROLE_SOURCE ? "Job" : "Deployment with replicas: 1"}.`, r.urn);
                }
            }
        });
        for (const [ns, c] of counts) {
            for (const role of [ROLE_DESTINATION, ROLE_SOURCE] as const) {
                const n = c[role];
                if (n === 1 || n === Infinity) {
                    continue;
                }
                const what = role === ROLE_DESTINATION
                    ? "one Deployment with replicas: 1 (rsyncd + stunnel) on the destination cluster"
                    : "one Job with parallelism: 1 (rsync + stunnel) on the source cluster";
                reportViolation(`Namespace ${ns} (${LABELS.namespace}=${ns}): ${n} ${role} pods in the wave, ` +
                    `expected exactly 1. Fix: ${what}.`);
            }
        }
    },
} satisfies StackValidationPolicy;
