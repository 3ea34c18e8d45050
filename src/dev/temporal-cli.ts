/**
 * Finds the Temporal CLI (which embeds the dev server), building it from the Go module proxy when it is missing.
 *
 * Lookup order: `SAGALANE_TEMPORAL_CLI`, `.tools/bin/temporal`, the per-user cache `~/.cache/sagalane/bin`,
 * then `PATH`. With none found and `go` available it runs `go install …/temporal@v1.5.1` into `.tools/bin`
 * (minutes; later tags carry a `replace` directive and cannot be `go install`ed) and keeps a copy in the cache, so
 * a fresh clone on the same machine does not build again. Without Go, the Temporal SDK's own download is the
 * fallback (needs internet).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export type TemporalExecutable = { type: 'existing-path'; path: string } | { type: 'cached-download' };

export class TemporalCliNotFoundError extends Error {
  constructor(detail: string) {
    super(
      `No Temporal CLI found and none could be built (${detail}). Install Go >= 1.23 and run ` +
        `\`GOBIN=$PWD/.tools/bin go install ${TEMPORAL_CLI_MODULE}\`, or set SAGALANE_TEMPORAL_CLI to a temporal binary.`,
    );
    this.name = 'TemporalCliNotFoundError';
  }
}

export interface FindOptions {
  projectRoot?: string;
  env?: NodeJS.ProcessEnv;
  /** Where progress lines go while building. */
  log?: (line: string) => void;
}

const projectRootDefault = path.resolve(__dirname, '..', '..');
export const cacheDir = () => path.join(os.homedir(), '.cache', 'sagalane', 'bin');

export function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

export function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/** Looks for an existing binary without building anything. */
export function findTemporalCli(opts: FindOptions = {}): string | undefined {
  const env = opts.env ?? process.env;
  const root = opts.projectRoot ?? projectRootDefault;
  if (env.SAGALANE_TEMPORAL_CLI) {
    if (!isExecutable(env.SAGALANE_TEMPORAL_CLI)) {
      throw new TemporalCliNotFoundError(
        `SAGALANE_TEMPORAL_CLI=${env.SAGALANE_TEMPORAL_CLI} is not an executable file`,
      );
    }
    return env.SAGALANE_TEMPORAL_CLI;
  }
  const local = path.join(root, '.tools', 'bin', 'temporal');
  if (isExecutable(local)) return local;
  const cached = path.join(cacheDir(), 'temporal');
  if (isExecutable(cached)) {
    // Copy into the clone so `.tools/bin/temporal` is the one place scripts and docs point at.
    fs.mkdirSync(path.dirname(local), { recursive: true });
    fs.copyFileSync(cached, local);
    fs.chmodSync(local, 0o755);
    return local;
  }
  return onPath('temporal', env);
}

/** Builds the CLI with `go install`, streaming progress. Resolves to the binary path. */
export async function buildTemporalCli(opts: FindOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const root = opts.projectRoot ?? projectRootDefault;
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const go = onPath('go', env) ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) throw new TemporalCliNotFoundError('go is not on PATH');
  const gobin = path.join(root, '.tools', 'bin');
  fs.mkdirSync(gobin, { recursive: true });
  log(
    `[sagalane] Building the Temporal CLI (${TEMPORAL_CLI_MODULE}) into ${gobin}; this takes a few minutes once.`,
  );
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(go, ['install', '-v', TEMPORAL_CLI_MODULE], {
      env: { ...env, GOBIN: gobin, GOFLAGS: env.GOFLAGS ?? '-mod=mod' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let packages = 0;
    let tail = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-4000);
      packages += text.split('\n').filter((l) => l.trim() && !l.startsWith('go: downloading')).length;
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const ticker = setInterval(() => {
      log(
        `[sagalane]   still building the Temporal CLI: ${Math.round((Date.now() - started) / 1000)}s, ${packages} packages compiled`,
      );
    }, 15_000);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(err);
    });
    child.on('exit', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else
        reject(
          new TemporalCliNotFoundError(
            `go install exited with ${code}: ${tail.trim().split('\n').slice(-5).join(' | ')}`,
          ),
        );
    });
  });
  const built = path.join(gobin, 'temporal');
  if (!isExecutable(built)) throw new TemporalCliNotFoundError(`go install finished but ${built} is missing`);
  try {
    fs.mkdirSync(cacheDir(), { recursive: true });
    fs.copyFileSync(built, path.join(cacheDir(), 'temporal'));
    fs.chmodSync(path.join(cacheDir(), 'temporal'), 0o755);
  } catch (err) {
    log(`[sagalane] Could not cache the Temporal CLI in ${cacheDir()}: ${(err as Error).message}`);
  }
  log(`[sagalane] Temporal CLI built in ${Math.round((Date.now() - started) / 1000)}s: ${built}`);
  return built;
}

/**
 * The executable to hand to `@temporalio/testing`: an existing or freshly built binary, or, with no Go, the SDK's
 * own download.
 */
export async function ensureTemporalCli(opts: FindOptions = {}): Promise<TemporalExecutable> {
  const found = findTemporalCli(opts);
  if (found) return { type: 'existing-path', path: found };
  try {
    return { type: 'existing-path', path: await buildTemporalCli(opts) };
  } catch (err) {
    if (err instanceof TemporalCliNotFoundError && /go is not on PATH/.test(err.message)) {
      (opts.log ?? ((l: string) => process.stderr.write(l + '\n')))(
        '[sagalane] No Go toolchain: falling back to the Temporal SDK download of the CLI (needs internet).',
      );
      return { type: 'cached-download' };
    }
    throw err;
  }
}

export function temporalCliVersion(binary: string): string | undefined {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

if (require.main === module) {
  ensureTemporalCli()
    .then((exe) => {
      if (exe.type === 'existing-path') {
        process.stdout.write(
          `Temporal CLI: ${exe.path} (${temporalCliVersion(exe.path) ?? 'version unknown'})\n`,
        );
      } else {
        process.stdout.write('Temporal CLI: will be downloaded by the Temporal SDK on first use\n');
      }
    })
    .catch((err: Error) => {
      process.stderr.write(err.message + '\n');
      process.exit(1);
    });
}
