/**
 * The SLA-driven concurrency decision, kept pure so it is easy to reason about and test: scale up while work
 * waits and the observed p95 latency misses the target; scale down when nothing waits and slots sit idle.
 */
export interface AutoscaleInput {
  current: number;
  min: number;
  max: number;
  /** p95 of submit-to-finish latency over the last interval (0 when nothing finished). */
  p95Ms: number;
  targetP95Ms: number;
  /** Entries not yet delivered to any consumer (group lag, summed over the served streams). */
  waiting: number;
  /** Delivered but unacknowledged entries, group-wide. */
  pending: number;
  inFlight: number;
}

export interface AutoscaleDecision {
  to: number;
  reason: string;
}

export function decideConcurrency(i: AutoscaleInput): AutoscaleDecision {
  if (i.waiting > 0 && i.p95Ms > i.targetP95Ms && i.current < i.max) {
    const to = Math.min(i.max, Math.max(i.current + 1, Math.ceil(i.current * 1.5)));
    return {
      to,
      reason: `p95 ${Math.round(i.p95Ms)} ms > target ${i.targetP95Ms} ms with ${i.waiting} waiting`,
    };
  }
  if (i.waiting === 0 && i.inFlight <= i.current / 2 && i.current > i.min) {
    const to = Math.max(i.min, Math.floor(i.current / 2), i.inFlight);
    if (to < i.current) return { to, reason: `idle: nothing waiting, ${i.inFlight}/${i.current} slots busy` };
  }
  return { to: i.current, reason: 'steady' };
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
