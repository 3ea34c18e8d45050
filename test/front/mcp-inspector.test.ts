/**
 * The MCP Inspector's CLI (a third-party MCP client) against `sagalane mcp`: over stdio with Temporal and Redis both
 * down it still lists every tool; over Streamable HTTP against the real stack it lists them and calls one.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { READ_TOOLS, WRITE_TOOLS } from '../../src/mcp/server';
import { freePort } from '../helpers/ports';
import { cliPath, repoRoot, startFrontStack, nodeBin, type FrontStack } from './front-kit';
import { spawnHttpMcp, type HttpMcpProcess } from './mcp-processes';

jest.setTimeout(120_000);

const inspector = path.join(repoRoot, 'node_modules/.bin/mcp-inspector');
const run = promisify(execFile);

async function inspect(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  const { stdout } = await run(inspector, ['--cli', ...args], { cwd: repoRoot, env, timeout: 90_000 });
  return JSON.parse(stdout) as unknown;
}

describe('MCP Inspector CLI', () => {
  let stack: FrontStack | undefined;
  let http: HttpMcpProcess | undefined;
  afterAll(async () => {
    await http?.kill();
    await stack?.stop();
  });

  it('lists every tool over stdio with Temporal and Redis down', async () => {
    const nothing = await freePort();
    const listed = (await inspect([
      '-e',
      `TEMPORAL_ADDRESS=127.0.0.1:${nothing}`,
      '-e',
      `REDIS_URL=redis://127.0.0.1:${nothing}`,
      nodeBin,
      cliPath,
      'mcp',
      '--method',
      'tools/list',
    ])) as { tools: { name: string }[] };
    expect(listed.tools.map((t) => t.name).sort()).toEqual([...READ_TOOLS, ...WRITE_TOOLS].sort());
  });

  it('lists the tools and calls one over Streamable HTTP', async () => {
    stack = await startFrontStack('front-mcp-inspector', { expressWorker: false });
    http = await spawnHttpMcp(stack.env);
    const listed = (await inspect([http.url, '--method', 'tools/list'])) as { tools: { name: string }[] };
    expect(listed.tools).toHaveLength(READ_TOOLS.length + WRITE_TOOLS.length);
    const called = (await inspect([http.url, '--method', 'tools/call', '--tool-name', 'lane_stats'])) as {
      isError?: boolean;
      structuredContent: { lanes: unknown[] };
    };
    expect(called.isError).toBeFalsy();
    expect(called.structuredContent.lanes.length).toBeGreaterThan(0);
  });
});
