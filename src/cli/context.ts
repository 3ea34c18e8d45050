/**
 * What every command shares: the front door it opens (only the client it needs, closed whatever happens), the
 * failures that end a command, and the option parsers.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { clientTemporalAddress, isBackendDown, openLazyFrontDoor } from '../client/front-door';
import type { SagaClient } from '../client/saga-client';
import { loadConfigOrExit } from '../config';
import type { ExpressClient } from '../lane/express-client';

/** A command that ran but whose outcome is a failure (saga rolled back, task dead): exit 1 after printing. */
export class CommandOutcomeError extends Error {
  override readonly name = 'CommandOutcomeError';
}

/** Exit code of a command whose backend (Temporal or Redis) did not answer: EX_UNAVAILABLE from sysexits.h. */
export const EXIT_BACKEND_UNAVAILABLE = 69;

/** Opens only the saga client (Temporal), runs the command, and closes it whatever happens. */
export function withSagas(body: (sagas: SagaClient) => Promise<void>): Promise<void> {
  return withFrontDoor((door) => door.sagas().then(body));
}

/** Opens only the express client (Redis), runs the command, and closes it whatever happens. */
export function withExpress(body: (express: ExpressClient) => Promise<void>): Promise<void> {
  return withFrontDoor((door) => door.express().then(body));
}

async function withFrontDoor(
  body: (door: ReturnType<typeof openLazyFrontDoor>) => Promise<void>,
): Promise<void> {
  const config = loadConfigOrExit();
  const door = openLazyFrontDoor(config);
  try {
    await body(door);
  } catch (err) {
    // A backend lost after the client opened surfaces as a raw gRPC / ioredis error: name it like a down one.
    throw (
      isBackendDown(err, {
        temporalAddress: clientTemporalAddress(config),
        redisUrl: config.redisUrl,
      }) ?? err
    );
  } finally {
    await door.close();
  }
}

export function withJson(cmd: Command): Command {
  return cmd.option('--json', 'print one JSON document instead of text');
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function parseJson(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (err) {
    throw new InvalidArgumentError(`must be JSON (${(err as Error).message})`);
  }
}

export function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
