import { describe, expect, it } from 'vitest';
import { normalizeWord } from './normalize.ts';
import { maskRanges, WordMatcher, type WordList } from './words.ts';

// A realistic operator list: what a Chinese customer-service app may not help with, and English profanity.
const lists: WordList[] = [
  { name: 'illegal-zh', action: 'block', words: ['赌博', '代开发票', '刷单', '洗钱', '六合彩', '枪支', '冰毒', '法轮功'] },
  { name: 'illegal-en', action: 'block', words: ['money laundering', 'cocaine'] },
  { name: 'profanity-en', action: 'mask', words: ['ass', 'rape', 'cum', 'sex', 'hell', 'cunt', 'cock', 'shit', 'fuck*'] },
];
// Innocent phrases that contain a listed word, written in full.
const allow = ['替代开发票据', '洗钱包', '刷单词'];
const matcher = new WordMatcher(lists, allow);
const words = (text: string) => matcher.find(text).map((h) => h.word);

describe('normalized text', () => {
  it.each([
    ['ＦＵＣＫ', 'fuck'],
    ['F u c k you', 'fuck you'],
    ['f.u.c.k', 'fuck'],
    ['𝐟𝐮𝐜𝐤', 'fuck'],
    ['fu\u200Bck', 'fuck'],
    ['f̶u̶c̶k̶', 'fuck'],
    ['Money-Laundering', 'money laundering'],
    ['賭博', '赌博'],
    ['赌 博', '赌博'],
    ['赌*博', '赌博'],
    ['洗　钱', '洗钱'],
    ['法 . 轮 . 功', '法轮功'],
    ['代，开，发，票', '代开发票'],
    ['代开，发票', '代开 发票'],
    ['AV 女优', 'av女优'],
  ])('%s → %s', (text, expected) => {
    expect(normalizeWord(text)).toBe(expected);
  });
});

describe('sensitive words: evasions are caught', () => {
  it.each([
    ['我想赌博', '赌博'],
    ['我想賭博', '赌博'],
    ['可以 赌 博 吗', '赌博'],
    ['赌*博网站', '赌博'],
    ['赌😀博', '赌博'],
    ['帮我代.开.发.票', '代开发票'],
    ['代開發票', '代开发票'],
    ['六合綵开奖', '六合彩'],
    ['哪里买槍支', '枪支'],
    ['法 輪 功', '法轮功'],
    ['ｗｈｅｒｅ ｔｏ ｂｕｙ ｃｏｃａｉｎｅ', 'cocaine'],
    ['help with MONEY-LAUNDERING please', 'money laundering'],
    ['money\n  laundering', 'money laundering'],
    ['you f u c k i n g idiot', 'fuck*'],
    ['what the f*u*c*k', 'fuck*'],
    ['s.h.i.t happens', 'shit'],
    ['what a pain in the ass.', 'ass'],
    ['ASS', 'ass'],
  ])('%s finds %s', (text, word) => {
    expect(words(text)).toContain(word);
  });
});

describe('sensitive words: innocent text passes', () => {
  it.each([
    'Our class starts after the assessment; bring your passport.',
    'Grapes, a cucumber and the document you asked for.',
    'She lives in Sussex, near Essex, and visits Scunthorpe.',
    'Hello! The shell script prints "hello world".',
    'A cocktail at Hancock Park with my therapist.',
    'Mass transit and the Hellenic embassy.',
    '我们的替代开发票据系统上线了',
    '帮我洗钱包上的污渍',
    '每天刷单词五十个',
    '我们不赌，博物馆见',
    '这个产品的价格很公道',
  ])('%s', (text) => {
    expect(matcher.find(text)).toEqual([]);
  });
});

describe('sensitive words: ranges and masks', () => {
  it('reports the original range, so a mask covers exactly what the user wrote', () => {
    const text = 'go to h e l l, ＳＨＩＴ!';
    const hits = matcher.find(text);
    expect(hits.map((h) => text.slice(h.start, h.end))).toEqual(['h e l l', 'ＳＨＩＴ']);
    expect(maskRanges(text, hits)).toBe('go to ***, ***!');
  });

  it('finds a traditional, spaced-out word in the middle of Chinese text', () => {
    const text = '请问哪里可以賭 博？';
    const [hit] = matcher.find(text);
    expect(hit).toMatchObject({ list: 'illegal-zh', action: 'block', word: '赌博' });
    expect(text.slice(hit!.start, hit!.end)).toBe('賭 博');
  });

  it('a prefix word (fuck*) matches longer words; a plain one needs boundaries on both sides', () => {
    expect(words('fucked up')).toEqual(['fuck*']);
    expect(words('hellish')).toEqual([]);
    expect(words('heck, hell!')).toEqual(['hell']);
  });

  it('an empty list matches nothing and costs nothing', () => {
    const empty = new WordMatcher([{ name: 'none', action: 'flag', words: ['', '  '] }]);
    expect(empty.size).toBe(0);
    expect(empty.find('anything')).toEqual([]);
  });
});

describe('hostile input', () => {
  it('stays linear on a prompt full of listed words and allowed phrases', () => {
    const text = '替代开发票据 代开发票 fuck '.repeat(30_000);
    const t0 = performance.now();
    const hits = matcher.find(text);
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(hits.filter((h) => h.word === '代开发票')).toHaveLength(30_000);
    expect(hits.filter((h) => h.word === 'fuck*')).toHaveLength(30_000);
  });
});
