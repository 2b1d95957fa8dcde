import { describe, expect, it } from 'vitest';
import { PRESETS, presetOptions, providersFromEnv } from './presets.ts';

describe('provider presets', () => {
  it('reads keys and base URLs from the environment', () => {
    expect(presetOptions('openai', {}, { OPENAI_API_KEY: 'sk-1' })).toMatchObject({ name: 'openai', baseURL: 'https://api.openai.com/v1', apiKey: 'sk-1' });
    expect(presetOptions('openai', {}, { OPENAI_API_KEY: 'sk-1', OPENAI_BASE_URL: 'http://proxy/v1' }).baseURL).toBe('http://proxy/v1');
    expect(presetOptions('doubao', {}, { ARK_API_KEY: 'ark' })).toMatchObject({ baseURL: 'https://ark.cn-beijing.volces.com/api/v3', apiKey: 'ark' });
    expect(presetOptions('deepseek', {}, { DEEPSEEK_API_KEY: 'ds' })).toMatchObject({ baseURL: 'https://api.deepseek.com', apiKey: 'ds' });
    expect(presetOptions('qwen', {}, { DASHSCOPE_API_KEY: 'q' })).toMatchObject({ baseURL: 'https://dashscope.aliyuncs.com/compatible-mode/v1', apiKey: 'q' });
    expect(PRESETS.doubao.currency).toBe('CNY');
  });

  it('lets explicit settings win over the environment', () => {
    expect(presetOptions('deepseek', { apiKey: 'explicit', name: 'ds-eu' }, { DEEPSEEK_API_KEY: 'env' })).toMatchObject({ apiKey: 'explicit', name: 'ds-eu' });
  });

  it('finds Ollama under /v1 however its URL is written', () => {
    expect(presetOptions('ollama', {}, {}).baseURL).toBe('http://127.0.0.1:11434/v1');
    expect(presetOptions('ollama', {}, { OLLAMA_BASE_URL: 'http://gpu-box:11434' }).baseURL).toBe('http://gpu-box:11434/v1');
    expect(presetOptions('ollama', {}, { OLLAMA_BASE_URL: 'http://gpu-box:11434/v1/' }).baseURL).toBe('http://gpu-box:11434/v1');
  });

  it('turns on only the providers the environment configures', () => {
    expect([...providersFromEnv({}).keys()]).toEqual([]);
    expect([...providersFromEnv({ OPENAI_API_KEY: 'k', DASHSCOPE_API_KEY: 'q', OLLAMA_BASE_URL: 'http://x:11434' }).keys()]).toEqual(['openai', 'qwen', 'ollama']);
  });
});
