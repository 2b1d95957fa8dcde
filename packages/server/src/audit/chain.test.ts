import { describe, expect, it } from 'vitest';
import { entryHash, GENESIS_HASH, verifyChain, type AuditContent } from './chain.ts';

function chain(n: number) {
  const rows = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const content: AuditContent = {
      app_id: 'app', seq, id: `aud_${seq}`, at: 1_700_000_000_000 + seq, actor_kind: 'master_key', actor_id: null, ip: '127.0.0.1', user_agent: null,
      action: 'agent.update', resource: 'agent', resource_id: 'a1', before: '{"name":"A"}', after: '{"name":"B"}', request_id: null,
    };
    const hash = entryHash(prev, content);
    rows.push({ ...content, prev_hash: prev, hash });
    prev = hash;
  }
  return rows;
}

describe('the audit hash chain', () => {
  it('verifies an untouched chain, and names the first entry edited, relinked, removed or reordered', () => {
    expect(verifyChain(chain(5))).toMatchObject({ checked: 5, last: { seq: 5 } });
    const edited = chain(5);
    edited[2]!.after = '{"name":"C"}';
    expect(verifyChain(edited).broken).toEqual({ seq: 3, reason: 'hash_mismatch' });
    const rehashed = chain(5);
    rehashed[2]!.after = '{"name":"C"}';
    rehashed[2]!.hash = entryHash(rehashed[2]!.prev_hash, rehashed[2]!);
    expect(verifyChain(rehashed).broken).toEqual({ seq: 4, reason: 'prev_hash_mismatch' });
    const removed = chain(5);
    removed.splice(1, 1);
    expect(verifyChain(removed).broken).toEqual({ seq: 2, reason: 'gap' });
    const firstGone = chain(3).slice(1);
    expect(verifyChain(firstGone).broken).toEqual({ seq: 1, reason: 'gap' });
  });

  it('hashes fields, not their concatenation: moving text between fields changes the hash', () => {
    const [row] = chain(1);
    const moved = { ...row!, action: 'agent.up', resource: 'dateagent' };
    expect(entryHash(GENESIS_HASH, moved)).not.toBe(row!.hash);
  });
});
