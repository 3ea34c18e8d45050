/**
 * The errors an agent can raise, each with a stable `type` (the Temporal ApplicationFailure type and the express
 * lane's error code) and whether trying again can help. The Temporal wrapper (./index.ts) and the express lane map
 * them in one place each; agents never import Temporal.
 */

/**
 * Base class: `retryable` says whether the same input can succeed on a later attempt; `nonRetryable` is its
 * negation under the name Temporal's `ApplicationFailure` uses, which the express lane's worker honours (a task
 * failing with `nonRetryable === true` is dead-lettered at once with the message as its reason).
 */
export abstract class AgentError extends Error {
  abstract readonly type: string;
  abstract readonly retryable: boolean;
  get nonRetryable(): boolean {
    return !this.retryable;
  }
  constructor(
    message: string,
    /** Structured details a caller may show (file, row, data set name…). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The input of a step is malformed (bad saga id, plan, parameters…). Fix the input; retrying will not help. */
export class InvalidAgentInputError extends AgentError {
  readonly type = 'InvalidInput';
  readonly retryable = false;
}

/** Strict planning (`strict: true`) could not map the idea to a family, or the idea named unusable numbers. */
export class UnmappableIdeaError extends AgentError {
  readonly type = 'UnmappableIdea';
  readonly retryable = false;
}

/** The named data set is neither a file in the data directory nor an existing allowed path. */
export class DatasetNotFoundError extends AgentError {
  readonly type = 'DatasetNotFound';
  readonly retryable = false;
}

/** A data set path points outside the allowed directories (path traversal). */
export class DatasetAccessError extends AgentError {
  readonly type = 'DatasetAccessDenied';
  readonly retryable = false;
}

/** The CSV is malformed or too short for the strategy; the message names the file and row. */
export class MarketDataError extends AgentError {
  readonly type = 'BadMarketData';
  readonly retryable = false;
}

/** Generated strategy code failed to compile, threw, returned garbage or ran past its time limit. */
export class GeneratedCodeError extends AgentError {
  readonly type = 'GeneratedCodeFailed';
  readonly retryable = false;
}

/** A step needs an artifact an earlier step should have stored (e.g. ml without codegen's code). */
export class ArtifactMissingError extends AgentError {
  readonly type = 'ArtifactMissing';
  readonly retryable = false;
}

/**
 * A stored artifact is not what the step that wrote it stored: its signature does not hold, or its code is not what
 * codegen writes for its plan. Refused (the saga rolls back); it is not run.
 */
export class ArtifactTamperedError extends AgentError {
  readonly type = 'ArtifactTampered';
  readonly retryable = false;
}

/**
 * The LLM provider failed: no answer in time, an HTTP error, or an answer that is not a valid plan. Retryable
 * (models answer differently next time, endpoints recover) unless `retryable: false` is given, which the provider
 * does for answers that cannot change by retrying (401/403/404: wrong key, model or URL).
 */
export class LlmProviderError extends AgentError {
  readonly type = 'LlmProviderFailed';
  readonly retryable: boolean;
  constructor(message: string, details?: Record<string, unknown>, retryable = true) {
    super(message, details);
    this.retryable = retryable;
  }
}
