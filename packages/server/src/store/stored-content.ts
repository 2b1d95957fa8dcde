import type { MessageContent } from '@warbler/protocol';
import { DEFAULT_JSON_LIMITS, jsonShapeProblem } from '../json-shape.ts';

const STORED_LIMITS = { ...DEFAULT_JSON_LIMITS, allowNul: true };

/** What a message whose stored content cannot be shown carries instead. */
export const UNREADABLE_CONTENT: MessageContent = Object.freeze({ text: '', unreadable: true });

/**
 * A stored message's content, read back. New content is checked before it is
 * stored, but a row written before those checks (or by hand) could hold JSON
 * that cannot be serialized again (nested thousands deep); such a message is
 * shown as unreadable instead of failing every list and history page it is in.
 */
export function readStoredContent(text: string): MessageContent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return UNREADABLE_CONTENT;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return UNREADABLE_CONTENT;
  return jsonShapeProblem(value, STORED_LIMITS) ? UNREADABLE_CONTENT : (value as MessageContent);
}
