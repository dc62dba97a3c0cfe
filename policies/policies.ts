// Every policy of the dvm pack, grouped by subject: config.ts (the pack's knobs), privilege.ts, isolation.ts,
// wave.ts, endpoint.ts, secrets.ts. index.ts wraps this list in the PolicyPack; the tests import from here.
//
// Single-resource facts (PVC capacity, endpoint passthrough, ConfigMap contents) are resource policies, not stack
// policies: resource policies run before each resource is created, also during `pulumi up`, whereas stack policies
// run after the update. Only the checks that need to see several resources at once are stack policies.

import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { endpointTlsPassthrough } from "./endpoint";
import {
    transferImagePinned,
    transferNoServiceAccountToken,
    transferReadOnlyRootFilesystem,
    transferResources,
    transferSourceReadOnly,
    transferVolumeTypes,
} from "./isolation";
import {
    rootNeedsPrivilegedNamespace,
    transferAppArmor,
    transferCapabilities,
    transferNoHostAccess,
    transferNoPrivilegeEscalation,
    transferNoSysctls,
    transferPrivileged,
    transferProcMount,
    transferRunAsNonRoot,
    transferSeccomp,
    transferSelinuxOptions,
    transferSelinuxSpcT,
} from "./privilege";
import { configMapNoKeyMaterial } from "./secrets";
import { pvcCapacityCoversWave, waveOneTransferPodPerNamespace } from "./wave";

export * from "./config";
export * from "./endpoint";
export * from "./isolation";
export * from "./privilege";
export * from "./secrets";
export * from "./wave";

/** Every policy of the pack, in the order the engine reports them. */
export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
    transferPrivileged,
    transferSelinuxSpcT,
    transferRunAsNonRoot,
    transferCapabilities,
    transferNoPrivilegeEscalation,
    transferSeccomp,
    transferNoHostAccess,
    transferSelinuxOptions,
    transferAppArmor,
    transferProcMount,
    transferNoSysctls,
    transferVolumeTypes,
    transferImagePinned,
    transferResources,
    transferSourceReadOnly,
    transferReadOnlyRootFilesystem,
    transferNoServiceAccountToken,
    pvcCapacityCoversWave,
    endpointTlsPassthrough,
    configMapNoKeyMaterial,
    waveOneTransferPodPerNamespace,
    rootNeedsPrivilegedNamespace,
];
