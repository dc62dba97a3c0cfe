// The transfer image's recipe is the product's (image/): the local clusters build their image with it, not with a
// copy; the example stacks and the demo pin the image by digest.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");

describe("transfer image recipe (image/)", () => {
    it("hack/clusters/images.sh builds the clusters' image from image/build.sh and image/packages.txt", () => {
        const key = spawnSync("bash", [path.join(ROOT, "image", "build.sh"), "--key"], { encoding: "utf8" });
        assert.strictEqual(key.status, 0, key.stderr);
        assert.match(key.stdout.trim(), /^[0-9a-f]{16}$/);
        const paths = spawnSync("bash", [path.join(ROOT, "hack", "clusters", "images.sh"), "paths"], { encoding: "utf8", env: { ...process.env, DVM_CACHE: "/nonexistent-cache" } });
        assert.strictEqual(paths.status, 0, paths.stderr);
        const transfer = paths.stdout.split("\n").find((l) => l.startsWith("transfer "));
        assert.strictEqual(transfer?.split(" ")[2], `/nonexistent-cache/images/transfer-${key.stdout.trim()}/image.tar`, "the clusters' archive is the recipe's cache entry");
        const images = read("hack/clusters/images.sh");
        assert.ok(images.includes('. "$REPO_ROOT/image/build.sh"'), "images.sh sources the recipe");
        assert.ok(!/debootstrap (--|")/.test(images) && !/TRANSFER_PACKAGES|stunnel4/.test(images), "images.sh has no recipe of its own");
        const packages = read("image/packages.txt").split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
        for (const p of ["rsync", "stunnel4", "bash"]) assert.ok(packages.includes(p), p);
    });

    it("the example stacks pin the transfer image by digest; the demo pins the clusters' image", () => {
        for (const f of fs.readdirSync(path.join(ROOT, "stacks"))) {
            assert.match(read(`stacks/${f}`), /^  dvm:transferImage: \S+@sha256:[0-9a-f]{64}$/m, f);
        }
        assert.match(read("hack/demo.sh"), /pulumi config set dvm:transferImage "\$\{TRANSFER_IMAGE%:\*\}@\$digest"/);
    });
});
