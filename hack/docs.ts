// `make docs`: rewrites the generated blocks of docs/configuration.md from the option tables (config/options.ts).
// test/unit/options.test.ts fails while the page differs from what this writes.
import * as fs from "fs";
import * as path from "path";
import { regenerate } from "../config/options";

const page = path.join(__dirname, "..", "docs", "configuration.md");
const before = fs.readFileSync(page, "utf8");
const after = regenerate(before);
if (after !== before) fs.writeFileSync(page, after);
console.log(`docs: ${path.relative(process.cwd(), page)} ${after === before ? "was up to date" : "regenerated"}`);
