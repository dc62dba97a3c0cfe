// A NodePort Service: the source dials `dvm:destination.endpoint.nodeAddress` on the allocated (or fixed) node port.
import * as pulumi from "@pulumi/pulumi";
import { EndpointConfig } from "../../config/plan";
import { EndpointAddress, EndpointKind } from "./types";

/** Shown in rendered manifests when the node port is allocated by the API server (render mode has none). */
export const RENDER_NODE_PORT_PLACEHOLDER = 30000;

/**
 * The address from the Service's spec. Before the API server allocated a port (a preview of a new Service) the
 * port is not known yet: the address is then unknown — the source side shows as "computed" in the preview instead
 * of failing on port 0.
 */
export function nodePortAddress(ports: { nodePort?: number }[] | undefined, config: EndpointConfig, dryRun: boolean): EndpointAddress | typeof pulumi.unknown {
    const port = ports?.[0]?.nodePort ?? config.nodePort;
    if (port === undefined) {
        if (dryRun) return pulumi.unknown;
        throw new Error(`the destination Service has no node port allocated; set dvm:destination.endpoint.nodePort (e.g. 30873) or check the Service`);
    }
    return { host: config.nodeAddress!, port };
}

export const nodePort: EndpointKind = {
    serviceType: "NodePort",
    readsServiceStatus: false,
    clientAddressReachesPod: true,
    expose({ service, config, render }) {
        if (render) return pulumi.output({ host: config.nodeAddress!, port: config.nodePort ?? RENDER_NODE_PORT_PLACEHOLDER });
        return service.spec.apply((spec) => nodePortAddress(spec.ports, config, pulumi.runtime.isDryRun())) as pulumi.Output<EndpointAddress>;
    },
};
