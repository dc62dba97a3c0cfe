// Engine tier harness: runs the real `pulumi` CLI (built by `make toolchain`) against a throw-away copy of a
// project, with a local file backend, a passphrase secrets provider, no update checks and no plugin downloads.
// hack/engine-test.sh and hack/e2e.sh put the toolchain on PATH and set DVM_TOOLCHAIN_BIN before mocha starts.

import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const repoRoot = path.resolve(__dirname, "..", "..");

/** What a user's checkout of the program holds: the files and folders `pulumi up` loads (index.ts's import closure,
 * checked by test/unit/program-files.test.ts), copied into a throw-away project by copyProject. */
export const PROJECT_ENTRIES = ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts", "contract", "config", "kube", "components", "progress", "waves"];

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
    /** stdout + stderr, for assertions on messages that may go to either */
    output: string;
    seconds: number;
}

/** Everything the engine and its plugins get; nothing from the developer's own Pulumi setup leaks in. */
export function engineEnv(work: string): NodeJS.ProcessEnv {
    const bin = process.env.DVM_TOOLCHAIN_BIN;
    if (!bin || !fs.existsSync(path.join(bin, "pulumi"))) {
        throw new Error("DVM_TOOLCHAIN_BIN is not set to the toolchain's bin dir: run the engine tier with `make engine`");
    }
    const passphrase = process.env.PULUMI_CONFIG_PASSPHRASE;
    if (passphrase === undefined || passphrase === "") {
        throw new Error("PULUMI_CONFIG_PASSPHRASE is not set: `make engine` sets a test-only one when it is missing");
    }
    const env: NodeJS.ProcessEnv = {};
    // keep only what a shell gives a user; drop every PULUMI_* of the caller
    for (const [k, v] of Object.entries(process.env)) {
        if (!k.startsWith("PULUMI_")) env[k] = v;
    }
    Object.assign(env, {
        PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
        PULUMI_HOME: path.join(work, "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: passphrase,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_SKIP_CONFIRMATIONS: "true",
        PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
        PULUMI_COPILOT: "false",
        // `make typecheck` type-checks the program; here ts-node only transpiles (seconds saved on every run)
        PULUMI_NODEJS_TRANSPILE_ONLY: "true",
        NO_COLOR: "1",
    });
    return env;
}

/** Runs `pulumi <args>` in `cwd`. Never throws on a non-zero exit: tests assert on the result. */
export function pulumi(work: string, cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): RunResult {
    const started = Date.now();
    const r = spawnSync("pulumi", [...args, "--non-interactive", "--color", "never"], {
        cwd,
        env: { ...engineEnv(work), ...extraEnv },
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
        timeout: 10 * 60 * 1000,
    });
    if (r.error) throw r.error;
    const stdout = r.stdout ?? "";
    const stderr = r.stderr ?? "";
    return { code: r.status ?? -1, stdout, stderr, output: stdout + stderr, seconds: (Date.now() - started) / 1000 };
}

/** Like `pulumi`, but fails with the whole output when the command does not exit 0. */
export function pulumiOk(work: string, cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): RunResult {
    const r = pulumi(work, cwd, args, extraEnv);
    if (r.code !== 0) {
        throw new Error(`pulumi ${args.join(" ")} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    }
    return r;
}

/**
 * Runs `cmd <args>` in `cwd` with the engine's environment without blocking this process: for tests that serve
 * something (a fake Kubernetes API) from it while the engine runs. Never rejects on a non-zero exit.
 */
export function runAsync(work: string, cwd: string, cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { cwd, env: { ...engineEnv(work), ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => { stdout += d; });
        child.stderr.on("data", (d) => { stderr += d; });
        const timer = setTimeout(() => child.kill("SIGTERM"), 10 * 60 * 1000);
        child.on("error", (e) => { clearTimeout(timer); reject(e); });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code: code ?? -1, stdout, stderr, output: stdout + stderr, seconds: (Date.now() - started) / 1000 });
        });
    });
}

/** `pulumi <args>` through runAsync. */
export function pulumiAsync(work: string, cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    return runAsync(work, cwd, "pulumi", [...args, "--non-interactive", "--color", "never"], extraEnv);
}

/** Fails with the whole output when the command did not exit 0. */
export function ok(r: RunResult, what: string): RunResult {
    if (r.code !== 0) {
        throw new Error(`${what} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    }
    return r;
}

/** A fresh work dir (state backend, PULUMI_HOME, project copy, render dir) under the OS temp dir. */
export function workDir(label: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dvm-engine-${label}-`));
    fs.mkdirSync(path.join(dir, "state"));
    fs.mkdirSync(path.join(dir, "pulumi-home"));
    return dir;
}

export function removeWorkDir(dir: string): void {
    if (process.env.DVM_KEEP_ENGINE_WORK) {
        console.log(`    (kept ${dir})`);
        return;
    }
    fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Copies the project's sources (not node_modules, .git, build output or tests) to `<work>/project` and links the
 * repo's node_modules into it, so stack files and rendered manifests never land in the work tree.
 */
export function copyProject(work: string, entries: string[], from: string = repoRoot): string {
    const dest = path.join(work, "project");
    fs.mkdirSync(dest, { recursive: true });
    for (const e of entries) {
        const src = path.join(from, e);
        if (!fs.existsSync(src)) continue;
        fs.cpSync(src, path.join(dest, e), {
            recursive: true,
            filter: (s) => !s.split(path.sep).includes("node_modules"),
        });
    }
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dest, "node_modules"), "dir");
    return dest;
}

/** Every file under `dir` (relative paths), sorted. */
export function listFiles(dir: string): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else out.push(path.relative(dir, p));
        }
    };
    if (fs.existsSync(dir)) walk(dir);
    return out.sort();
}

/** Parses a multi-document YAML manifest file into objects (the `yaml` package is a program dependency). */
export function readManifests(dir: string): Array<Record<string, any>> {
    const YAML = require("yaml") as typeof import("yaml");
    const docs: Array<Record<string, any>> = [];
    for (const f of listFiles(dir)) {
        if (!/\.ya?ml$/.test(f)) continue;
        for (const d of YAML.parseAllDocuments(fs.readFileSync(path.join(dir, f), "utf8"))) {
            const js = d.toJS();
            if (js && typeof js === "object") docs.push({ ...js, __file: f });
        }
    }
    return docs;
}
