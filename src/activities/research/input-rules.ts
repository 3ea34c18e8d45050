/**
 * Input rules as plain constants, without zod, so the workflow's zod-free validator
 * (src/workflows/research/pipeline-input-validation.ts) can import them into the workflow bundle. The zod schemas built on
 * them live in ./agent-schemas; every other edge (lane, MCP, CLI, SagaClient) uses those schemas.
 */

/** A market symbol: 1-20 letters, digits, dot, dash or underscore (`DEMO`, `BTC-USD`, `BRK.B`). */
export const SYMBOL_PATTERN = /^[A-Za-z0-9._-]{1,20}$/;
export const SYMBOL_RULE = 'symbol must be 1-20 letters, digits, dot, dash or underscore';
