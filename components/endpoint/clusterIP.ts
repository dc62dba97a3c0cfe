// A ClusterIP Service: only reachable from the same cluster (source and destination namespaces in one cluster, or
// clusters with a flat, routed pod/service network). The source dials the Service's DNS name.
import * as pulumi from "@pulumi/pulumi";
import { SERVICE_PORT } from "../../contract";
import { EndpointKind } from "./types";

export const clusterIP: EndpointKind = {
    serviceType: "ClusterIP",
    readsServiceStatus: false,
    clientAddressReachesPod: true,
    expose({ service }) {
        return pulumi.all([service.metadata.name, service.metadata.namespace]).apply(([name, ns]) => ({
            host: `${name}.${ns}.svc.cluster.local`,
            port: SERVICE_PORT,
        }));
    },
};
