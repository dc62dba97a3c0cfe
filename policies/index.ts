// The dvm policy pack. Constructing a PolicyPack starts the analyzer's gRPC server, so this file does nothing else;
// the policies live in the modules that policies.ts lists, where the tests call them directly.
//   pulumi preview --policy-pack policies [--policy-pack-config policies/config/root.json]
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

// PolicyPack reads its version from ./package.json of the working directory; a host may start the pack elsewhere.
process.chdir(__dirname);

new PolicyPack("dvm-transfer-privileges", {
    description: "dvm: transfer pods get no more privilege than the pack's configuration allows; a wave has the shape the program promises.",
    // Each policy names its own level (privilege rules: mandatory); this is the level of any policy that does not.
    enforcementLevel: "mandatory",
    policies,
});
