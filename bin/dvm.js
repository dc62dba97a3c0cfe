#!/usr/bin/env node
// dvm command line: `dvm watch` (live per-PVC progress from the source cluster) and `dvm status` (the table recorded
// in the stack output `migration`). The implementation is TypeScript (progress/cli.ts), run through ts-node.
"use strict";
const path = require("path");
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
const { main } = require("../progress/cli");
main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => { process.stderr.write(`dvm: ${err && err.message ? err.message : err}\n`); process.exitCode = 1; },
);
