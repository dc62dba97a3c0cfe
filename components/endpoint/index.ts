import { EndpointType } from "../../config/plan";
import { clusterIP } from "./clusterIP";
import { ingress } from "./ingress";
import { loadBalancer } from "./loadBalancer";
import { nodePort } from "./nodePort";
import { route } from "./route";
import { EndpointKind } from "./types";

export * from "./types";

export const endpoints: Record<EndpointType, EndpointKind> = { route, ingress, loadBalancer, nodePort, clusterIP };
