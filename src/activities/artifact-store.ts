/**
 * Step outputs in Redis: one hash per saga and step at `<prefix>:artifact:{<sagaId>}:<step>`. The saga id is the
 * hash tag, so a saga's artifacts share a Redis Cluster slot. Steps are a fixed set, so listing a saga's artifacts
 * reads at most three known keys (no SCAN).
 */
import type { RedisClient } from '../lane/redis-connections';
import type { ArtifactRef } from './contracts';
import { ArtifactMissingError, InvalidAgentInputError } from './errors';

export type ArtifactStep = ArtifactRef['step'];
export const ARTIFACT_STEPS: readonly ArtifactStep[] = ['codegen', 'ml', 'backtest'];

export interface StoredArtifact extends ArtifactRef {
  contentType: 'application/javascript' | 'application/json';
  createdAt: string;
  body: string;
  /** Small facts about the artifact a later step needs (e.g. the strategy family of generated code). */
  meta: Record<string, unknown>;
}

export function artifactKey(keyPrefix: string, sagaId: string, step: ArtifactStep): string {
  if (sagaId.length === 0) throw new InvalidAgentInputError('sagaId must not be empty');
  return `${keyPrefix}:artifact:{${sagaId}}:${step}`;
}

export class ArtifactStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    /** Seconds an artifact is kept after it is written; undefined keeps it until it is deleted. */
    private readonly ttlS?: number,
  ) {}

  key(sagaId: string, step: ArtifactStep): string {
    return artifactKey(this.keyPrefix, sagaId, step);
  }

  /** Stores (or replaces, when a step is retried) the saga's artifact of `step`. */
  async put(
    sagaId: string,
    step: ArtifactStep,
    body: string,
    contentType: StoredArtifact['contentType'],
    meta: Record<string, unknown> = {},
  ): Promise<ArtifactRef> {
    const key = this.key(sagaId, step);
    const write = this.redis.multi().hset(key, {
      sagaId,
      step,
      contentType,
      createdAt: new Date().toISOString(),
      meta: JSON.stringify(meta),
      body,
    });
    if (this.ttlS !== undefined) write.expire(key, this.ttlS);
    await write.exec();
    return { key, sagaId, step, bytes: Buffer.byteLength(body) };
  }

  async get(sagaId: string, step: ArtifactStep): Promise<StoredArtifact | undefined> {
    const key = this.key(sagaId, step);
    const h = await this.redis.hgetall(key);
    if (h.body === undefined) return undefined;
    return {
      key,
      sagaId,
      step,
      bytes: Buffer.byteLength(h.body),
      body: h.body,
      contentType: h.contentType as StoredArtifact['contentType'],
      createdAt: h.createdAt ?? '',
      meta: parseMeta(h.meta),
    };
  }

  /** Like `get`, but a missing artifact is an `ArtifactMissingError` naming the step that should have made it. */
  async require(sagaId: string, step: ArtifactStep, neededBy: string): Promise<StoredArtifact> {
    const found = await this.get(sagaId, step);
    if (!found) {
      throw new ArtifactMissingError(
        `${neededBy} needs the ${step} artifact of saga ${sagaId}, but ${this.key(sagaId, step)} does not exist ` +
          `(run ${step} first)`,
        { sagaId, step },
      );
    }
    return found;
  }

  /** The saga's artifacts that exist, in step order (without bodies). */
  async list(sagaId: string): Promise<(ArtifactRef & { contentType: string; createdAt: string })[]> {
    // One command per key, not a pipeline: on a Redis Cluster the steps' keys live in different slots.
    const replies = await Promise.all(
      ARTIFACT_STEPS.map((step) =>
        Promise.all([
          this.redis.hmget(this.key(sagaId, step), 'contentType', 'createdAt'),
          this.redis.hstrlen(this.key(sagaId, step), 'body'),
        ]),
      ),
    );
    const out: (ArtifactRef & { contentType: string; createdAt: string })[] = [];
    ARTIFACT_STEPS.forEach((step, i) => {
      const [fields, bytes] = replies[i]!;
      const [contentType, createdAt] = fields;
      if (contentType == null) return;
      out.push({
        key: this.key(sagaId, step),
        sagaId,
        step,
        bytes: Number(bytes),
        contentType: contentType ?? '',
        createdAt: createdAt ?? '',
      });
    });
    return out;
  }

  /** Deletes the saga's artifact of `step`; true if it existed. Deleting a missing artifact succeeds. */
  async delete(sagaId: string, step: ArtifactStep): Promise<boolean> {
    return (await this.redis.del(this.key(sagaId, step))) > 0;
  }
}

function parseMeta(raw: string | undefined): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(raw ?? '{}');
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
