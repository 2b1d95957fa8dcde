// A /v1/responses create body, checked by hand (as validate.ts does for chat:
// this is the /v1 hot path) and turned into the chat-completions request
// every Warbler provider speaks. Input items are kept in the Responses shape
// for storage (previous_response_id, input_items); messages are derived.
import type { ChatMessage, ContentPart, ChatRequest, WireToolCall } from '../../llm/index.ts';
import { jsonShapeProblem } from '../../json-shape.ts';
import { invalidRequest } from '../errors.ts';

export type InputItem = Record<string, unknown>;

export interface ResponsesBody {
  model: string;
  /** This turn's input as items (a string input becomes one user message item). */
  input: InputItem[];
  instructions: string | null;
  previousResponseId: string | null;
  store: boolean;
  stream: boolean;
  /** The fields echoed on the Response object, as the client sent them (defaults filled in). */
  echo: ResponseEcho;
  /** Chat fields the request maps to (tools, tool_choice, response_format, sampling, limits). */
  chatFields: Partial<ChatRequest> & Record<string, unknown>;
}

export interface ResponseEcho {
  tools: Record<string, unknown>[];
  tool_choice: unknown;
  text: { format: Record<string, unknown> };
  temperature: number | null;
  top_p: number | null;
  max_output_tokens: number | null;
  parallel_tool_calls: boolean;
  metadata: Record<string, unknown>;
  user: string | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const ROLES = new Set(['user', 'assistant', 'system', 'developer']);
const SKIPPED_ITEMS = new Set(['reasoning']);

function optionalNumber(body: Record<string, unknown>, field: string, min: number, max: number, integer = false): number | null {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw invalidRequest(`${field} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}.`, field);
  }
  return v;
}

function optionalString(body: Record<string, unknown>, field: string): string | null {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw invalidRequest(`${field} must be a string.`, field);
  return v;
}

function optionalBoolean(body: Record<string, unknown>, field: string, fallback: boolean): boolean {
  const v = body[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw invalidRequest(`${field} must be true or false.`, field);
  return v;
}

function checkInputItems(input: unknown): InputItem[] {
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: input }];
  if (!Array.isArray(input)) throw invalidRequest('input must be a string or an array of input items.', 'input');
  for (let i = 0; i < input.length; i++) {
    const item = input[i] as unknown;
    const at = `input[${i}]`;
    if (!isObject(item)) throw invalidRequest(`${at} must be an object.`, at);
    const type = item.type ?? 'message';
    if (type === 'message') {
      if (typeof item.role !== 'string' || !ROLES.has(item.role)) throw invalidRequest(`${at}.role must be one of user, assistant, system, developer.`, `${at}.role`);
      if (typeof item.content !== 'string' && !Array.isArray(item.content)) throw invalidRequest(`${at}.content must be a string or an array of content parts.`, `${at}.content`);
    } else if (type === 'function_call') {
      if (typeof item.call_id !== 'string' || typeof item.name !== 'string' || typeof item.arguments !== 'string') {
        throw invalidRequest(`${at} must be { type: "function_call", call_id, name, arguments }.`, at);
      }
    } else if (type === 'function_call_output') {
      if (typeof item.call_id !== 'string') throw invalidRequest(`${at}.call_id is required.`, `${at}.call_id`);
      if (typeof item.output !== 'string' && !Array.isArray(item.output)) throw invalidRequest(`${at}.output must be a string.`, `${at}.output`);
    } else if (type === 'item_reference') {
      if (typeof item.id !== 'string') throw invalidRequest(`${at}.id is required.`, `${at}.id`);
    } else if (typeof type !== 'string' || !SKIPPED_ITEMS.has(type)) {
      throw invalidRequest(
        `${at}.type "${String(type)}" is not supported on this gateway: send message, function_call, function_call_output or item_reference items.`,
        `${at}.type`,
      );
    }
  }
  return input as InputItem[];
}

/** Function tools in the Responses shape → chat tools. Built-in tools (web_search, file_search...) run at OpenAI only. */
function chatTools(tools: unknown): { echo: Record<string, unknown>[]; chat: ChatRequest['tools'] } {
  if (tools === undefined || tools === null) return { echo: [], chat: undefined };
  if (!Array.isArray(tools)) throw invalidRequest('tools must be an array.', 'tools');
  const chat: NonNullable<ChatRequest['tools']> = [];
  for (let i = 0; i < tools.length; i++) {
    const t = tools[i] as unknown;
    const at = `tools[${i}]`;
    if (!isObject(t)) throw invalidRequest(`${at} must be an object.`, at);
    if (t.type !== 'function') {
      throw invalidRequest(`${at}.type "${String(t.type)}": only function tools are supported on this gateway (built-in tools run at OpenAI only).`, `${at}.type`);
    }
    if (typeof t.name !== 'string' || t.name === '') throw invalidRequest(`${at}.name is required.`, `${at}.name`);
    if (t.parameters !== undefined && t.parameters !== null && !isObject(t.parameters)) throw invalidRequest(`${at}.parameters must be a JSON Schema object.`, `${at}.parameters`);
    const fn: NonNullable<ChatRequest['tools']>[number]['function'] = { name: t.name };
    if (typeof t.description === 'string') fn.description = t.description;
    if (isObject(t.parameters)) fn.parameters = t.parameters;
    if (typeof t.strict === 'boolean') fn.strict = t.strict;
    chat.push({ type: 'function', function: fn });
  }
  const echo = (tools as Record<string, unknown>[]).map((t) => ({ description: null, parameters: null, strict: true, ...t }));
  return { echo, chat };
}

function chatToolChoice(choice: unknown): ChatRequest['tool_choice'] | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (isObject(choice) && choice.type === 'function' && typeof choice.name === 'string') return { type: 'function', function: { name: choice.name } };
  throw invalidRequest('tool_choice must be "auto", "none", "required" or { type: "function", name }.', 'tool_choice');
}

function chatFormat(text: unknown): { echo: Record<string, unknown>; chat: ChatRequest['response_format'] } {
  const plain = { type: 'text' };
  if (text === undefined || text === null) return { echo: plain, chat: undefined };
  if (!isObject(text)) throw invalidRequest('text must be an object.', 'text');
  const f = text.format;
  if (f === undefined || f === null) return { echo: plain, chat: undefined };
  if (!isObject(f)) throw invalidRequest('text.format must be an object.', 'text.format');
  if (f.type === 'text') return { echo: plain, chat: undefined };
  if (f.type === 'json_object') return { echo: f, chat: { type: 'json_object' } };
  if (f.type === 'json_schema') {
    if (typeof f.name !== 'string' || f.name === '') throw invalidRequest('text.format.name is required for json_schema.', 'text.format.name');
    if (!isObject(f.schema)) throw invalidRequest('text.format.schema must be a JSON Schema object.', 'text.format.schema');
    const js: { name: string; schema: Record<string, unknown>; strict?: boolean; description?: string } = { name: f.name, schema: f.schema };
    if (typeof f.strict === 'boolean') js.strict = f.strict;
    if (typeof f.description === 'string') js.description = f.description;
    return { echo: f, chat: { type: 'json_schema', json_schema: js } };
  }
  throw invalidRequest('text.format.type must be one of text, json_object, json_schema.', 'text.format.type');
}

/** Checks a create body; throws a 400 OpenAiError naming the field. */
export function parseResponsesBody(raw: unknown): ResponsesBody {
  if (!isObject(raw)) throw invalidRequest('The body must be a JSON object.');
  const problem = jsonShapeProblem(raw);
  if (problem) throw invalidRequest(`The body was refused: ${problem}`);
  const model = raw.model;
  if (typeof model !== 'string' || model === '') throw invalidRequest('model is required: the name of a model (GET /v1/models lists them).', 'model');
  if (raw.background === true) throw invalidRequest('background: true is not supported on this gateway; stream the response, or wait for it.', 'background');
  if (raw.conversation !== undefined && raw.conversation !== null) {
    throw invalidRequest('conversation is not supported on this gateway; chain turns with previous_response_id.', 'conversation');
  }
  const input = checkInputItems(raw.input);
  const instructions = optionalString(raw, 'instructions');
  const previousResponseId = optionalString(raw, 'previous_response_id');
  if (input.length === 0 && !previousResponseId) throw invalidRequest('input must not be empty.', 'input');
  const tools = chatTools(raw.tools);
  const toolChoice = chatToolChoice(raw.tool_choice);
  const format = chatFormat(raw.text);
  const temperature = optionalNumber(raw, 'temperature', 0, 2);
  const topP = optionalNumber(raw, 'top_p', 0, 1);
  const maxOutput = optionalNumber(raw, 'max_output_tokens', 1, 10_000_000, true);
  const parallel = optionalBoolean(raw, 'parallel_tool_calls', true);
  const user = optionalString(raw, 'user');
  if (raw.metadata !== undefined && raw.metadata !== null && !isObject(raw.metadata)) throw invalidRequest('metadata must be an object.', 'metadata');

  const chatFields: ResponsesBody['chatFields'] = {};
  if (tools.chat && tools.chat.length > 0) {
    chatFields.tools = tools.chat;
    if (raw.parallel_tool_calls === false) chatFields.parallel_tool_calls = false;
  }
  if (toolChoice !== undefined && tools.chat && tools.chat.length > 0) chatFields.tool_choice = toolChoice;
  if (format.chat) chatFields.response_format = format.chat;
  if (temperature !== null) chatFields.temperature = temperature;
  if (topP !== null) chatFields.top_p = topP;
  // max_tokens, not max_completion_tokens: every OpenAI-compatible server takes it.
  if (maxOutput !== null) chatFields.max_tokens = maxOutput;
  if (user !== null) chatFields.user = user;
  const effort = isObject(raw.reasoning) ? raw.reasoning.effort : undefined;
  if (typeof effort === 'string') chatFields.reasoning_effort = effort;

  return {
    model,
    input,
    instructions,
    previousResponseId,
    store: optionalBoolean(raw, 'store', true),
    stream: optionalBoolean(raw, 'stream', false),
    echo: {
      tools: tools.echo,
      tool_choice: raw.tool_choice ?? 'auto',
      text: { format: format.echo },
      temperature: temperature ?? 1,
      top_p: topP ?? 1,
      max_output_tokens: maxOutput,
      parallel_tool_calls: parallel,
      metadata: (raw.metadata as Record<string, unknown> | undefined) ?? {},
      user,
    },
    chatFields,
  };
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const p of content as Record<string, unknown>[]) {
    if (typeof p?.text === 'string') out += p.text;
    else if (typeof p?.refusal === 'string') out += p.refusal;
  }
  return out;
}

function userContent(content: unknown, at: string): string | ContentPart[] {
  if (typeof content === 'string') return content;
  const parts: ContentPart[] = [];
  (content as Record<string, unknown>[]).forEach((p, j) => {
    const where = `${at}.content[${j}]`;
    if (!isObject(p)) throw invalidRequest(`${where} must be an object.`, where);
    if ((p.type === 'input_text' || p.type === 'output_text' || p.type === 'text') && typeof p.text === 'string') parts.push({ type: 'text', text: p.text });
    else if (p.type === 'input_image') {
      if (typeof p.image_url !== 'string' || p.image_url === '') {
        throw invalidRequest(`${where}.image_url must be an http(s) URL or a data: URL (file_id images are not supported on this gateway).`, `${where}.image_url`);
      }
      const detail = p.detail === 'low' || p.detail === 'high' || p.detail === 'auto' ? p.detail : undefined;
      parts.push({ type: 'image_url', image_url: { url: p.image_url, ...(detail ? { detail } : {}) } });
    } else {
      throw invalidRequest(`${where}.type must be input_text or input_image (${String(p.type)} is not supported on this gateway).`, `${where}.type`);
    }
  });
  // One text part is sent as plain text: what every chat server takes, and what the client most likely typed.
  return parts.length === 1 && parts[0]!.type === 'text' ? parts[0]!.text : parts;
}

/**
 * Items (earlier turns' and this one's) as chat messages: instructions first
 * as a system message, consecutive function calls as one assistant message
 * with tool_calls, outputs as tool messages. Reasoning items are dropped.
 */
export function toChatMessages(items: readonly InputItem[], instructions: string | null): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (instructions) messages.push({ role: 'system', content: instructions });
  let calls: WireToolCall[] | undefined;
  items.forEach((item, i) => {
    const type = item.type ?? 'message';
    if (type === 'function_call') {
      const call: WireToolCall = { id: item.call_id as string, type: 'function', function: { name: item.name as string, arguments: item.arguments as string } };
      if (calls) calls.push(call);
      else {
        const last = messages[messages.length - 1];
        // A function call right after the assistant's text is one chat message, as the model produced it.
        if (last?.role === 'assistant' && !last.tool_calls) last.tool_calls = calls = [call];
        else {
          calls = [call];
          messages.push({ role: 'assistant', content: null, tool_calls: calls });
        }
      }
      return;
    }
    calls = undefined;
    if (type === 'function_call_output') {
      messages.push({ role: 'tool', tool_call_id: item.call_id as string, content: textOf(item.output) });
    } else if (type === 'message') {
      const role = item.role as 'user' | 'assistant' | 'system' | 'developer';
      if (role === 'user') messages.push({ role, content: userContent(item.content, `input[${i}]`) });
      // developer is OpenAI's newer name for system; DeepSeek, Ollama and older servers know only system.
      else messages.push({ role: role === 'developer' ? 'system' : role, content: textOf(item.content) });
    }
  });
  return messages;
}
