import { describe, expect, it } from 'vitest';
import { SendMessageBody } from './conversations.ts';
import { CLIENT_FRAME_TYPES, ClientFrame, SendFrame } from './frames.ts';

describe('lists read from the protocol schemas', () => {
  it('knows every frame type a client may send, the receipt pair included, and nothing else', () => {
    expect([...CLIENT_FRAME_TYPES].sort()).toEqual(['delivered', 'edit', 'history', 'ping', 'read', 'recall', 'send', 'stop', 'sync', 'typing']);
    for (const type of CLIENT_FRAME_TYPES) expect(ClientFrame.safeParse({ type }).error?.issues.some((i) => i.code === 'invalid_union')).not.toBe(true);
  });

  it('lets a client send text, images and files over the socket and REST alike, never a system message', () => {
    for (const type of ['text', 'image', 'file']) {
      expect(SendFrame.safeParse({ type: 'send', id: '1', conversation_id: 'c', client_msg_id: 'm', msg_type: type, content: {} }).success).toBe(true);
      expect(SendMessageBody.safeParse({ type, content: {} }).success).toBe(true);
    }
    expect(SendFrame.safeParse({ type: 'send', id: '1', conversation_id: 'c', client_msg_id: 'm', msg_type: 'system', content: {} }).success).toBe(false);
    expect(SendMessageBody.safeParse({ type: 'system', content: {} }).success).toBe(false);
  });
});
