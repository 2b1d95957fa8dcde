import { createOpenAICompatibleProvider, type OpenAICompatibleOptions } from './openai-compatible.ts';
import type { LlmProvider } from './types.ts';

export type PresetName = 'openai' | 'doubao' | 'deepseek' | 'qwen' | 'ollama';

export interface ProviderPreset {
  label: string;
  baseURL: string;
  /** Where the key comes from; unset for keyless servers. */
  apiKeyEnv?: string;
  /** Where a different base URL comes from (a proxy, a region, a local server). */
  baseURLEnv?: string;
  /** What this provider bills in, for price defaults. */
  currency: 'USD' | 'CNY';
}

export const PRESETS: Readonly<Record<PresetName, ProviderPreset>> = {
  openai: { label: 'OpenAI', baseURL: 'https://api.openai.com/v1', apiKeyEnv: 'OPENAI_API_KEY', baseURLEnv: 'OPENAI_BASE_URL', currency: 'USD' },
  doubao: { label: 'Doubao (Volcengine Ark)', baseURL: 'https://ark.cn-beijing.volces.com/api/v3', apiKeyEnv: 'ARK_API_KEY', currency: 'CNY' },
  deepseek: { label: 'DeepSeek', baseURL: 'https://api.deepseek.com', apiKeyEnv: 'DEEPSEEK_API_KEY', currency: 'USD' },
  qwen: { label: 'Qwen (DashScope compatible mode)', baseURL: 'https://dashscope.aliyuncs.com/compatible-mode/v1', apiKeyEnv: 'DASHSCOPE_API_KEY', currency: 'CNY' },
  ollama: { label: 'Ollama', baseURL: 'http://127.0.0.1:11434/v1', baseURLEnv: 'OLLAMA_BASE_URL', currency: 'USD' },
};

type Env = Record<string, string | undefined>;

// People set OLLAMA_BASE_URL the way Ollama prints it (http://host:11434);
// its OpenAI-compatible API lives under /v1.
function ollamaURL(url: string): string {
  const u = new URL(url);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/v1';
  return u.toString().replace(/\/$/, '');
}

export interface PresetOverrides {
  apiKey?: string;
  baseURL?: string;
  /** Defaults to the preset name. */
  name?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  dispatcher?: OpenAICompatibleOptions['dispatcher'];
}

/** The adapter options for a preset: explicit overrides first, then the environment, then the preset's defaults. */
export function presetOptions(preset: PresetName, overrides: PresetOverrides = {}, env: Env = process.env): OpenAICompatibleOptions {
  const p = PRESETS[preset];
  let baseURL = overrides.baseURL ?? (p.baseURLEnv ? env[p.baseURLEnv] : undefined) ?? p.baseURL;
  if (preset === 'ollama') baseURL = ollamaURL(baseURL);
  const apiKey = overrides.apiKey ?? (p.apiKeyEnv ? env[p.apiKeyEnv] : undefined);
  const { name, apiKey: _k, baseURL: _u, ...rest } = overrides;
  return { name: name ?? preset, baseURL, ...(apiKey ? { apiKey } : {}), ...rest };
}

export function providerFromPreset(preset: PresetName, overrides: PresetOverrides = {}, env: Env = process.env): LlmProvider {
  return createOpenAICompatibleProvider(presetOptions(preset, overrides, env));
}

/** Any OpenAI-compatible server by base URL (vLLM, LM Studio, a corporate proxy...). */
export function customProvider(options: OpenAICompatibleOptions): LlmProvider {
  return createOpenAICompatibleProvider(options);
}

/**
 * The providers the environment turns on: each keyed preset whose key is set,
 * and Ollama when OLLAMA_BASE_URL is set (we do not probe localhost uninvited).
 */
export function providersFromEnv(env: Env = process.env): Map<PresetName, LlmProvider> {
  const out = new Map<PresetName, LlmProvider>();
  for (const name of Object.keys(PRESETS) as PresetName[]) {
    const p = PRESETS[name];
    const on = p.apiKeyEnv ? Boolean(env[p.apiKeyEnv]) : Boolean(p.baseURLEnv && env[p.baseURLEnv]);
    if (on) out.set(name, providerFromPreset(name, {}, env));
  }
  return out;
}
