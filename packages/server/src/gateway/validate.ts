// Request bodies of /v1, checked by hand rather than with zod: this runs on
// every request of a path benchmarked at 1,000 requests/s, and a hand check
// of the fields the gateway relies on costs a few microseconds. Fields the
// gateway does not use pass through to upstream untouched, and upstream
// judges them (its 400 comes back as ours).
//
// The whole body's shape (depth, size, NUL) is checked first, here and not
// only by the HTTP parser: batch lines reach these functions without it, and
// everything after (token counting, JSON.stringify on the way upstream)
// recurses, so a body nested thousands deep would overflow the stack there
// and read as a provider failure.
import { jsonShapeProblem } from '../json-shape.ts';
import type { ChatMessage, ChatRequest, ToolDefinition } from '../llm/index.ts';
import { invalidRequest } from './errors.ts';

export interface ChatBody {
  /** What goes to the router: the client's body as it came (the provider decides `stream` and `stream_options`). */
  request: ChatRequest;
  stream: boolean;
  /** The client asked for the final usage chunk. */
  includeUsage: boolean;
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);
const TOOL_CHOICES = new Set(['auto', 'none', 'required']);
const FORMATS = new Set(['text', 'json_object', 'json_schema']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A body that is an object of a shape the gateway can walk; a 400 otherwise. */
function checkBody(raw: unknown): asserts raw is Record<string, unknown> {
  if (!isObject(raw)) throw invalidRequest('The body must be a JSON object.');
  const problem = jsonShapeProblem(raw);
  if (problem) throw invalidRequest(`The body was refused: ${problem}`);
}

function checkContent(content: unknown, role: string, at: string): void {
  if (typeof content === 'string') return;
  if (content === null || content === undefined) {
    if (role === 'assistant') return;
    throw invalidRequest(`${at} is required for a ${role} message.`, at);
  }
  if (!Array.isArray(content)) throw invalidRequest(`${at} must be a string or an array of content parts.`, at);
  for (let j = 0; j < content.length; j++) {
    const part = content[j] as unknown;
    const where = `${at}[${j}]`;
    if (!isObject(part)) throw invalidRequest(`${where} must be an object.`, where);
    const type = part.type;
    if (type === 'text') {
      if (typeof part.text !== 'string') throw invalidRequest(`${where}.text must be a string.`, `${where}.text`);
    } else if (type === 'image_url') {
      if (role !== 'user') throw invalidRequest(`${where}: image parts are only allowed in user messages.`, `${where}.type`);
      const image = part.image_url;
      if (!isObject(image) || typeof image.url !== 'string' || image.url === '') {
        throw invalidRequest(`${where}.image_url.url must be an http(s) URL or a data: URL.`, `${where}.image_url.url`);
      }
    } else if (type !== 'input_audio' && type !== 'file' && type !== 'refusal') {
      throw invalidRequest(`${where}.type must be one of text, image_url.`, `${where}.type`);
    }
  }
}

function checkMessages(messages: unknown): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) throw invalidRequest('messages must be a non-empty array.', 'messages');
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as unknown;
    const at = `messages[${i}]`;
    if (!isObject(m)) throw invalidRequest(`${at} must be an object.`, at);
    const role = m.role;
    if (typeof role !== 'string' || !ROLES.has(role)) throw invalidRequest(`${at}.role must be one of system, developer, user, assistant, tool.`, `${at}.role`);
    if (role === 'tool' && typeof m.tool_call_id !== 'string') throw invalidRequest(`${at}.tool_call_id is required for a tool message.`, `${at}.tool_call_id`);
    if (role === 'assistant' && m.tool_calls !== undefined && !Array.isArray(m.tool_calls)) {
      throw invalidRequest(`${at}.tool_calls must be an array.`, `${at}.tool_calls`);
    }
    checkContent(m.content, role, `${at}.content`);
  }
}

function checkTools(tools: unknown): asserts tools is ToolDefinition[] {
  if (!Array.isArray(tools)) throw invalidRequest('tools must be an array.', 'tools');
  for (let i = 0; i < tools.length; i++) {
    const t = tools[i] as unknown;
    const at = `tools[${i}]`;
    if (!isObject(t) || t.type !== 'function' || !isObject(t.function) || typeof t.function.name !== 'string' || t.function.name === '') {
      throw invalidRequest(`${at} must be { type: "function", function: { name, parameters } }.`, at);
    }
    if (t.function.parameters !== undefined && !isObject(t.function.parameters)) {
      throw invalidRequest(`${at}.function.parameters must be a JSON Schema object.`, `${at}.function.parameters`);
    }
  }
}

function checkNumber(body: Record<string, unknown>, field: string, min: number, max: number, integer = false): void {
  const v = body[field];
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw invalidRequest(`${field} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}.`, field);
  }
}

export function checkModel(body: Record<string, unknown>): string {
  const model = body.model;
  if (typeof model !== 'string' || model === '') throw invalidRequest('model is required: the name of a model (GET /v1/models lists them).', 'model');
  return model;
}

/** Checks a chat-completions body; throws a 400 OpenAiError naming the field. */
export function parseChatBody(raw: unknown): ChatBody {
  checkBody(raw);
  checkModel(raw);
  checkMessages(raw.messages);
  const stream = raw.stream;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') throw invalidRequest('stream must be true or false.', 'stream');
  const streaming = stream === true;
  const so = raw.stream_options;
  let includeUsage = false;
  if (so !== undefined && so !== null) {
    if (!streaming) throw invalidRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options');
    if (!isObject(so)) throw invalidRequest('stream_options must be an object.', 'stream_options');
    if (so.include_usage !== undefined && typeof so.include_usage !== 'boolean') throw invalidRequest('stream_options.include_usage must be true or false.', 'stream_options.include_usage');
    includeUsage = so.include_usage === true;
  }
  if (raw.tools !== undefined && raw.tools !== null) checkTools(raw.tools);
  const choice = raw.tool_choice;
  if (choice !== undefined && choice !== null) {
    const named = isObject(choice) && choice.type === 'function' && isObject(choice.function) && typeof choice.function.name === 'string';
    if (!named && !(typeof choice === 'string' && TOOL_CHOICES.has(choice))) {
      throw invalidRequest('tool_choice must be "auto", "none", "required" or { type: "function", function: { name } }.', 'tool_choice');
    }
  }
  const format = raw.response_format;
  if (format !== undefined && format !== null) {
    if (!isObject(format) || typeof format.type !== 'string' || !FORMATS.has(format.type)) {
      throw invalidRequest('response_format.type must be one of text, json_object, json_schema.', 'response_format.type');
    }
    if (format.type === 'json_schema') {
      const js = format.json_schema;
      if (!isObject(js) || typeof js.name !== 'string' || js.name === '') throw invalidRequest('response_format.json_schema.name is required.', 'response_format.json_schema.name');
      if (js.schema !== undefined && !isObject(js.schema)) throw invalidRequest('response_format.json_schema.schema must be a JSON Schema object.', 'response_format.json_schema.schema');
    }
  }
  checkNumber(raw, 'temperature', 0, 2);
  checkNumber(raw, 'top_p', 0, 1);
  checkNumber(raw, 'max_tokens', 1, 10_000_000, true);
  checkNumber(raw, 'max_completion_tokens', 1, 10_000_000, true);
  checkNumber(raw, 'n', 1, 128, true);
  // The stream relay carries one choice; several would be dropped silently.
  if (streaming && typeof raw.n === 'number' && raw.n > 1) throw invalidRequest('n greater than 1 is not supported with stream: true on this gateway; ask without streaming.', 'n');

  // The body goes to the router as it is, uncopied: the provider sets `stream` itself and
  // always asks upstream for usage (stream_options.include_usage), whatever the client sent.
  return { request: raw as unknown as ChatRequest, stream: streaming, includeUsage };
}

export interface EmbeddingsBody {
  model: string;
  input: string[];
  dimensions?: number;
  base64: boolean;
}

/** Checks an embeddings body; token-array inputs are refused (the provider port takes text). */
export function parseEmbeddingsBody(raw: unknown): EmbeddingsBody {
  checkBody(raw);
  const model = checkModel(raw);
  const input = raw.input;
  let texts: string[];
  if (typeof input === 'string') texts = [input];
  else if (Array.isArray(input) && input.length > 0 && input.every((s) => typeof s === 'string')) texts = input as string[];
  else if (Array.isArray(input) && input.length > 0) throw invalidRequest('input as token arrays is not supported by this gateway; send text.', 'input');
  else throw invalidRequest('input must be a string or a non-empty array of strings.', 'input');
  if (texts.length > 2048) throw invalidRequest('input may hold at most 2048 strings.', 'input');
  const format = raw.encoding_format;
  if (format !== undefined && format !== 'float' && format !== 'base64') throw invalidRequest('encoding_format must be "float" or "base64".', 'encoding_format');
  checkNumber(raw, 'dimensions', 1, 65_536, true);
  return { model, input: texts, ...(typeof raw.dimensions === 'number' ? { dimensions: raw.dimensions } : {}), base64: format === 'base64' };
}
