import { describe, expect, it } from 'vitest';
import { parseQueries, rewriteRequest } from './query-rewrite.ts';

describe('query rewriting', () => {
  it('asks with the recent turns as quoted data and the latest question last', () => {
    const messages = rewriteRequest('and for Word files?', [
      { role: 'user', text: 'How big can a PDF be?' },
      { role: 'assistant', text: 'Up to 50 MB [1].' },
    ]);
    expect(messages[0]!.role).toBe('system');
    expect(messages[1]).toEqual({
      role: 'user',
      content: 'Conversation so far:\nUser: How big can a PDF be?\nAssistant: Up to 50 MB [1].\n\nLatest question:\nand for Word files?\n\nSearch queries:',
    });
  });

  it('reads one query a line, without list markers, quotes, duplicates or the question itself, at most three', () => {
    expect(parseQueries('1. "Word document size limit"\n- docx upload limit\n\n* Word document size limit\nand for Word files?\nfourth\nfifth', 'and for Word files?'))
      .toEqual(['Word document size limit', 'docx upload limit', 'fourth']);
  });

  it('reads a JSON array too, and gives nothing for an empty answer', () => {
    expect(parseQueries('["退货 运费", "return shipping cost"]', '退货谁付运费')).toEqual(['退货 运费', 'return shipping cost']);
    expect(parseQueries('  \n', 'q')).toEqual([]);
  });
});
