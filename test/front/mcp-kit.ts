/**
 * Helpers of the MCP tests: the SDK's own Client linked in process, tool results as text / JSON, and a check of
 * `structuredContent` against the `outputSchema` the server lists (with Ajv, as a client validates it).
 */
import Ajv from 'ajv';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';

export async function connectInProcess(server: McpServer, name = 'front-test'): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name, version: '1.0.0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return client;
}

export function textOf(result: unknown): string {
  return (result as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

export async function callJson<T>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(`${name} failed: ${textOf(result)}`);
  return JSON.parse(textOf(result)) as T;
}

/** Validates each result's structuredContent against the tool's listed outputSchema; returns the failures. */
export class OutputSchemaChecker {
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly validators = new Map<string, ReturnType<Ajv['compile']>>();

  constructor(tools: Tool[]) {
    for (const tool of tools)
      if (tool.outputSchema) this.validators.set(tool.name, this.ajv.compile(tool.outputSchema));
  }

  /** Throws unless the result has structuredContent matching the tool's schema and equal to its text. */
  check(toolName: string, result: CallToolResult): void {
    const validate = this.validators.get(toolName);
    if (!validate) throw new Error(`${toolName} declares no outputSchema`);
    if (!result.structuredContent) throw new Error(`${toolName} returned no structuredContent`);
    if (!validate(result.structuredContent))
      throw new Error(
        `${toolName}: ${this.ajv.errorsText(validate.errors)} in ${JSON.stringify(result.structuredContent)}`,
      );
    if (JSON.stringify(JSON.parse(textOf(result))) !== JSON.stringify(result.structuredContent))
      throw new Error(`${toolName}: text and structuredContent differ`);
  }
}
