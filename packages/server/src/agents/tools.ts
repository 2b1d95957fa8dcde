import type { ToolDefinition } from '../llm/index.ts';
import { OutboundRefused, type Outbound } from '../outbound/index.ts';
import type { Agent, AgentTool } from './definition.ts';

/** Most characters of a tool's answer handed back to the model. */
const MAX_RESULT_CHARS = 8_000;
/** Most bytes of a tool's answer read (4 per character covers any UTF-8); the rest is not downloaded. */
const MAX_RESULT_BYTES = 4 * MAX_RESULT_CHARS + 4;
export const MAX_TOOL_ROUNDS = 5;
export const KNOWLEDGE_TOOL = 'knowledge_search';

export function toolDefinitions(tools: AgentTool[], hasKnowledge: boolean): ToolDefinition[] {
  const defs: ToolDefinition[] = tools.map((t) => ({
    type: 'function',
    function: { name: t.name, description: t.description, parameters: t.parameters },
  }));
  if (hasKnowledge) {
    defs.push({
      type: 'function',
      function: {
        name: KNOWLEDGE_TOOL,
        description: 'Search the knowledge base for passages about a question. Cite what you use with its [n] number.',
        parameters: { type: 'object', properties: { query: { type: 'string', description: 'What to look for' } }, required: ['query'] },
      },
    });
  }
  return defs;
}

/** Where refusals of a tool call are reported for the operator. */
export type ToolRefusalLog = (details: { app_id: string; agent_id: string; tool: string; url: string; reason: string }, message: string) => void;

/**
 * Runs HTTP tools: POSTs the model's arguments as JSON and returns the answer
 * as text for the model. Every call goes through Outbound, so a tool URL
 * that is (or resolves or redirects to) a private address is refused at the
 * moment of calling, whatever was checked when the agent was saved.
 * Failures come back as text too, so the model can tell the user what went
 * wrong instead of the reply failing.
 */
export class HttpTools {
  constructor(
    private readonly outbound: Outbound,
    private readonly onRefused: ToolRefusalLog = () => {},
  ) {}

  async call(agent: Pick<Agent, 'id' | 'app_id'>, tool: AgentTool, argumentsJson: string, signal: AbortSignal): Promise<string> {
    let args: unknown;
    try {
      args = argumentsJson.trim() ? JSON.parse(argumentsJson) : {};
    } catch {
      return `Tool error: the arguments were not valid JSON (${argumentsJson.slice(0, 200)}).`;
    }
    const timeout = AbortSignal.timeout(tool.timeout_ms);
    try {
      const res = await this.outbound.send(tool.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/plain', ...tool.headers },
        body: JSON.stringify(args),
        signal: AbortSignal.any([signal, timeout]),
        maxBytes: MAX_RESULT_BYTES,
      });
      const body = res.text.length > MAX_RESULT_CHARS ? `${res.text.slice(0, MAX_RESULT_CHARS)}… [truncated]` : res.text;
      return res.status >= 200 && res.status < 300 ? body : `Tool error: ${tool.name} answered HTTP ${res.status}: ${body.slice(0, 500)}`;
    } catch (err) {
      if (signal.aborted) throw err;
      if (timeout.aborted) return `Tool error: ${tool.name} did not answer within ${tool.timeout_ms} ms.`;
      if (err instanceof OutboundRefused) {
        this.onRefused({ app_id: agent.app_id, agent_id: agent.id, tool: tool.name, url: err.url, reason: err.reason }, 'outbound request refused: agent tool');
        return `Tool error: ${tool.name} is not allowed: ${err.reason}. Tell the user this tool is unavailable; the operator has to allow its host.`;
      }
      return `Tool error: ${tool.name} could not be reached (${(err as Error).message}).`;
    }
  }
}
