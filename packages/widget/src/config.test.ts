import { describe, expect, it } from 'vitest';
import { safeColor } from './config.ts';
import { pickLocale, words } from './i18n.ts';

describe('the widget\'s language and colours', () => {
  it('speaks zh-CN on any Chinese page or browser, English otherwise, the first hint winning', () => {
    expect(pickLocale(undefined, 'zh-CN', 'en-US')).toBe('zh-CN');
    expect(pickLocale(undefined, 'zh-TW')).toBe('zh-CN');
    expect(pickLocale('en', 'zh-CN')).toBe('en');
    expect(pickLocale('', null, 'fr-FR')).toBe('en');
    expect(pickLocale()).toBe('en');
    expect(words('zh-CN').human).toBe('转人工');
    expect(words('en').human).toBe('Talk to a person');
  });

  it('takes only colour syntax from the page, so nothing else reaches its stylesheet', () => {
    expect(safeColor('#0f766e', '#000')).toBe('#0f766e');
    expect(safeColor('rgb(15, 118, 110)', '#000')).toBe('rgb(15, 118, 110)');
    expect(safeColor('teal', '#000')).toBe('teal');
    expect(safeColor('red; background: url(https://evil.example/x)', '#000')).toBe('#000');
    expect(safeColor('expression(alert(1))', '#000')).toBe('#000');
    expect(safeColor(undefined, '#000')).toBe('#000');
  });
});
