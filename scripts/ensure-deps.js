#!/usr/bin/env node
// Runs before `npm start` and `npm test` so both work as the first command on a fresh clone:
// installs npm dependencies when they are missing, then finds or builds the Temporal CLI.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const marker = path.join(root, 'node_modules', '.package-lock.json');

if (!fs.existsSync(path.join(root, 'node_modules', '@temporalio', 'worker')) || !fs.existsSync(marker)) {
  process.stderr.write('[sagalane] Installing npm dependencies (npm ci)...\n');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const r = spawnSync(tsx, [path.join(root, 'src', 'dev', 'temporal-cli.ts')], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (r.status !== 0) process.exit(r.status ?? 1);
