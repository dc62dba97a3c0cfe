// A NodePort Service: the source dials `dvm:destination.endpoint.nodeAddress` on the allocated (or fixed) node port.
import * as pulumi from "@pulumi/pulumi";
import { EndpointKind } from "./types";

/** Shown in rendered manifests when the node port is allocated by the API server (render mode has none). */
export const RENDER_NODE_PORT_PLACEHOLDER = 30000;

export const nodePort: EndpointKind = {
    serviceType: "NodePort",
    expose({ service, config, render }) {
        if (render) return pulumi.output({ host: config.nodeAddress!, port: config.nodePort ?? RENDER_NODE_PORT_PLACEHOLDER });
        return service.spec.apply((spec) => ({
            host: config.nodeAddress!,
            port: spec.ports?.[0]?.nodePort ?? config.nodePort ?? 0,
        }));
    },
};
