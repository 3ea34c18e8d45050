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
  /** Progress lines while building. */
  log?: (line: string) => void;
}

/** The cached binary, built with `go install <pkg>@<version>` first when it is missing (minutes, once). */
export async function ensureGoBinary(bin: GoBinary, opts: EnsureBinaryOptions = {}): Promise<string> {
  const target = cachedBinaryPath(bin);
  if (isExecutable(target)) return target;
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const go = findGo(env);
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
  log(`[sagalane] Building ${bin.pkg}@${bin.version} into ${cacheDir()}; this takes a few minutes once.`);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(go, ['install', `${bin.pkg}@${bin.version}`], {
        env: { ...env, GOBIN: gobin },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let tail = '';
      const keep = (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-4000));
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const ticker = setInterval(() => log(`[sagalane]   still building ${bin.name}: ${seconds()}s`), 30_000);
      child.on('error', (err) => {
        clearInterval(ticker);
        reject(new GoBuildError(`could not run ${go}: ${err.message}`));
      });
      child.on('exit', (code) => {
        clearInterval(ticker);
        if (code === 0) resolve();
        else {
          const last = tail.trim().split('\n').slice(-5).join(' | ');
          reject(new GoBuildError(`go install ${bin.pkg}@${bin.version} exited with ${code}: ${last}`));
        }
      });
    });
    const built = path.join(gobin, path.basename(bin.pkg));
    if (!isExecutable(built)) throw new GoBuildError(`go install finished but ${built} is missing`);
    fs.renameSync(built, target);
  } finally {
    fs.rmSync(gobin, { recursive: true, force: true });
  }
  log(`[sagalane] Built ${bin.name} ${bin.version} in ${seconds()}s: ${target}`);
  return target;
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
