/**
 * A local Redis Cluster of the caller's own: 3 masters and 3 replicas (`redis-server --cluster-enabled yes` on free
 * loopback ports, joined by `redis-cli --cluster create … --cluster-replicas 1`), data in a temp dir, stopped and
 * removed by `stop()`. Used by `scripts/redis-cluster.ts` and by tests that need a real cluster; the shared Redis on
 * 6379 is never touched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from './wait';

export interface RedisClusterOptions {
  /** @defaultValue 3 */
  masters?: number;
  /** @defaultValue 1 */
  replicasPerMaster?: number;
  /** How long the cluster may take to report `cluster_state:ok` with every replica attached. @defaultValue 30000 */
  readyTimeoutMs?: number;
  /** Milliseconds a node may be unreachable before it counts as failed (and a replica takes over). @defaultValue 2000 */
  nodeTimeoutMs?: number;
}

export interface RedisClusterNode {
  host: string;
  port: number;
}

export interface RedisClusterHandle {
  /** Every node, masters first as `redis-cli --cluster create` assigned them. */
  nodes: RedisClusterNode[];
  /** `127.0.0.1:p1,127.0.0.1:p2,…`, the form a `REDIS_CLUSTER_NODES` setting would take. */
  nodesList: string;
  dir: string;
  /** SIGKILLs the node on `port` (a crash: no shutdown, no final save) and waits until its process is gone. */
  killNode(port: number): Promise<void>;
  /** Stops every node (SIGTERM, SIGKILL after 5 s) and removes the data dir. Safe to call twice. */
  stop(): Promise<void>;
}

export class RedisClusterError extends Error {
  override readonly name = 'RedisClusterError';
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** `count` ports that are free, each with its cluster bus port (port + 10000) free too. */
async function freeClusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count && attempt < 500; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if (ports.includes(port) || ports.includes(port - 10_000)) continue;
    if ((await canBind(port)) && (await canBind(port + 10_000))) ports.push(port);
  }
  if (ports.length < count)
    throw new RedisClusterError(`found only ${ports.length} of ${count} free port pairs`);
  return ports;
}

function redisCli(port: number, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8' });
  if (r.error)
    throw new RedisClusterError(`redis-cli could not run (${r.error.message}): install redis-tools`);
  return (r.stdout ?? '') + (r.stderr ?? '');
}

/** The shared waitFor, with this module's error: a RedisClusterError from `check` (redis-cli missing) ends it at once. */
async function waitUntil(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  let fatal: unknown;
  try {
    await waitFor(
      what,
      () => {
        try {
          return check();
        } catch (err) {
          fatal = err;
          return true;
        }
      },
      timeoutMs,
    );
  } catch (err) {
    throw new RedisClusterError((err as Error).message);
  }
  if (fatal) throw fatal;
}

export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 1;
  if (masters < 3) throw new RedisClusterError(`a Redis Cluster needs at least 3 masters (got ${masters})`);
  const total = masters * (1 + replicas);
  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-redis-cluster-'));
  const ports = await freeClusterPorts(total);
  const children: ChildProcess[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      }),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (const port of ports) {
      const nodeDir = path.join(dir, String(port));
      fs.mkdirSync(nodeDir);
      const child = spawn(
        'redis-server',
        [
          ...['--bind', '127.0.0.1', '--port', String(port), '--dir', nodeDir],
          ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
          ...['--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 2_000)],
          ...['--appendonly', 'no', '--save', '', '--logfile', path.join(nodeDir, 'redis.log')],
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.once('error', (err) =>
          reject(
            new RedisClusterError(`redis-server could not start (${err.message}): install redis-server`),
          ),
        );
        child.once('spawn', () => resolve());
      });
    }
    await waitUntil(
      `${total} redis-server nodes to answer PING`,
      () => ports.every((p) => redisCli(p, 'ping').trim() === 'PONG'),
      timeoutMs,
    );
    const created = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { encoding: 'utf8' },
    );
    if (created.status !== 0) {
      throw new RedisClusterError(
        `redis-cli --cluster create failed: ${(created.stdout + created.stderr).trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
    await waitUntil(
      `cluster_state:ok on every node with ${masters} masters and ${masters * replicas} replicas in sync`,
      () => {
        if (!ports.every((p) => redisCli(p, 'cluster', 'info').includes('cluster_state:ok'))) return false;
        const roles = clusterRoles(ports);
        return roles.masters === masters && roles.syncedReplicas === masters * replicas;
      },
      timeoutMs,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
  const killNode = async (port: number) => {
    const child = children[ports.indexOf(port)];
    if (!child) throw new RedisClusterError(`no node of this cluster on port ${port}`);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  };
  return { nodes, nodesList: nodes.map((n) => `${n.host}:${n.port}`).join(','), dir, killNode, stop };
}

export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** The master's id, for a replica. */
  masterId?: string;
  /** Slot ranges `[from, to]` a master owns. */
  slots: [number, number][];
}

/** `CLUSTER NODES` as the node on `port` sees the cluster. */
export function clusterNodes(port: number): ClusterNodeInfo[] {
  return redisCli(port, 'cluster', 'nodes')
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, master, , , , , ...slots] = line.split(' ');
      return {
        id: id!,
        port: Number(address!.split('@')[0]!.split(':').pop()),
        role: flags!.includes('slave') ? ('replica' as const) : ('master' as const),
        masterId: master === '-' ? undefined : master,
        slots: slots
          .filter((r) => /^\d/.test(r))
          .map((r) => {
            const [from, to] = r.split('-').map(Number);
            return [from!, to ?? from!] as [number, number];
          }),
      };
    });
}

/**
 * Masters that own slots (as `ports[0]` sees the cluster) and replicas whose replication link is up (each replica's
 * own `INFO replication`).
 */
export function clusterRoles(ports: number[]): { masters: number; syncedReplicas: number } {
  const masters = clusterNodes(ports[0]!).filter((n) => n.role === 'master' && n.slots.length > 0).length;
  const syncedReplicas = ports.filter((p) => {
    const info = redisCli(p, 'info', 'replication');
    return info.includes('role:slave') && info.includes('master_link_status:up');
  }).length;
  return { masters, syncedReplicas };
}
