// Ingress for ingress-nginx with SSL passthrough (the controller must run with --enable-ssl-passthrough): TLS is not
// terminated at the ingress; the stream goes by SNI to the stunnel server.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SERVICE_PORT, SSL_PASSTHROUGH_ANNOTATION } from "../../contract";
import { EndpointKind, transferHost } from "./types";

export const ingress: EndpointKind = {
    serviceType: "ClusterIP",
    readsServiceStatus: false,
    clientAddressReachesPod: false,
    expose({ prefix, namespace, names, config, labels, service, opts }) {
        const host = transferHost(names, config);
        new k8s.networking.v1.Ingress(`${prefix}-ingress`, {
            metadata: {
                name: names.server,
                namespace,
                labels,
                annotations: {
                    [SSL_PASSTHROUGH_ANNOTATION]: "true",
                    "nginx.ingress.kubernetes.io/backend-protocol": "HTTPS",
                },
            },
            spec: {
                ...(config.ingressClass ? { ingressClassName: config.ingressClass } : {}),
                rules: [{
                    host,
                    http: {
                        paths: [{
                            path: "/",
                            pathType: "Prefix",
                            backend: { service: { name: service.metadata.name, port: { number: SERVICE_PORT } } },
                        }],
                    },
                }],
            },
        }, opts);
        // the router routes by SNI: dial its address when the transfer host does not resolve from the source
        return pulumi.output({ host: config.routerAddress ?? host, port: 443, sni: host });
    },
};
