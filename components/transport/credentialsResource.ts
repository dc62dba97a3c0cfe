// Tunnel credentials as a small dynamic resource: generated once per namespace from a cryptographic RNG, kept stable
// in the Pulumi state as secrets (so every `pulumi up` of the wave reuses them), regenerated only when
// `dvm:credentialsVersion` is bumped. Nothing here ever reaches a ConfigMap, a log or plain state.
import * as pulumi from "@pulumi/pulumi";
import { generateCredentials } from "./credentials";

export interface GeneratedCredentialsArgs {
    /** `dvm:credentialsVersion`: a new value replaces the resource, i.e. rotates every key and password. */
    version: pulumi.Input<number>;
    /** What the credentials are for (wave/namespace), recorded to make a mix-up visible in the state. */
    scope: pulumi.Input<string>;
}

const SECRET_OUTPUTS = ["pskIdentity", "pskKey", "rsyncPassword"];

const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: { version: number; scope: string }) {
        const c = generateCredentials();
        return {
            id: `${inputs.scope}/v${inputs.version}`,
            outs: { version: inputs.version, scope: inputs.scope, pskIdentity: c.pskIdentity, pskKey: c.pskKey, rsyncPassword: c.rsyncPassword },
        };
    },
    async diff(_id: string, olds: { version: number; scope: string }, news: { version: number; scope: string }) {
        const replaces = (["version", "scope"] as const).filter((k) => olds[k] !== news[k]);
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
    },
    async read(id: string, props: Record<string, unknown>) {
        return { id, props };
    },
};

export class GeneratedCredentials extends pulumi.dynamic.Resource {
    public readonly pskIdentity!: pulumi.Output<string>;
    public readonly pskKey!: pulumi.Output<string>;
    public readonly rsyncPassword!: pulumi.Output<string>;
    public readonly version!: pulumi.Output<number>;

    constructor(name: string, args: GeneratedCredentialsArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, pskIdentity: undefined, pskKey: undefined, rsyncPassword: undefined },
            { ...opts, additionalSecretOutputs: SECRET_OUTPUTS }, "transport", "TunnelCredentials");
    }
}
