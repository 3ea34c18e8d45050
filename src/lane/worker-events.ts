/** What an ExpressWorker emits (for metrics and tests). */
import type { Lane } from './keys';

export interface ExpressWorkerEvents {
  'task:started': [{ type: string; lane: Lane; waitMs: number }];
  'task:succeeded': [{ type: string; lane: Lane; taskId: string; waitMs: number; runMs: number }];
  'task:retried': [{ type: string; lane: Lane; attempt: number; error: string }];
  'task:dead': [{ type: string; lane: Lane; reason: string }];
  /** An outcome was not written because another consumer owns the entry now (this one was cut off). */
  'task:fenced': [{ type: string; lane: Lane }];
  'orphans:reclaimed': [{ type: string; lane: Lane; count: number }];
  'ack:failed': [{ type: string; lane: Lane; error: string }];
  /** A part of the janitor's sweep failed (type and lane absent when the whole call failed); the next sweep retries. */
  'janitor:error': [{ stage: 'promote' | 'reclaim' | 'sweep'; type?: string; lane?: Lane; error: string }];
  autoscale: [{ from: number; to: number; reason: string; p95Ms: number; backlog: number }];
}
