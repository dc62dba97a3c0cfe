// A LoadBalancer Service: the source dials the load balancer's address (the Kubernetes provider waits for it).
import * as pulumi from "@pulumi/pulumi";
import { SERVICE_PORT } from "../../contract";
import { EndpointKind, UNRESOLVED } from "./types";

export const loadBalancer: EndpointKind = {
    serviceType: "LoadBalancer",
    readsServiceStatus: true,
    clientAddressReachesPod: true,
    expose({ service, render }) {
        // In render mode there is no status, ever: a known placeholder keeps repeated previews stable (an unknown
        // address would make every preview propose replacing the source side).
        if (render) return pulumi.output({ host: UNRESOLVED, port: SERVICE_PORT });
        return service.status.apply((status) => {
            const ingress = status?.loadBalancer?.ingress?.[0];
            return { host: ingress?.ip || ingress?.hostname || UNRESOLVED, port: SERVICE_PORT };
        }) as pulumi.Output<{ host: string; port: number }>;
    },
};
