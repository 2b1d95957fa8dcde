import type { ToolDefinition } from '../llm/index.ts';
import type { AgentTool } from './definition.ts';

/** Most characters of a tool's answer handed back to the model. */
const MAX_RESULT_CHARS = 8_000;
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

/**
 * Runs one HTTP tool: POSTs the model's arguments as JSON and returns the
 * answer as text for the model. Failures come back as text too, so the model
 * can tell the user what went wrong instead of the reply failing.
 */
export async function callHttpTool(tool: AgentTool, argumentsJson: string, signal: AbortSignal, fetchImpl: typeof fetch = fetch): Promise<string> {
  let args: unknown;
  try {
    args = argumentsJson.trim() ? JSON.parse(argumentsJson) : {};
  } catch {
    return `Tool error: the arguments were not valid JSON (${argumentsJson.slice(0, 200)}).`;
  }
  const timeout = AbortSignal.timeout(tool.timeout_ms);
  try {
    const res = await fetchImpl(tool.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/plain', ...tool.headers },
      body: JSON.stringify(args),
      signal: AbortSignal.any([signal, timeout]),
    });
    const text = await res.text();
    const body = text.length > MAX_RESULT_CHARS ? `${text.slice(0, MAX_RESULT_CHARS)}… [truncated]` : text;
    return res.ok ? body : `Tool error: ${tool.name} answered HTTP ${res.status}: ${body.slice(0, 500)}`;
  } catch (err) {
    if (signal.aborted) throw err;
    if (timeout.aborted) return `Tool error: ${tool.name} did not answer within ${tool.timeout_ms} ms.`;
    return `Tool error: ${tool.name} could not be reached (${(err as Error).message}).`;
  }
}
