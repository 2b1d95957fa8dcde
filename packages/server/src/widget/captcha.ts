import { Outbound, OutboundRefused } from '../outbound/index.ts';

export type CaptchaCheck = (verifierUrl: string, token: string, remoteIp: string) => Promise<boolean>;

/**
 * Asks the operator's captcha verifier, through the outbound room (its SSRF
 * rules hold: a verifier on a private address must be allowed in warbler.yaml).
 * The verifier answers 200 with {"success": true}; anything else, a timeout
 * or a refused address, is a failed captcha.
 */
export function captchaVerifier(outbound: Outbound, warn: (message: string) => void): CaptchaCheck {
  return async (verifierUrl, token, remoteIp) => {
    try {
      const answer = await outbound.send(verifierUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ token, remote_ip: remoteIp }),
        signal: AbortSignal.timeout(5_000),
        maxBytes: 16_384,
      });
      if (answer.status !== 200) return false;
      const body = JSON.parse(answer.text) as { success?: unknown };
      return body.success === true;
    } catch (err) {
      if (err instanceof OutboundRefused) warn(`widget captcha verifier refused by the outbound policy: ${err.message}`);
      return false;
    }
  };
}
