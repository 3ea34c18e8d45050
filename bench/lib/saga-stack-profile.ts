/**
 * Where one real-agents saga's time goes on the `npm start` stack (bench:saga's real-agents subject,
 * ./saga-stack-subject.ts): sagas one at a time through the embedding client, then, from their Temporal histories,
 * each step's activity split into its dispatch wait (Scheduled → Started) and its run (Started → Completed: for a
 * lane-dispatched step that is the submit, the lane worker's read, the agent and the completion call), the time in
 * workflow tasks, and the CPU each process of the stack spent per saga (`/proc/<pid>/stat` of every process in the
 * stack's process group: the `sagalane dev` node process with its worker threads, the Temporal dev server, Redis if
 * it started one). CPU per saga is the robust figure on a shared box; wall clock moves with the neighbours.
 *
 *   npx tsx bench/lib/saga-stack-profile.ts [--sagas 20] [--concurrency 1] [--cpu-prof <dir>]
 *
 * `--cpu-prof <dir>` runs the stack with `node --cpu-prof` (one profile per thread: main, workflow threads, pool
 * threads), summarised by `npx tsx bench/lib/cpu-profile-summary.ts <dir>/*.cpuprofile`.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { openRedis, type RedisClient } from '../../src/lane/redis-connections';
import { startStackSubject } from './saga-stack-subject';
import { summarize } from './stats';

const PIPELINE = { idea: 'trend following with moving averages', symbol: 'DEMO' };
const TICK_MS = 1000 / 100; // USER_HZ is 100 on Linux

function intArg(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} must be a positive integer`);
  return v;
}

interface ProcCpu {
  name: string;
  ms: number;
}

/** utime+stime of every process whose process group is `pgid`, by pid. */
function groupCpu(pgid: number): Map<number, ProcCpu> {
  const out = new Map<number, ProcCpu>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // Fields after the name: state(0) ppid(1) pgrp(2) … utime(11) stime(12).
    if (Number(fields[2]) !== pgid) continue;
    out.set(Number(entry), { name, ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS });
  }
  return out;
}

/** utime+stime of each thread of `pid`, by thread id (names: `comm`, e.g. tokio-runtime-w for Temporal core). */
function threadCpu(pid: number): Map<number, ProcCpu> {
  const out = new Map<number, ProcCpu>();
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    out.set(Number(tid), {
      name: stat.slice(stat.indexOf('(') + 1, close),
      ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS,
    });
  }
  return out;
}

function cpuDelta(before: Map<number, ProcCpu>, after: Map<number, ProcCpu>): Map<string, number> {
  const byName = new Map<string, number>();
  for (const [pid, a] of after) {
    const d = a.ms - (before.get(pid)?.ms ?? 0);
    byName.set(a.name, (byName.get(a.name) ?? 0) + d);
  }
  return byName;
}

function millis(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
}

/** Calls per command from INFO commandstats (e.g. `evalsha` → 1234). */
async function redisCommandStats(redis: RedisClient): Promise<Map<string, number>> {
  const info = await (redis as { info(section: string): Promise<string> }).info('commandstats');
  const out = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

interface StepTiming {
  wait: number[];
  run: number[];
}

async function main(): Promise<void> {
  const sagaCount = intArg('--sagas', 20);
  const concurrency = intArg('--concurrency', 1);
  const p = process.argv.indexOf('--cpu-prof');
  const profileDir = p >= 0 ? process.argv[p + 1] : undefined;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = openRedis(redisUrl);
  const stack = await startStackSubject({
    redisUrl,
    keyPrefix: `sagaprof-${Date.now().toString(36)}`,
    ...(profileDir ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
  });
  try {
    const runOne = async () => {
      const t = performance.now();
      const { sagaId } = await stack.sagas.startPipeline(PIPELINE);
      await stack.sagas.result(sagaId);
      return { sagaId, ms: performance.now() - t };
    };
    for (let i = 0; i < 5; i++) await runOne();
    // What the stack costs doing nothing (background loops), so per-saga figures can be read against it.
    const idleS = 5;
    const idleRedis = await redisCommandStats(redis);
    const idleCpu = groupCpu(stack.pid);
    await new Promise((r) => setTimeout(r, idleS * 1000));
    const idleRedisAfter = await redisCommandStats(redis);
    const idleCpuAfter = cpuDelta(idleCpu, groupCpu(stack.pid));
    let idleCommands = 0;
    for (const [cmd, n] of idleRedisAfter) idleCommands += n - (idleRedis.get(cmd) ?? 0);
    console.log(
      `idle for ${idleS} s: ${(idleCommands / idleS).toFixed(0)} Redis commands/s; CPU ms/s: ` +
        [...idleCpuAfter.entries()].map(([name, ms]) => `${name} ${(ms / idleS).toFixed(1)}`).join(', '),
    );
    const redisBefore = await redisCommandStats(redis);
    const before = groupCpu(stack.pid);
    const threadsBefore = threadCpu(stack.pid);
    const ownBefore = process.cpuUsage();
    const t0 = performance.now();
    const runs: { sagaId: string; ms: number }[] = [];
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (runs.length < sagaCount) {
          const slot = runs.length;
          runs.push({ sagaId: '', ms: 0 });
          runs[slot] = await runOne();
        }
      }),
    );
    const wallS = (performance.now() - t0) / 1000;
    const cpu = cpuDelta(before, groupCpu(stack.pid));
    const redisAfter = await redisCommandStats(redis);
    const threadsAfter = threadCpu(stack.pid);
    const threads = cpuDelta(threadsBefore, threadsAfter);
    // Worker threads (the SDK's workflow threads, piscina's pool threads) are all named `node`: list the busiest.
    const busiest = [...threadsAfter.entries()]
      .map(([tid, t]) => ({ tid, name: t.name, ms: t.ms - (threadsBefore.get(tid)?.ms ?? 0) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 8);
    const own = process.cpuUsage(ownBefore);
    const lat = summarize(runs.map((r) => r.ms));
    console.log(
      `${sagaCount} sagas at concurrency ${concurrency}: p50 ${lat.p50.toFixed(1)} ms, p95 ${lat.p95.toFixed(1)} ms, ` +
        `${(sagaCount / wallS).toFixed(1)} sagas/s`,
    );
    console.log('CPU per saga by process (ms):');
    let total = 0;
    for (const [name, ms] of [...cpu.entries()].sort((a, b) => b[1] - a[1])) {
      if (ms <= 0) continue;
      total += ms;
      console.log(`  ${name.padEnd(20)} ${(ms / sagaCount).toFixed(1)}`);
    }
    console.log('  … of `sagalane dev` (pid ' + stack.pid + ') by thread name:');
    for (const [name, ms] of [...threads.entries()].sort((a, b) => b[1] - a[1])) {
      if (ms > 0) console.log(`      ${name.padEnd(18)} ${(ms / sagaCount).toFixed(1)}`);
    }
    console.log('  … busiest threads (the main thread is tid = pid):');
    for (const t of busiest) {
      if (t.ms > 0) console.log(`      ${`${t.tid} ${t.name}`.padEnd(24)} ${(t.ms / sagaCount).toFixed(1)}`);
    }
    const clientMs = (own.user + own.system) / 1000;
    console.log(`  ${'(client: this)'.padEnd(20)} ${(clientMs / sagaCount).toFixed(1)}`);
    console.log(`  ${'total'.padEnd(20)} ${((total + clientMs) / sagaCount).toFixed(1)}`);

    // Commands of every client of this Redis (use a Redis of the run's own for a clean count: REDIS_URL).
    const commands = [...redisAfter.entries()]
      .map(([cmd, calls]) => [cmd, calls - (redisBefore.get(cmd) ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]);
    const totalCommands = commands.reduce((a, [, n]) => a + n, 0);
    console.log(
      `Redis commands per saga: ${(totalCommands / sagaCount).toFixed(1)} (` +
        commands.map(([c, n]) => `${c} ${(n / sagaCount).toFixed(1)}`).join(', ') +
        ')',
    );
    const connection = await Connection.connect({ address: stack.temporalAddress });
    const client = new Client({ connection });
    const steps = new Map<string, StepTiming>();
    const wft = { wait: [] as number[], run: [] as number[], count: 0 };
    const firstToLast: number[] = [];
    const eventCounts = new Map<string, number>();
    for (const { sagaId } of runs) {
      const events = (await client.workflow.getHandle(sagaId).fetchHistory()).events ?? [];
      const scheduled = new Map<string, { type: string; at: number }>();
      const started = new Map<string, number>();
      let wftScheduled = 0;
      let wftStarted = 0;
      firstToLast.push(millis(events[events.length - 1]!.eventTime) - millis(events[0]!.eventTime));
      for (const e of events) {
        const kind = Object.keys(e).find(
          (k) => k.endsWith('EventAttributes') && e[k as keyof typeof e] != null,
        );
        if (kind)
          eventCounts.set(
            kind.replace(/EventAttributes$/, ''),
            (eventCounts.get(kind.replace(/EventAttributes$/, '')) ?? 0) + 1,
          );
        const at = millis(e.eventTime);
        const id = String(e.eventId);
        if (e.activityTaskScheduledEventAttributes) {
          scheduled.set(id, { type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', at });
        } else if (e.activityTaskStartedEventAttributes) {
          const s = String(e.activityTaskStartedEventAttributes.scheduledEventId);
          started.set(s, at);
          const t = steps.get(scheduled.get(s)!.type) ?? { wait: [], run: [] };
          t.wait.push(at - scheduled.get(s)!.at);
          steps.set(scheduled.get(s)!.type, t);
        } else if (e.activityTaskCompletedEventAttributes) {
          const s = String(e.activityTaskCompletedEventAttributes.scheduledEventId);
          steps.get(scheduled.get(s)!.type)!.run.push(at - started.get(s)!);
        } else if (e.workflowTaskScheduledEventAttributes) {
          wftScheduled = at;
        } else if (e.workflowTaskStartedEventAttributes) {
          wftStarted = at;
          wft.wait.push(at - wftScheduled);
        } else if (e.workflowTaskCompletedEventAttributes) {
          wft.run.push(at - wftStarted);
          wft.count++;
        }
      }
    }
    if (process.argv.includes('--show-history')) {
      const events = (await client.workflow.getHandle(runs.at(-1)!.sagaId).fetchHistory()).events ?? [];
      for (const e of events) {
        const kind = Object.keys(e).find(
          (k) => k.endsWith('EventAttributes') && e[k as keyof typeof e] != null,
        )!;
        const attrs = e[kind as keyof typeof e] as Record<string, unknown>;
        const detail =
          kind === 'upsertWorkflowSearchAttributesEventAttributes'
            ? Object.keys((attrs.searchAttributes as { indexedFields: object }).indexedFields).join(',')
            : kind === 'markerRecordedEventAttributes'
              ? String(attrs.markerName)
              : kind === 'activityTaskScheduledEventAttributes'
                ? String((attrs.activityType as { name: string }).name)
                : '';
        console.log(
          `  ${String(e.eventId).padStart(3)} ${millis(e.eventTime).toFixed(1)} ${kind.replace(/EventAttributes$/, '')} ${detail}`,
        );
      }
    }
    await connection.close();
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    const per = (a: number[]) => (sum(a) / runs.length).toFixed(1);
    console.log(`history, first → last event: ${per(firstToLast)} ms per saga`);
    const totalEvents = [...eventCounts.values()].reduce((a, b) => a + b, 0);
    console.log(
      `events per saga: ${(totalEvents / runs.length).toFixed(1)} (` +
        [...eventCounts.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => `${k} ${(n / runs.length).toFixed(1)}`)
          .join(', ') +
        ')',
    );
    console.log('per step (ms per saga, summed over the saga): dispatch wait, run');
    for (const [type, t] of steps)
      console.log(`  ${type.padEnd(20)} ${per(t.wait).padStart(6)} ${per(t.run).padStart(7)}`);
    console.log(
      `  ${'workflow tasks'.padEnd(20)} ${per(wft.wait).padStart(6)} ${per(wft.run).padStart(7)}  (${(
        wft.count / runs.length
      ).toFixed(1)} per saga)`,
    );
  } finally {
    await stack.stop();
    redis.disconnect();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
