/**
 * Temporal's cheapest way to run one unit of work on Server 1.29.1, which has no standalone activities: a workflow
 * that runs one activity and returns its result (bench/versus-temporal.ts). Started eagerly, its workflow task and
 * (eagerly dispatched) activity may skip the task-queue round trips altogether.
 */
import { proxyActivities } from '@temporalio/workflow';

export interface UnitActivities {
  /** The unit of work: returns its input (a round trip's cost alone). */
  unit(input: unknown): Promise<unknown>;
  /** A flood task: waits on I/O or burns CPU (bench/versus-temporal.ts `FLOOD_WORK`). */
  flood(input: { kind: 'io' | 'cpu' }): Promise<number>;
}

const { unit, flood } = proxyActivities<UnitActivities>({ startToCloseTimeout: '2 minutes' });

export async function oneActivity(input: unknown): Promise<unknown> {
  return unit(input);
}

export async function oneFloodActivity(input: { kind: 'io' | 'cpu' }): Promise<number> {
  return flood(input);
}
