/**
 * The concurrency policy, a pure function of what one process can see, so it is easy to reason about and test.
 *
 * It reacts to work that waits, not only to finished latency (which stays 0 while long tasks run):
 * - **Up** (×1.5, at least +1, never past `max` nor past what is waiting) when this process's slots are all busy
 *   for a lane that has waiting entries, and that work is late: the lane's latency objective (`sloMs`) was met by
 *   fewer than 95 % of its tasks of the last minute, or the oldest waiting entry is older than the target, or every
 *   slot of this process has been running longer than the target (new work would wait at least that long), or the
 *   p95 of finished tasks misses the target. (A missed objective with nothing waiting, or with free slots, is run
 *   time, which more slots do not shorten.)
 * - **Down** (halving, never below `min` nor below what runs) when nothing waits in either lane and at most half
 *   the slots are busy.
 * - Otherwise **steady**.
 *
 * A process with free slots never scales up because the group has a backlog: its free slots will take that work.
 * Each process decides from its own slots and samples on its own jittered period, so a fleet does not jump
 * together.
 */
import type { Lane } from './keys';
import { SLO_ATTAINMENT_TARGET } from './slo';

export interface LaneLoad {
  /** Entries not delivered to any consumer yet (group lag over the served streams of the lane). */
  waiting: number;
  /** Age of the oldest undelivered entry, ms (0 when none waits). */
  oldestWaitingMs: number;
  /** Handlers of this lane running in this process. */
  running: number;
  /** Slots this lane may use in this process (standard: concurrency − reserve). */
  capacity: number;
  /** Age of the most recently started task of this lane still running here, ms (0 when none runs). */
  youngestRunningMs: number;
  /**
   * Share of this lane's tasks of the last minute that met their type's `sloMs`, the lowest over its types (slo.ts);
   * undefined when no type of the lane has an objective or none finished.
   */
  attainment?: number;
}

export interface AutoscaleInput {
  current: number;
  min: number;
  max: number;
  targetP95Ms: number;
  /** p95 of submit-to-finish latency over the last interval (0 when nothing finished). */
  p95Ms: number;
  lanes: Record<Lane, LaneLoad>;
}

export interface AutoscaleDecision {
  to: number;
  reason: string;
}

const LANE_ORDER: Lane[] = ['express', 'standard'];

export function decideConcurrency(i: AutoscaleInput): AutoscaleDecision {
  const inFlight = i.lanes.express.running + i.lanes.standard.running;
  const waiting = i.lanes.express.waiting + i.lanes.standard.waiting;
  if (i.current < i.max) {
    for (const lane of LANE_ORDER) {
      const l = i.lanes[lane];
      // Full for this lane: every slot it may use is taken (express may use every slot).
      const full = lane === 'express' ? inFlight >= i.current : l.running >= l.capacity;
      if (l.waiting === 0 || !full) continue;
      const missed = l.attainment !== undefined && l.attainment < SLO_ATTAINMENT_TARGET;
      const late = missed
        ? `${lane} SLO attainment ${percent(l.attainment!)} < ${percent(SLO_ATTAINMENT_TARGET)}`
        : l.oldestWaitingMs > i.targetP95Ms
          ? `oldest waiting ${lane} entry ${Math.round(l.oldestWaitingMs)} ms old`
          : l.youngestRunningMs > i.targetP95Ms
            ? `every ${lane} slot busy for over ${Math.round(l.youngestRunningMs)} ms`
            : i.p95Ms > i.targetP95Ms
              ? `p95 ${Math.round(i.p95Ms)} ms`
              : undefined;
      if (!late) continue;
      const to = Math.min(i.max, Math.max(i.current + 1, Math.ceil(i.current * 1.5)), i.current + l.waiting);
      const against = missed ? '' : ` > target ${i.targetP95Ms} ms`;
      return { to, reason: `${late}${against} with ${l.waiting} waiting` };
    }
  }
  if (waiting === 0 && inFlight <= i.current / 2 && i.current > i.min) {
    const to = Math.max(i.min, Math.floor(i.current / 2), inFlight);
    if (to < i.current) return { to, reason: `idle: nothing waiting, ${inFlight}/${i.current} slots busy` };
  }
  return { to: i.current, reason: 'steady' };
}

const percent = (r: number) => `${Math.floor(r * 1000) / 10} %`;

/** The next sampling delay: the period ± 25 %, drawn per process, so a fleet's decisions spread out in time. */
export function jitteredInterval(periodMs: number, random: () => number = Math.random): number {
  return Math.max(1, Math.round(periodMs * (0.75 + random() * 0.5)));
}

/** Latencies finished since the last autoscale tick. */
export class LatencyWindow {
  private samples: number[] = [];
  add(ms: number): void {
    if (this.samples.length < 100_000) this.samples.push(ms);
  }
  /** p95 of the collected samples (0 if none), then starts a new window. */
  takeP95(): number {
    const s = this.samples.sort((a, b) => a - b);
    this.samples = [];
    if (s.length === 0) return 0;
    return s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)] ?? 0;
  }
}
