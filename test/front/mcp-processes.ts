/**
 * Spawned `sagalane mcp` processes for the MCP tests: over stdio (the SDK's StdioClientTransport starts it) and over
 * Streamable HTTP on a free port (`--http 0`, the URL read from the process's start-up lines).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { cliPath, pollUntil, repoRoot, nodeBin } from './front-kit';

export async function stdioMcpClient(env: NodeJS.ProcessEnv, extraArgs: string[] = []): Promise<Client> {
  const transport = new StdioClientTransport({
    command: nodeBin,
    args: [cliPath, 'mcp', ...extraArgs],
    cwd: repoRoot,
    env: env as Record<string, string>,
    stderr: 'pipe',
  });
  const client = new Client({ name: 'stdio-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

export interface HttpMcpProcess {
  url: string;
  child: ChildProcess;
  /** SIGKILL to the process group: the server dies with whatever it had in memory. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

export async function spawnHttpMcp(
  env: NodeJS.ProcessEnv,
  extraArgs: string[] = [],
): Promise<HttpMcpProcess> {
  const child = spawn(nodeBin, [cliPath, 'mcp', '--http', '0', ...extraArgs], {
    cwd: repoRoot,
    env: { ...env, SAGALANE_METRICS_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: tsx runs the server in a child process, and a kill must reach both.
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await pollUntil(
    async () => stderr,
    (s) => /running; Ctrl-C/.test(s) || child.exitCode !== null,
    30_000,
    100,
  );
  const url = /MCP \(HTTP\): (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(stderr)?.[1];
  if (!url) {
    signalGroup(child, 'SIGKILL');
    throw new Error(`sagalane mcp --http did not start:\n${stderr}`);
  }
  return {
    url,
    child,
    async kill() {
      signalGroup(child, 'SIGKILL');
      await exited;
    },
    async stop() {
      signalGroup(child, 'SIGTERM');
      return exited;
    },
  };
}

export async function httpMcpClient(url: string, token?: string): Promise<Client> {
  const client = new Client({ name: 'http-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : undefined,
    }),
  );
  return client;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // the group is gone already
  }
}
