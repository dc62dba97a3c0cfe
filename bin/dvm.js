#!/usr/bin/env node
// dvm command line: the compiled CLI (cli/*.ts -> build/cli/, `npm run build`; `npm ci` builds it too).
"use strict";
const fs = require("fs");
const path = require("path");
const main = path.join(__dirname, "..", "build", "cli", "main.js");
if (!fs.existsSync(main)) {
    process.stderr.write(`dvm: ${path.relative(process.cwd(), main)} is missing: run \`npm run build\` (npm ci runs it too)\n`);
    process.exit(1);
}
require(main).main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => { process.stderr.write(`dvm: ${err && err.message ? err.message : err}\n`); process.exitCode = 1; },
);
