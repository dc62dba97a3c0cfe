// A NodePort Service: the source dials `dvm:destination.endpoint.nodeAddress` on the allocated (or fixed) node port.
import { EndpointKind } from "./types";

export const nodePort: EndpointKind = {
    serviceType: "NodePort",
    expose({ service, config }) {
        return service.spec.apply((spec) => ({
            host: config.nodeAddress!,
            port: spec.ports?.[0]?.nodePort ?? config.nodePort ?? 0,
        }));
    },
};
