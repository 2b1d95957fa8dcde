import { randomBytes } from 'node:crypto';

/**
 * Ids are a short type prefix and 16 random bytes in base64url: unguessable,
 * so an id alone never grants access, and readable in logs.
 */
export function newId(prefix: 'app' | 'usr' | 'cnv' | 'msg' | 'fil'): string {
  return `${prefix}_${randomBytes(16).toString('base64url')}`;
}

/** High-entropy secrets for app secrets and generated master keys. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
