/**
 * The clients the MCP bridge talks through, opened on first use: a tool whose backend is down fails on its own
 * (an `isError` result naming the backend) while the server keeps answering `initialize`, `tools/list` and the
 * tools of the other backend, and works again as soon as the backend is back. The lazy front door
 * (`openLazyFrontDoor`) is one; a pair of already open clients is another.
 */
import type { SagaClient } from '../client/saga-client';
import type { ExpressClient } from '../lane/express-client';

export interface McpBackends {
  sagas(): Promise<SagaClient>;
  express(): Promise<ExpressClient>;
}

/** Backends over clients the caller opened (and closes). */
export function fixedBackends(sagas: SagaClient, express: ExpressClient): McpBackends {
  return { sagas: async () => sagas, express: async () => express };
}
