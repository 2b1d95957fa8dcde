import { describe, expect, it } from 'vitest';
import { InterventionNotes } from './intervention-notes.ts';
import type { Intervention } from './screen.ts';

const scope = { path: 'v1', app_id: 'app1', who: null, policy: 'default' } as const;

describe('InterventionNotes', () => {
  it('has nothing to tell when nothing fired', () => {
    expect(new InterventionNotes().take()).toBeUndefined();
  });

  it('tells every step once, without excerpts, and says when one blocked', () => {
    const notes = new InterventionNotes();
    const masked: Intervention = { ...scope, rule: 'pii:email', action: 'mask', count: 1, excerpt: 'mail [EMAIL_1] now' };
    const blocked: Intervention = { ...scope, rule: 'words:illegal', action: 'block', count: 1, word: '赌博', excerpt: '想了解***的' };
    expect(notes.add([masked])).toBe(true);
    expect(notes.add([blocked])).toBe(true);
    expect(notes.take()).toEqual({
      guardrails: [{ rule: 'pii:email', action: 'mask', count: 1 }, { rule: 'words:illegal', action: 'block', count: 1, word: '赌博' }],
      blocked: true,
    });
    expect(notes.add([masked])).toBe(false);
    expect(notes.take()).toBeUndefined();
  });
});
