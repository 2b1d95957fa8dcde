import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EnvelopeError, envelopeVersion, openText, sealText } from './envelope.ts';

const key = randomBytes(32);

describe('sealed values', () => {
  it('open with the key and the row they were sealed for, and name their key version', () => {
    const sealed = sealText(key, 3, '{"text":"你好 hello"}', 'messages.content\u0000app\u0000msg_1');
    expect(sealed.startsWith('wae1.3.')).toBe(true);
    expect(envelopeVersion(sealed)).toBe(3);
    expect(openText(key, sealed, 'messages.content\u0000app\u0000msg_1')).toBe('{"text":"你好 hello"}');
  });

  it('refuse to open in another row, another app, under another version or after a bit flipped', () => {
    const sealed = sealText(key, 1, 'secret', 'messages.content\u0000app\u0000msg_1');
    expect(() => openText(key, sealed, 'messages.content\u0000app\u0000msg_2')).toThrow(EnvelopeError);
    expect(() => openText(key, sealed, 'messages.content\u0000other\u0000msg_1')).toThrow(EnvelopeError);
    expect(() => openText(key, sealed.replace('wae1.1.', 'wae1.2.'), 'messages.content\u0000app\u0000msg_1')).toThrow(EnvelopeError);
    const body = Buffer.from(sealed.slice('wae1.1.'.length), 'base64url');
    body[14]! ^= 1;
    expect(() => openText(key, `wae1.1.${body.toString('base64url')}`, 'messages.content\u0000app\u0000msg_1')).toThrow(EnvelopeError);
    expect(() => openText(randomBytes(32), sealed, 'messages.content\u0000app\u0000msg_1')).toThrow(EnvelopeError);
  });

  it('tell plaintext from before encryption apart', () => {
    expect(envelopeVersion('{"text":"hi"}')).toBeUndefined();
    expect(envelopeVersion('wae1.x.abc')).toBeUndefined();
  });
});
