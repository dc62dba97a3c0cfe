// An endpoint is how the source cluster's stunnel client reaches the destination's stunnel server. Each kind decides
// the Service type, may add an object in front of it (Route, Ingress), and says which address the client dials.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { EndpointConfig } from "../../config/plan";
import { TransferNames } from "../names";

export interface EndpointAddress {
    host: string;
    port: number;
    /** TLS server name to send (Routes and Ingresses route passthrough traffic by SNI). */
    sni?: string;
}

export interface ExposeArgs {
    /** Prefix for Pulumi resource names (unique per namespace). */
    prefix: string;
    namespace: pulumi.Input<string>;
    names: TransferNames;
    config: EndpointConfig;
    labels: Record<string, string>;
    service: k8s.core.v1.Service;
    /** Render mode: manifests only, no API server, so no status or allocated ports will ever be known. */
    render: boolean;
    /** parent + destination provider */
    opts: pulumi.CustomResourceOptions;
}

export interface EndpointKind {
    serviceType: "ClusterIP" | "LoadBalancer" | "NodePort";
    /**
     * Whether the address comes from the Service's status (a load balancer's ingress), so the Kubernetes provider
     * must wait for the Service. Otherwise the Service gets `pulumi.com/skipAwait`: the provider's Service wait (its
     * endpoints, then a settle period) cost ~8 s before the first byte of every wave (bench/experiments/e2e-only),
     * and proves nothing the source pod does not prove itself - it waits for the rsync daemon's greeting through the
     * tunnel, and the Deployment's rollout is still awaited.
     */
    readsServiceStatus: boolean;
    /** Whether the source's own address reaches the transfer pod (no router in between), so the NetworkPolicy can
     * hold `dvm:destination.endpoint.sourceRanges` as ipBlocks. Behind a router the router enforces them. */
    clientAddressReachesPod: boolean;
    /** Creates what the kind needs in front of the Service and returns the address the source dials. */
    expose(args: ExposeArgs): pulumi.Output<EndpointAddress>;
}

/** Placeholder host used when an address only exists in a live cluster (render mode has no status). */
export const UNRESOLVED = "unresolved.invalid";

/** The transfer host for Route/Ingress endpoints: `<hostLabel>.<subdomain>`. */
export function transferHost(names: TransferNames, config: EndpointConfig): string {
    return `${names.hostLabel}.${config.subdomain}`;
}
