import { describe, expect, it } from 'vitest';
import { detectLocale, initialLocale, translator } from './i18n.ts';

describe('interface language', () => {
  it('follows the browser: any Chinese to zh-CN, else English', () => {
    expect(detectLocale(['zh-TW', 'en'])).toBe('zh-CN');
    expect(detectLocale(['fr-FR', 'en-GB'])).toBe('en');
    expect(detectLocale(['de'])).toBe('en');
  });

  it('prefers the saved choice over the browser', () => {
    expect(initialLocale({ getItem: () => 'en' }, ['zh-CN'])).toBe('en');
    expect(initialLocale({ getItem: () => 'xx' }, ['zh-CN'])).toBe('zh-CN');
  });

  it('fills placeholders, in both languages', () => {
    expect(translator('en')('list.unread', { count: 3 })).toBe('3 unread');
    expect(translator('zh-CN')('conv.typing.one', { name: '小明' })).toBe('小明 正在输入……');
  });
});
