import { it } from 'vitest';
import { answerFromPassages, chunkDocument, InMemoryKnowledgeIndex } from './index.ts';
it('perf', () => {
  const en = Array.from({ length: 300 }, (_, s) => `## Section ${s}\n\n` + Array.from({ length: 8 }, (_, p) => Array.from({ length: 6 }, (_, i) => `Paragraph ${p} sentence ${i} explains topic${s} and how the server handles widget${(s * 7 + i) % 97} under load.`).join(' ')).join('\n\n')).join('\n\n');
  const zh = Array.from({ length: 300 }, (_, s) => `## 第${s}节\n\n` + Array.from({ length: 8 }, (_, p) => Array.from({ length: 6 }, (_, i) => `第${p}段第${i}句说明了服务器如何处理订单${s}和退款${i}的问题。`).join('')).join('\n\n')).join('\n\n');
  console.log('sizes', en.length, zh.length);
  let t = performance.now();
  const chunks = [...chunkDocument({ id: 'en', app_id: 'a', kb_id: 'k', title: 'EN', source: 'en.md', text: en }), ...chunkDocument({ id: 'zh', app_id: 'a', kb_id: 'k', title: 'ZH', source: 'zh.md', text: zh })];
  console.log('chunk ms', (performance.now() - t).toFixed(0), 'chunks', chunks.length);
  t = performance.now();
  const idx = InMemoryKnowledgeIndex.fromChunks(chunks);
  console.log('index ms', (performance.now() - t).toFixed(0));
  t = performance.now();
  for (let i = 0; i < 100; i++) { const q = i % 2 ? `widget${i} under load` : `订单${i}的退款问题`; answerFromPassages(q, idx.search('a', q, { kbIds: ['k'] })); }
  console.log('100 searches+answers ms', (performance.now() - t).toFixed(0));
  const huge = 'x'.repeat(200000) + ' ' + 'word '.repeat(50000);
  t = performance.now();
  console.log('huge line chunks', chunkDocument({ id: 'h', app_id: 'a', kb_id: 'k', title: 'H', source: 'h.txt', text: huge }).length, (performance.now() - t).toFixed(0));
});
