// The container scripts, read from the .sh files in the repository (the same files shellcheck checks and the
// data-plane tests run), for the scripts ConfigMap.
import * as fs from "node:fs";
import * as path from "node:path";
import { SCRIPT_FILES } from "../contract";

const LOCATIONS: Record<string, string> = {
    [SCRIPT_FILES.rsyncClient]: "transfer/scripts",
    [SCRIPT_FILES.rsyncClientPvc]: "transfer/scripts",
    [SCRIPT_FILES.rsyncd]: "transfer/scripts",
    [SCRIPT_FILES.stunnelClient]: "transport/scripts",
    [SCRIPT_FILES.stunnelServer]: "transport/scripts",
    [SCRIPT_FILES.imageCheck]: "transfer/scripts",
};

/** SCRIPT_FILES key -> file content. */
export function scriptFiles(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of Object.values(SCRIPT_FILES)) {
        const file = path.join(__dirname, LOCATIONS[name], name);
        out[name] = fs.readFileSync(file, "utf8");
    }
    return out;
}

