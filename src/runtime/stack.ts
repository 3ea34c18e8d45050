/** What a process is made of: components started in order against one Temporal address and one metrics registry. */
import type { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config';
import type { SagalaneMetrics } from '../observability';

/** A long-running part of a process (a worker, an endpoint), started after Redis and Temporal are reachable. */
export interface StackComponent {
  name: string;
  start(ctx: StackContext): Promise<RunningComponent>;
}

export interface RunningComponent {
  /** Endpoint lines to print, e.g. `{ 'MCP (HTTP)': 'http://127.0.0.1:7300/mcp' }`. */
  endpoints?: Record<string, string>;
  stop(): Promise<void>;
}

export interface StackContext {
  config: Config;
  /** Temporal frontend `host:port`; empty in a process that does not use Temporal (an express worker). */
  temporalAddress: string;
  /** The process's one registry: every component records into it, the metrics component serves it. */
  metrics: SagalaneMetrics;
  log: (line: string) => void;
  /**
   * One Temporal connection shared by the process's saga worker and its front doors (`sagalane dev`: the MCP
   * endpoint), so sagas started there start eagerly on that worker (docs/SAGAS.md "Speed"). Its opener closes it.
   * @defaultValue none: each component connects on its own
   */
  temporalConnection?: NativeConnection;
}
