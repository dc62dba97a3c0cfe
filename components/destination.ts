// DestinationTransfer: everything one namespace needs on the destination cluster — the namespace, the PVCs (kept
// forever: retainOnDelete), the credentials Secret, rsyncd/stunnel config, the transfer pod (rsyncd + stunnel server
// mounting every PVC), a Service and the endpoint the source dials. CopiedMarker adds the completion marker once
// the transfer succeeded.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { EndpointConfig, NamespacePlan, ResourcesConfig, SecurityOptions } from "../config/plan";
import { MANAGED_BY } from "../contract";
import { baseLabels, childOpts, containerResources, contentHash, pick, supportMounts, supportObjects, supportVolumes } from "./common";
import { EndpointAddress, endpoints } from "./endpoint";
import {
    ANNOTATIONS, CONFIG_FILES, CONTAINERS, LABELS, RSYNCD_PORT, ROLE_DESTINATION,
    SCRIPTS_DIR, SCRIPT_FILES, SECRET_KEYS, SERVICE_PORT, STUNNEL_PORT, TARGET_ROOT,
} from "../contract";
import { TransferNames } from "./names";
import { scriptFiles } from "./scripts";
import { containerSecurityContext, podSecurityContext, podSecurityLabels } from "./security";
import { renderRsyncdConf } from "./transfer/rsyncd";
import { GeneratedCredentials } from "./transport/credentialsResource";
import { renderStunnelServerConf } from "./transport/stunnel";

export interface DestinationTransferArgs {
    wave: string;
    namespace: NamespacePlan;
    names: TransferNames;
    endpoint: EndpointConfig;
    security: SecurityOptions;
    resources: ResourcesConfig;
    transferImage: string;
    credentials: GeneratedCredentials;
    provider: k8s.Provider;
    /** Render mode (manifests only). */
    render: boolean;
    /** dvm:pass: the PVCs say which pass is about to copy into them (ANNOTATIONS.copyStarted). */
    pass: number;
    /** dvm:rsync.timeout: rsyncd.conf's `timeout`. */
    rsyncTimeout?: number;
    /** `<project>/<stack>` (ANNOTATIONS.stack). */
    stackId?: string;
    /** Target PVC names this stack made earlier that are in the cluster but may have left the state (a rollback, a
     * removed wave): applied with force, as the field manager that owns their annotations went with the old state. */
    ownClaims?: string[];
}

/** `<wave> pass <n>`: the value of the completion marker annotations. */
export function copyMark(wave: string, pass: number): string {
    return `${wave} pass ${pass}`;
}

/**
 * The destination namespace of one wave namespace. Never deleted by dvm, whether it pre-existed or not: deleting a
 * namespace deletes its PVCs. Shared by every wave (and stack) migrating into it: only labels all of them give the
 * same value (server-side apply makes them co-owners; a wave's own label here would make the second wave's apply fail).
 */
export function destinationNamespace(prefix: string, ns: NamespacePlan, opts: pulumi.CustomResourceOptions): k8s.core.v1.Namespace {
    return new k8s.core.v1.Namespace(`${prefix}-namespace`, {
        metadata: { name: ns.target, labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.partOf]: MANAGED_BY } },
    }, { ...opts, retainOnDelete: true });
}

export class DestinationTransfer extends pulumi.ComponentResource {
    /** Where the source's stunnel client connects. */
    public readonly address: pulumi.Output<EndpointAddress>;
    /** The destination PVCs, in the wave's order. */
    public readonly pvcs: k8s.core.v1.PersistentVolumeClaim[];
    /** The destination namespace (images are pushed only once it exists). */
    public readonly namespace: k8s.core.v1.Namespace;

    constructor(name: string, args: DestinationTransferArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dvm:destination:DestinationTransfer", name, {}, opts);
        const { namespace: ns, names, provider } = args;
        const labels = baseLabels(args.wave, ns.source);
        const stack: Record<string, string> = args.stackId ? { [ANNOTATIONS.stack]: args.stackId } : {};
        const opt = (extra: pulumi.CustomResourceOptions = {}) => childOpts(this, provider, extra);

        const namespace = destinationNamespace(name, ns, opt());
        this.namespace = namespace;
        const nsName = namespace.metadata.name;
        // The Pod Security labels a root/privileged transfer needs are a patch of their own: the namespace outlives
        // the wave, the labels must not. Removing the wave deletes the patch, and with it the labels.
        const psa = podSecurityLabels(args.security);
        const psaPatch = Object.keys(psa).length === 0 ? [] : [new k8s.core.v1.NamespacePatch(`${name}-namespace-psa`, {
            metadata: { name: nsName, labels: psa, annotations: { [`${ANNOTATIONS.psaPatchedBy}.${args.wave}`]: `wave ${args.wave}` } },
        }, opt({ dependsOn: [namespace] }))];

        const pvcs = ns.pvcs.map((pvc) => new k8s.core.v1.PersistentVolumeClaim(`${name}-pvc-${pvc.target}`, {
            metadata: {
                name: pvc.target,
                namespace: nsName,
                labels,
                annotations: {
                    [ANNOTATIONS.requestedCapacity]: pvc.capacity, [ANNOTATIONS.sourcePvc]: `${ns.source}/${pvc.source}`, ...stack,
                    // set before the source Job starts (it waits for this component); CopiedMarker sets copySucceeded
                    // to the same value when the copy succeeded - until then the volume may hold truncated files
                    ...(args.render ? {} : { [ANNOTATIONS.copyStarted]: copyMark(args.wave, args.pass) }),
                    ...(args.ownClaims?.includes(pvc.target) ? { "pulumi.com/patchForce": "true" } : {}),
                },
            },
            spec: {
                accessModes: pvc.accessModes,
                resources: { requests: { storage: pvc.capacity } },
                ...(pvc.storageClass ? { storageClassName: pvc.storageClass } : {}),
            },
        }, opt({
            // Migrated data outlives the wave: removing the wave from the stack, `pulumi destroy` or a replacement
            // only drops the PVC from the state; the claim and its data stay in the cluster.
            retainOnDelete: true,
            // A size/class change must never delete-and-recreate a PVC full of data.
            ignoreChanges: ["spec.storageClassName", "spec.accessModes"],
        })));

        const creds = args.credentials;
        const scripts = pick(scriptFiles(), [SCRIPT_FILES.rsyncd, SCRIPT_FILES.stunnelServer, SCRIPT_FILES.imageCheck]);
        const configData = {
            [CONFIG_FILES.rsyncd]: renderRsyncdConf({ modules: ns.pvcs.map((p) => p.target), runAsRoot: args.security.runAsRoot, timeout: args.rsyncTimeout }),
            [CONFIG_FILES.stunnelServer]: renderStunnelServerConf(),
        };
        const [secret, scriptsMap, configMap] = supportObjects(name, {
            namespace: nsName, names, labels, annotations: stack, credentials: creds, scripts, config: configData, opts: opt(),
            // the PSK and the rsyncd secrets file; never the client's password file
            secretKeys: [SECRET_KEYS.psk, SECRET_KEYS.rsyncdSecrets],
        });

        const podLabels = { ...labels, [LABELS.role]: ROLE_DESTINATION };
        const selector = { [LABELS.role]: ROLE_DESTINATION, [LABELS.wave]: args.wave, [LABELS.namespace]: ns.source };
        // A change of scripts, config or credentials rolls the pod.
        const rollout = creds.version.apply((v) => contentHash({ scripts, configData, credentialsVersion: v }));
        const containerSecurity = containerSecurityContext(args.security);
        const targetVolumes = ns.pvcs.map((pvc, i) => ({ name: `target-${i}`, persistentVolumeClaim: { claimName: pvc.target } }));
        const targetMounts = ns.pvcs.map((pvc, i) => ({ name: `target-${i}`, mountPath: `${TARGET_ROOT}/${pvc.target}` }));
        new k8s.apps.v1.Deployment(`${name}-server`, {
            metadata: { name: names.server, namespace: nsName, labels: podLabels, ...(args.stackId ? { annotations: stack } : {}) },
            spec: {
                replicas: 1,
                // RWO volumes: the old pod must let go before the new one mounts them
                strategy: { type: "Recreate" },
                selector: { matchLabels: selector },
                template: {
                    metadata: { labels: { ...podLabels, ...selector }, annotations: { [ANNOTATIONS.rollout]: rollout } },
                    spec: {
                        securityContext: podSecurityContext(args.security, "destination"),
                        automountServiceAccountToken: false,
                        enableServiceLinks: false,
                        terminationGracePeriodSeconds: 10,
                        containers: [
                            {
                                name: CONTAINERS.rsyncd,
                                image: args.transferImage,
                                command: ["/bin/bash", `${SCRIPTS_DIR}/${SCRIPT_FILES.rsyncd}`],
                                securityContext: containerSecurity,
                                resources: containerResources(args.resources.rsyncd),
                                volumeMounts: [...supportMounts(), ...targetMounts],
                                readinessProbe: {
                                    exec: { command: ["/bin/bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${RSYNCD_PORT}`] },
                                    periodSeconds: 2,
                                },
                            },
                            {
                                name: CONTAINERS.stunnel,
                                image: args.transferImage,
                                command: ["/bin/bash", `${SCRIPTS_DIR}/${SCRIPT_FILES.stunnelServer}`],
                                securityContext: containerSecurity,
                                resources: containerResources(args.resources.stunnel),
                                ports: [{ name: "stunnel", containerPort: STUNNEL_PORT, protocol: "TCP" }],
                                volumeMounts: supportMounts(),
                                readinessProbe: { tcpSocket: { port: STUNNEL_PORT }, periodSeconds: 2 },
                            },
                        ],
                        volumes: [...supportVolumes(names), ...targetVolumes],
                    },
                },
            },
        // a replacement (a new name) lets go of the RWO volumes before the new pod needs them, and of a fixed nodePort
        }, opt({ dependsOn: [secret, scriptsMap, configMap, ...pvcs, ...psaPatch], deleteBeforeReplace: true }));

        const kind = endpoints[args.endpoint.type];
        const service = new k8s.core.v1.Service(`${name}-service`, {
            metadata: {
                name: names.server, namespace: nsName, labels,
                annotations: { ...stack, ...(kind.readsServiceStatus ? {} : { "pulumi.com/skipAwait": "true" }) },
            },
            spec: {
                type: kind.serviceType,
                selector,
                ports: [{
                    name: "stunnel",
                    port: SERVICE_PORT,
                    targetPort: STUNNEL_PORT,
                    protocol: "TCP",
                    ...(kind.serviceType === "NodePort" && args.endpoint.nodePort ? { nodePort: args.endpoint.nodePort } : {}),
                }],
                ...serviceSourceRanges(kind.serviceType, args.endpoint.sourceRanges),
            },
        }, opt({ deleteBeforeReplace: true }));
        // Only the stunnel port, and (where the client's address arrives unchanged) only from sourceRanges; the pod
        // opens no connection of its own (rsyncd and stunnel talk over localhost), so no egress at all.
        const ranges = kind.clientAddressReachesPod ? args.endpoint.sourceRanges : undefined;
        new k8s.networking.v1.NetworkPolicy(`${name}-network-policy`, {
            metadata: { name: names.server, namespace: nsName, labels },
            spec: {
                podSelector: { matchLabels: selector },
                policyTypes: ["Ingress", "Egress"],
                ingress: [{
                    ports: [{ protocol: "TCP", port: STUNNEL_PORT }],
                    ...(ranges ? { from: ranges.map((cidr) => ({ ipBlock: { cidr } })) } : {}),
                }],
                egress: [],
            },
        }, opt());
        this.pvcs = pvcs;
        this.address = kind.expose({ prefix: name, namespace: nsName, names, config: args.endpoint, labels, service, render: args.render, opts: opt() });
        this.registerOutputs({ address: this.address });
    }
}

/** What `sourceRanges` adds to the Service: the load balancer's own allow-list, and `externalTrafficPolicy: Local`
 * so the source's address (not a node's, after kube-proxy's SNAT) reaches the NetworkPolicy. */
export function serviceSourceRanges(serviceType: string, ranges: string[] | undefined): Record<string, unknown> {
    if (!ranges || serviceType === "ClusterIP") return {};
    return {
        externalTrafficPolicy: "Local",
        ...(serviceType === "LoadBalancer" ? { loadBalancerSourceRanges: ranges } : {}),
    };
}

export interface CopiedMarkerArgs {
    wave: string;
    pass: number;
    namespace: NamespacePlan;
    provider: k8s.Provider;
    /** Only once these succeeded (the transfer's progress resource: it fails `pulumi up` otherwise). */
    after: pulumi.Resource[];
}

/**
 * The completion marker: ANNOTATIONS.copySucceeded = `<wave> pass <n>` on every destination PVC of the namespace, set
 * only after the transfer succeeded. Kept when the wave is removed (retainOnDelete), like the PVCs themselves; forced
 * (server-side apply), since a later wave copying into the same PVC owns it from then on.
 */
export class CopiedMarker extends pulumi.ComponentResource {
    constructor(name: string, args: CopiedMarkerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dvm:destination:CopiedMarker", name, {}, opts);
        const mark = copyMark(args.wave, args.pass);
        for (const pvc of args.namespace.pvcs) {
            new k8s.core.v1.PersistentVolumeClaimPatch(`${name}-${pvc.target}`, {
                metadata: {
                    name: pvc.target, namespace: args.namespace.target,
                    annotations: { [ANNOTATIONS.copySucceeded]: mark, "pulumi.com/patchForce": "true" },
                },
            }, childOpts(this, args.provider, { dependsOn: args.after, retainOnDelete: true }));
        }
        this.registerOutputs({});
    }
}
