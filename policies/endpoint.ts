// The endpoint: TLS goes through to stunnel untouched, and the plain-text rsync daemon is never exposed.

import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { RSYNCD_PORT, SSL_PASSTHROUGH_ANNOTATION as PASSTHROUGH_ANNOTATION } from "../contract";
import { describe, kindOf } from "./workloads";

function portTargetsRsyncd(port: any): boolean {
    const target = port?.targetPort ?? port?.port;
    return target === RSYNCD_PORT || target === String(RSYNCD_PORT) || target === "rsyncd";
}

export const endpointTlsPassthrough = {
    name: "endpoint-tls-passthrough",
    description: "The endpoint passes TLS through to stunnel (Route tls.termination: passthrough, Ingress ssl-passthrough) and never exposes rsyncd.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: `Route: spec.tls.termination: passthrough. Ingress: annotation ${PASSTHROUGH_ANNOTATION}: "true". Service: target the stunnel port only.`,
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const kind = kindOf(args.type);
        const subject = describe(args.type, args.name, args.props);
        if (kind === "Route" && args.type.includes("route.openshift.io")) {
            const termination = args.props.spec?.tls?.termination;
            if (termination !== "passthrough") {
                reportViolation(`${subject}: spec.tls.termination is ${termination === undefined ? "not set" : JSON.stringify(termination)}; ` +
                    `the router would terminate or refuse the stunnel TLS session. Fix: set spec.tls.termination: ` +
                    `passthrough (and no certificate on the Route).`);
            }
        } else if (kind === "Ingress") {
            const value = args.props.metadata?.annotations?.[PASSTHROUGH_ANNOTATION];
            if (value !== "true") {
                reportViolation(`${subject}: annotation ${PASSTHROUGH_ANNOTATION} is ${value === undefined ? "missing" : JSON.stringify(value)}; ` +
                    `ingress-nginx would terminate the stunnel TLS session. Fix: set metadata.annotations` +
                    `["${PASSTHROUGH_ANNOTATION}"]: "true" (ingress-nginx runs with --enable-ssl-passthrough).`);
            }
        } else if (kind === "Service" || kind === "ServicePatch") {
            const ports = args.props.spec?.ports;
            if (Array.isArray(ports)) {
                ports.forEach((p: any, i: number) => {
                    if (portTargetsRsyncd(p)) {
                        reportViolation(`${subject}: spec.ports[${i}] targets the rsync daemon port ${RSYNCD_PORT}, which ` +
                            `speaks plain text. Fix: target the stunnel port only (rsyncd listens on 127.0.0.1).`);
                    }
                });
            }
        }
    },
} satisfies ResourceValidationPolicy;
