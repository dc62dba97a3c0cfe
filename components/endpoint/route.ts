// OpenShift Route with TLS passthrough: the router forwards the TLS stream by SNI to the stunnel server untouched.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ROUTER_IP_ALLOWLIST_ANNOTATION, STUNNEL_PORT } from "../../contract";
import { EndpointKind, transferHost } from "./types";

export const route: EndpointKind = {
    serviceType: "ClusterIP",
    readsServiceStatus: false,
    clientAddressReachesPod: false,
    expose({ prefix, namespace, names, config, labels, service, opts }) {
        const host = transferHost(names, config);
        new k8s.apiextensions.CustomResource(`${prefix}-route`, {
            apiVersion: "route.openshift.io/v1",
            kind: "Route",
            metadata: {
                name: names.server, namespace, labels,
                // the OpenShift router refuses connections from anywhere else (also for passthrough routes)
                ...(config.sourceRanges ? { annotations: { [ROUTER_IP_ALLOWLIST_ANNOTATION]: config.sourceRanges.join(" ") } } : {}),
            },
            spec: {
                host,
                to: { kind: "Service", name: service.metadata.name, weight: 100 },
                port: { targetPort: STUNNEL_PORT },
                tls: { termination: "passthrough", insecureEdgeTerminationPolicy: "None" },
                wildcardPolicy: "None",
            },
        }, opts);
        // the router routes by SNI: dial its address when the transfer host does not resolve from the source
        return pulumi.output({ host: config.routerAddress ?? host, port: 443, sni: host });
    },
};
