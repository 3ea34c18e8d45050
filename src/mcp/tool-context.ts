/**
 * What the tool modules share: the backends, the task store, a logger that sends MCP log notifications, and the
 * process-wide "a saga started" signal that drives `notifications/resources/list_changed`.
 */
import { EventEmitter } from 'node:events';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import { redactFields, redactText } from '../logger';
import type { McpBackends } from './backends';
import type { SagalaneTaskStore } from './task-store';
import type { ToolRegistry } from './tool-registry';
import type { FailureHandling } from './tool-results';

/** What the tool modules need, whichever protocol revision serves them. */
export interface ToolDeps {
  /** Where tools are registered (one registry per SDK server). */
  tools: ToolRegistry;
  backends: McpBackends;
  /** Sends a `notifications/message` (filtered by the client's `logging/setLevel`). */
  log(level: LoggingLevel, message: string, data?: Record<string, unknown>): void;
  /** A failure in words (describeFailure with the backends' addresses). */
  describe(err: unknown): string;
  /** For `runTool`: describes a failed call of `tool` and logs it as a warning. */
  failed(tool: string): FailureHandling;
  /** Longest a plain call waits (`waitMs`), so one call cannot hold a session for long. */
  maxWaitMs: number;
}

/** The 2025-11-25 session server's context: the tools' plus the v1 server, its task store and waits. */
export interface ToolContext extends ToolDeps {
  server: McpServer;
  store: SagalaneTaskStore;
  /** Longest one `tasks/result` waits for a task to finish before answering "still running, call again". */
  taskResultWaitMs: number;
}

/** Sagas started through any MCP server of this process: every connected session hears of it. */
export const sagaStarts = new EventEmitter<{ started: [sagaId: string] }>();
sagaStarts.setMaxListeners(0);

/**
 * Log notifications go to every client of the session, read-only ones too: the message and data lose credentials
 * (URLs, tokens) and secret-named fields the same way the process's own log lines do.
 */
export function mcpLogger(server: McpServer): ToolContext['log'] {
  return (level, message, data) => {
    if (!server.isConnected()) return;
    const text = redactText(message);
    void server.server
      .sendLoggingMessage(
        { level, logger: 'sagalane', data: data ? { message: text, ...redactFields(data) } : text },
        server.server.transport?.sessionId,
      )
      .catch(() => undefined);
  };
}
