import { describe, expect, it } from 'vitest';
import { interventionReporter } from './intervention-log.ts';
import { InterventionNotes } from './intervention-notes.ts';
import type { Intervention } from './screen.ts';

const scope = { path: 'v1', app_id: 'app1', who: 'key1', policy: 'strict' } as const;

describe('interventionReporter', () => {
  it('counts and keeps every intervention of a step, and logs the step once, without excerpts, at warn when something was blocked', () => {
    const counted: unknown[] = [];
    const kept: Intervention[] = [];
    const lines: Array<{ level: string; obj: object; msg: string }> = [];
    const report = interventionReporter({
      count: (...args) => counted.push(args),
      record: (i) => kept.push(i),
      log: { info: (obj, msg) => lines.push({ level: 'info', obj, msg }), warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }) },
    });
    const masked: Intervention[] = [
      { ...scope, rule: 'pii:mobile', action: 'mask', count: 1, excerpt: 'call me on [PHONE]' },
      { ...scope, rule: 'pii:email', action: 'mask', count: 2 },
    ];
    report(masked);
    expect(counted).toEqual([['pii:mobile', 'mask', 'v1', 1], ['pii:email', 'mask', 'v1', 2]]);
    expect(kept).toEqual(masked);
    expect(lines).toEqual([{
      level: 'info',
      obj: { guardrails: [{ rule: 'pii:mobile', action: 'mask', count: 1 }, { rule: 'pii:email', action: 'mask', count: 2 }], ...scope },
      msg: 'guardrail pii:mobile mask, pii:email mask on v1',
    }]);

    report([{ ...scope, rule: 'words:banned', action: 'block', count: 1, word: 'forbidden' }]);
    expect(lines[1]).toMatchObject({ level: 'warn', obj: { guardrails: [{ rule: 'words:banned', action: 'block', count: 1, word: 'forbidden' }] }, msg: 'guardrail words:banned block on v1' });
  });

  it("tells a step in the call's own line when the call has one, and in a line of its own once that line is written", () => {
    const counted: unknown[] = [];
    const kept: Intervention[] = [];
    const lines: string[] = [];
    const report = interventionReporter({
      count: (...args) => counted.push(args),
      record: (i) => kept.push(i),
      log: { info: (_obj, msg) => lines.push(msg), warn: (_obj, msg) => lines.push(msg) },
    });
    const notes = new InterventionNotes();
    report([{ ...scope, rule: 'pii:mobile', action: 'mask', count: 1, excerpt: 'call me on [PHONE]' }, { ...scope, rule: 'pii:email', action: 'mask', count: 1 }], notes);
    report([{ ...scope, rule: 'words:rude', action: 'mask', count: 2, word: 'darn' }], notes);
    // Counted and kept as ever; no line of the step's own.
    expect(counted).toHaveLength(3);
    expect(kept.map((i) => i.rule)).toEqual(['pii:mobile', 'pii:email', 'words:rude']);
    expect(lines).toEqual([]);
    expect(notes.take()).toEqual({
      guardrails: [{ rule: 'pii:mobile', action: 'mask', count: 1 }, { rule: 'pii:email', action: 'mask', count: 1 }, { rule: 'words:rude', action: 'mask', count: 2, word: 'darn' }],
      blocked: false,
    });
    // A step after the call's line was written is not lost: it gets its own line.
    report([{ ...scope, rule: 'moderation:violence', action: 'block', count: 1 }], notes);
    expect(lines).toEqual(['guardrail moderation:violence block on v1']);
    expect(notes.take()).toBeUndefined();
  });
});
