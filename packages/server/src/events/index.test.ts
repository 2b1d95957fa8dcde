import { describe, expect, it } from 'vitest';
import { DomainEvents, type DomainEvent } from './index.ts';

describe('domain events', () => {
  it('gives each listener the event, stamped, and waits for them', async () => {
    const seen: DomainEvent[] = [];
    const events = new DomainEvents();
    events.on(async (event) => { await new Promise((r) => setImmediate(r)); seen.push(event); });
    await events.emit({ type: 'csat.submitted', appId: 'a', data: { rating: 4 } });
    expect(seen).toEqual([{ type: 'csat.submitted', appId: 'a', at: expect.any(Number), data: { rating: 4 } }]);
  });

  it('reports a failing listener without failing the emitter or the other listeners', async () => {
    const errors: unknown[] = [];
    const seen: string[] = [];
    const events = new DomainEvents((err) => errors.push(err));
    events.on(() => { throw new Error('outbox down'); });
    const off = events.on((event) => { seen.push(event.type); });
    await events.emit({ type: 'message.created', appId: 'a', data: {} });
    off();
    await events.emit({ type: 'message.created', appId: 'a', data: {} });
    expect(seen).toEqual(['message.created']);
    expect(errors).toHaveLength(2);
  });
});
