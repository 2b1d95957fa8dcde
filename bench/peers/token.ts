import { createHmac, timingSafeEqual } from 'node:crypto';

// The Socket.IO peer authenticates each connection like Warbler does (an HMAC
// check per handshake), so the idle bench compares authenticated connections
// on both sides. The token binds a user to the one room it may join.

const sign = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('base64url');

export function mintPeerToken(secret: string, userId: string, room: string): string {
  const body = `${userId}.${room}`;
  return `${body}.${sign(secret, body)}`;
}

export function verifyPeerToken(secret: string, token: unknown): { userId: string; room: string } | null {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [userId, room, sig] = parts as [string, string, string];
  const expected = Buffer.from(sign(secret, `${userId}.${room}`));
  const given = Buffer.from(sig);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return { userId, room };
}
