/**
 * Step outputs in Redis: one hash per saga and step at `<prefix>:artifact:{<sagaId>}:<step>`. The saga id is the
 * hash tag, so a saga's artifacts share a Redis Cluster slot. Steps are a fixed set, so listing a saga's artifacts
 * reads at most three known keys (no SCAN).
 *
 * Every artifact is signed: `mac` is an HMAC-SHA256, under a key that is never in Redis, of the saga id and step it
 * is stored for and every field (so an artifact copied to another saga's key fails too), and `keyId` names the key.
 * `get` says whether the signature holds (`integrity`). The key is `SAGALANE_ARTIFACT_KEY` when set (every process of
 * a deployment sets the same); without it each process makes its own at start, so an artifact another process wrote
 * cannot be verified here (`unverifiable`), and the steps that run stored code regenerate it instead
 * (./codegen-agent `storedStrategyCode`).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '../../core';
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
  /**
   * `verified`: signed with this process's key and unchanged. `tampered`: changed since it was signed, unsigned, or
   * (with a configured key) signed with another key. `unverifiable`: signed by another process's own key (no
   * `SAGALANE_ARTIFACT_KEY`), which this process cannot check.
   */
  integrity: 'verified' | 'tampered' | 'unverifiable';
}

/** The key artifacts are signed with, and whether it was configured (shared by every process) or made here. */
export interface ArtifactSigningKey {
  key: Buffer;
  configured: boolean;
}

let processKey: ArtifactSigningKey | undefined;

/**
 * The signing key from `SAGALANE_ARTIFACT_KEY` (`config.artifactKey`) when given, else this process's own (random,
 * made once, never written anywhere).
 */
export function artifactSigningKey(secret?: string): ArtifactSigningKey {
  if (secret !== undefined) {
    return { key: createHash('sha256').update(`sagalane-artifact-key:${secret}`).digest(), configured: true };
  }
  processKey ??= { key: randomBytes(32), configured: false };
  return processKey;
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
    private readonly signing: ArtifactSigningKey = artifactSigningKey(),
  ) {
    this.keyId = createHmac('sha256', signing.key)
      .update('sagalane artifact key id')
      .digest('hex')
      .slice(0, 16);
  }

  private readonly keyId: string;

  private mac(sagaId: string, step: ArtifactStep, fields: Record<string, string | undefined>): string {
    const signed = [sagaId, step, fields.contentType, fields.createdAt, fields.meta, fields.body];
    return createHmac('sha256', this.signing.key).update(JSON.stringify(signed)).digest('hex');
  }

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
    const fields = { contentType, createdAt: new Date().toISOString(), meta: JSON.stringify(meta), body };
    const write = this.redis.multi().hset(key, {
      sagaId,
      step,
      ...fields,
      keyId: this.keyId,
      mac: this.mac(sagaId, step, fields),
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
      integrity: this.integrityOf(sagaId, step, h),
    };
  }

  private integrityOf(
    sagaId: string,
    step: ArtifactStep,
    h: Record<string, string | undefined>,
  ): StoredArtifact['integrity'] {
    if (h.keyId !== this.keyId || h.mac === undefined) {
      // Another process's own key, unless the key is configured: then every writer had it.
      // (An unsigned artifact is no weaker than one naming a key this process lacks: anyone can write either.)
      return this.signing.configured ? 'tampered' : 'unverifiable';
    }
    const expected = Buffer.from(this.mac(sagaId, step, h), 'hex');
    const found = Buffer.from(h.mac, 'hex');
    return found.length === expected.length && timingSafeEqual(found, expected) ? 'verified' : 'tampered';
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
    const pipeline = this.redis.pipeline();
    for (const step of ARTIFACT_STEPS) {
      pipeline.hmget(this.key(sagaId, step), 'contentType', 'createdAt');
      pipeline.hstrlen(this.key(sagaId, step), 'body');
    }
    const replies = (await pipeline.exec()) ?? [];
    const out: (ArtifactRef & { contentType: string; createdAt: string })[] = [];
    ARTIFACT_STEPS.forEach((step, i) => {
      const [err, fields] = replies[2 * i] ?? [];
      const [lenErr, bytes] = replies[2 * i + 1] ?? [];
      if (err || lenErr) throw err ?? lenErr;
      const [contentType, createdAt] = (fields as (string | null)[] | undefined) ?? [];
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
