/**
 * The Go binaries a Temporal server on PostgreSQL needs, built once with `go install` and kept in the per-user
 * cache `~/.cache/sagalane/bin` (next to the Temporal CLI, src/dev/temporal-cli.ts) under versioned names, so every
 * clone on the machine and CI reuse them.
 *
 * - temporal-server: `go.temporal.io/server/cmd/server` v1.29.1, the same server the Temporal CLI v1.5.1 embeds.
 * - temporal-sql-tool: `go.temporal.io/server/cmd/tools/sql` v1.29.1, which sets up and upgrades the schemas
 *   (embedded in it: `--schema-name postgresql/v12/temporal`).
 * - temporal-ui-server: `github.com/temporalio/ui-server/v2/cmd/server` v2.42.1, the Web UI server the Temporal CLI
 *   v1.5.1 embeds in `server start-dev` (the CLI has no command that serves the UI alone).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir, isExecutable, onPath } from './temporal-cli';

export interface GoBinary {
  /** File name in the cache, without the version. */
  name: string;
  /** Go package path of the main package. */
  pkg: string;
  version: string;
  /**
   * The module that holds `pkg`, when it must be built in that module's own directory: `go install <pkg>@<version>`
   * refuses a module whose go.mod has `replace` directives (Jaeger's does), and a build inside the module honours them
   * exactly as its own release builds do.
   */
  module?: string;
}

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';

export const TEMPORAL_SERVER: GoBinary = {
  name: 'temporal-server',
  pkg: 'go.temporal.io/server/cmd/server',
  version: TEMPORAL_SERVER_VERSION,
};
export const TEMPORAL_SQL_TOOL: GoBinary = {
  name: 'temporal-sql-tool',
  pkg: 'go.temporal.io/server/cmd/tools/sql',
  version: TEMPORAL_SERVER_VERSION,
};
export const TEMPORAL_UI_SERVER: GoBinary = {
  name: 'temporal-ui-server',
  pkg: 'github.com/temporalio/ui-server/v2/cmd/server',
  version: 'v2.42.1',
};

export class GoBuildError extends Error {
  override readonly name = 'GoBuildError';
}

/** Where `bin` is (or will be) cached: `~/.cache/sagalane/bin/<name>-<version>`. */
export function cachedBinaryPath(bin: GoBinary): string {
  return path.join(cacheDir(), `${bin.name}-${bin.version}`);
}

function findGo(env: NodeJS.ProcessEnv): string | undefined {
  return onPath('go', env) ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

export interface EnsureBinaryOptions {
  env?: NodeJS.ProcessEnv;
  /** The go command; default `go` on PATH, then /usr/local/go/bin/go (scripts/ensure-deps.js passes SAGALANE_GO). */
  go?: string;
  /** Progress lines while building. */
  log?: (line: string) => void;
}

/** The cached binary, built with `go install <pkg>@<version>` first when it is missing (minutes, once). */
export async function ensureGoBinary(bin: GoBinary, opts: EnsureBinaryOptions = {}): Promise<string> {
  const target = cachedBinaryPath(bin);
  if (isExecutable(target)) return target;
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const go = opts.go ?? findGo(env);
  if (!go) {
    throw new GoBuildError(
      `${bin.name} is not in ${cacheDir()} and there is no Go toolchain to build it: install Go >= 1.25 ` +
        `(https://go.dev/dl) or put a ${bin.pkg}@${bin.version} build at ${target}.`,
    );
  }
  fs.mkdirSync(cacheDir(), { recursive: true });
  // A private GOBIN: two processes building at once do not overwrite each other, and the rename below is atomic.
  const gobin = fs.mkdtempSync(path.join(cacheDir(), `.build-${bin.name}-`));
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  let tail = '';
  log(`[sagalane] Building ${bin.pkg}@${bin.version} into ${cacheDir()}; this takes a few minutes once.`);
  try {
    const { args, cwd } = bin.module
      ? {
          // `./cmd/…` inside the module's own directory (downloaded, read-only, in the module cache).
          args: ['build', '-v', '-o', path.join(gobin, path.basename(bin.pkg))],
          cwd: await moduleDir(go, env, `${bin.module}@${bin.version}`),
        }
      : { args: ['install', '-v', `${bin.pkg}@${bin.version}`], cwd: undefined };
    if (bin.module) args.push('./' + path.posix.relative(bin.module, bin.pkg));
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(go, args, {
        cwd,
        // GOWORK and -mod=mod from the caller's environment would let the build stray from the module's own go.sum.
        env: { ...env, GOBIN: gobin, ...(bin.module ? { GOWORK: 'off', GOFLAGS: '-mod=readonly' } : {}) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let packages = 0;
      const keep = (chunk: Buffer) => {
        const text = chunk.toString();
        tail = (tail + text).slice(-4000);
        // `-v` names each package as it is compiled: a count that tells a slow build from a stuck one.
        packages += text.split('\n').filter((l) => l.trim() && !l.startsWith('go: ')).length;
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const ticker = setInterval(
        () => log(`[sagalane]   still building ${bin.name}: ${seconds()}s, ${packages} packages compiled`),
        30_000,
      );
      child.on('error', (err) => {
        clearInterval(ticker);
        reject(new GoBuildError(`could not run ${go}: ${err.message}`));
      });
      child.on('exit', (code) => {
        clearInterval(ticker);
        resolve(code);
      });
    });
    if (exitCode !== 0) {
      const last = tail.trim().split('\n').slice(-5).join(' | ');
      throw new GoBuildError(
        `go ${args.join(' ')} for ${bin.pkg}@${bin.version} exited with ${exitCode}: ${last}`,
      );
    }
    const built = path.join(gobin, path.basename(bin.pkg));
    if (!isExecutable(built)) throw new GoBuildError(`go install finished but ${built} is missing`);
    fs.renameSync(built, target);
  } finally {
    fs.rmSync(gobin, { recursive: true, force: true });
  }
  log(`[sagalane] Built ${bin.name} ${bin.version} in ${seconds()}s: ${target}`);
  return target;
}

/** The directory of `module@version` in the module cache, downloaded first if need be (`go mod download -json`). */
async function moduleDir(go: string, env: NodeJS.ProcessEnv, moduleAtVersion: string): Promise<string> {
  const child = spawn(go, ['mod', 'download', '-json', moduleAtVersion], {
    env: { ...env, GOWORK: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) => reject(new GoBuildError(`could not run ${go}: ${err.message}`)));
    child.on('exit', resolve);
  });
  try {
    const info = JSON.parse(out) as { Dir?: string; Error?: string };
    if (code === 0 && info.Dir) return info.Dir;
    throw new GoBuildError(`go mod download ${moduleAtVersion}: ${info.Error ?? `exit ${code}`}`);
  } catch (err) {
    if (err instanceof GoBuildError) throw err;
    throw new GoBuildError(
      `go mod download ${moduleAtVersion} exited with ${code}: ${out.trim().slice(-400)}`,
    );
  }
}

/** `npm run setup:temporal-postgres`: builds (or finds) the server and the sql tool; `--ui` adds the UI server. */
if (require.main === module) {
  const wanted = [
    TEMPORAL_SERVER,
    TEMPORAL_SQL_TOOL,
    ...(process.argv.includes('--ui') ? [TEMPORAL_UI_SERVER] : []),
  ];
  (async () => {
    for (const bin of wanted)
      process.stdout.write(`${bin.name} ${bin.version}: ${await ensureGoBinary(bin)}\n`);
  })().catch((err: Error) => {
    process.stderr.write(err.message + '\n');
    process.exit(1);
  });
}
