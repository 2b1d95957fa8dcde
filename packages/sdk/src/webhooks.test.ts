import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyWebhook, WebhookVerificationError } from './webhooks.ts';

const secret = 'whsec_abc';
const body = JSON.stringify({ id: 'evt_1', type: 'message.created', app_id: 'default', created_at: 1, data: { text: '你好' } });
const sign = (ts: number, b = body, s = secret) => `v1=${createHmac('sha256', s).update(`evt_1.${ts}.${b}`).digest('hex')}`;
const headers = (ts: number, signature = sign(ts)) => ({ 'warbler-webhook-id': 'evt_1', 'warbler-webhook-timestamp': String(ts), 'warbler-webhook-signature': signature });
const now = 1_700_000_000_000;
const ts = now / 1000;

describe('verifyWebhook', () => {
  it('returns the event when the signature and timestamp are good (Node headers or Headers)', async () => {
    expect((await verifyWebhook({ body, headers: headers(ts), secret, now })).data).toEqual({ text: '你好' });
    expect((await verifyWebhook({ body, headers: new Headers(headers(ts)), secret, now })).id).toBe('evt_1');
  });

  it('accepts any of several signatures (a rotation in progress)', async () => {
    await expect(verifyWebhook({ body, headers: headers(ts, `${sign(ts, body, 'whsec_other')} ${sign(ts)}`), secret, now })).resolves.toBeTruthy();
  });

  it('refuses a changed body, a wrong secret, a missing header and a replay outside 5 minutes', async () => {
    await expect(verifyWebhook({ body: body.replace('你好', 'hi'), headers: headers(ts), secret, now })).rejects.toThrow(WebhookVerificationError);
    await expect(verifyWebhook({ body, headers: headers(ts), secret: 'whsec_wrong', now })).rejects.toThrow(/No signature matches/);
    await expect(verifyWebhook({ body, headers: { 'warbler-webhook-id': 'evt_1' }, secret, now })).rejects.toThrow(/Missing/);
    await expect(verifyWebhook({ body, headers: headers(ts - 301), secret, now })).rejects.toThrow(/timestamp/);
    await expect(verifyWebhook({ body, headers: headers(ts - 299), secret, now })).resolves.toBeTruthy();
  });
});
