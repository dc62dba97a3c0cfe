// A LoadBalancer Service: the source dials the load balancer's address (the Kubernetes provider waits for it).
import * as pulumi from "@pulumi/pulumi";
import { SERVICE_PORT } from "../layout";
import { EndpointKind, UNRESOLVED } from "./types";

export const loadBalancer: EndpointKind = {
    serviceType: "LoadBalancer",
    expose({ service }) {
        return service.status.apply((status) => {
            const ingress = status?.loadBalancer?.ingress?.[0];
            return { host: ingress?.ip || ingress?.hostname || UNRESOLVED, port: SERVICE_PORT };
        }) as pulumi.Output<{ host: string; port: number }>;
    },
};
