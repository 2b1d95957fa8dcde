import type { Message } from '@warbler/protocol';
import { describe, expect, it } from 'vitest';
import { AgentConfig, type Agent } from './definition.ts';
import { isReset, mentions, shouldReply } from './triggers.ts';

const agent = (group: 'mention' | 'all' = 'mention'): Agent => ({
  id: 'bot', app_id: 'a', created_at: 0, updated_at: 0,
  config: AgentConfig.parse({ name: 'Warbler Assistant', trigger: { group } }),
});
const msg = (text: string, sender = 'alice', extra: Record<string, unknown> = {}): Message => ({
  id: 'm', app_id: 'a', conversation_id: 'c', seq: 1, sender_id: sender, client_msg_id: null, type: 'text',
  content: { text, ...extra }, state: 'complete', created_at: 0, updated_at: 0, edited_at: null,
});

describe('agent triggers', () => {
  it('answers every message in a direct chat, but never itself', () => {
    expect(shouldReply(agent(), 'direct', msg('hi'), false, 0)).toBe(true);
    expect(shouldReply(agent(), 'direct', msg('hi', 'bot'), true, 0)).toBe(false);
  });

  it('answers @mentions in groups, by name (any case, not a longer word) or by id in content.mentions', () => {
    expect(shouldReply(agent(), 'group', msg('what time is it?'), false, 0)).toBe(false);
    expect(shouldReply(agent(), 'group', msg('@warbler assistant, what time is it?'), false, 0)).toBe(true);
    expect(mentions(msg('@Warbler Assistants unite'), agent())).toBe(false);
    expect(mentions(msg('请问 @Warbler Assistant 退款政策'), agent())).toBe(true);
    expect(mentions(msg('hey', 'alice', { mentions: ['bot'] }), agent())).toBe(true);
  });

  it('answers everything in groups set to "all", except other agents that do not name it', () => {
    expect(shouldReply(agent('all'), 'group', msg('anyone?'), false, 0)).toBe(true);
    expect(shouldReply(agent('all'), 'group', msg('anyone?', 'other-bot'), true, 0)).toBe(false);
  });

  it('stops agents from talking to each other without end', () => {
    expect(shouldReply(agent(), 'group', msg('@Warbler Assistant over to you', 'other-bot'), true, 0)).toBe(true);
    expect(shouldReply(agent(), 'group', msg('@Warbler Assistant over to you', 'other-bot'), true, 3)).toBe(false);
    expect(shouldReply(agent(), 'direct', msg('ping', 'other-bot'), true, 0)).toBe(false);
  });

  it('does not answer streaming, failed or system messages, and knows /reset', () => {
    expect(shouldReply(agent(), 'direct', { ...msg('x'), state: 'streaming' }, false, 0)).toBe(false);
    expect(isReset(msg(' /RESET '))).toBe(true);
    expect(isReset(msg('/reset please'))).toBe(false);
  });
});
