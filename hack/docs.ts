// `make docs`: rewrites the generated blocks of docs/configuration.md from the option tables (config/options.ts) and
// the permissions table of docs/cli.md (components/access.ts). test/unit/options.test.ts and access.test.ts fail while
// a page differs from what this writes.
import * as fs from "fs";
import * as path from "path";
import { regenerateAccess } from "../components/access";
import { regenerate } from "../config/options";

const page = path.join(__dirname, "..", "docs", "configuration.md");
const before = fs.readFileSync(page, "utf8");
const after = regenerate(before);
if (after !== before) fs.writeFileSync(page, after);
console.log(`docs: ${path.relative(process.cwd(), page)} ${after === before ? "was up to date" : "regenerated"}`);

const cli = path.join(__dirname, "..", "docs", "cli.md");
const cliBefore = fs.readFileSync(cli, "utf8");
const cliAfter = regenerateAccess(cliBefore);
if (cliAfter !== cliBefore) fs.writeFileSync(cli, cliAfter);
console.log(`docs: ${path.relative(process.cwd(), cli)} ${cliAfter === cliBefore ? "was up to date" : "regenerated"}`);
