#!/usr/bin/env node
// The `sagalane` command (package.json "bin"). Runs the compiled CLI in dist/ when it is built and not older than the
// sources; otherwise (a fresh clone, or sources edited since `npm run build`) the TypeScript in src/ through tsx,
// registered in this process so signals and the exit code are the CLI's own.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const built = path.join(root, 'dist', 'cli', 'index.js');
const sourceDir = path.join(root, 'src');

function newestMtimeMs(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

function useBuilt() {
  if (!fs.existsSync(built)) return false;
  // An installed package ships dist/ only; a clone has both and must not run a stale build.
  if (!fs.existsSync(sourceDir)) return true;
  return fs.statSync(built).mtimeMs >= newestMtimeMs(sourceDir);
}

let cli;
if (useBuilt()) {
  cli = require(built);
} else {
  require('tsx/cjs');
  cli = require(path.join(sourceDir, 'cli', 'index.ts'));
}
cli.main(process.argv);
