import { z } from 'zod';
import { Id } from './models.ts';

/**
 * A member's own settings for a conversation: pinned (listed first) and muted
 * (no notification, not counted in the unread total). Each user sets them for
 * themselves only; nobody else in the conversation sees or hears of them.
 */
export const MemberPrefs = z.object({
  conversation_id: Id,
  pinned: z.boolean(),
  muted: z.boolean(),
  /** When the member pinned it (pinned ones sort by this, newest pin first); null when not pinned. */
  pinned_at: z.number().int().nullable(),
});
export type MemberPrefs = z.infer<typeof MemberPrefs>;

/** The body of PATCH /api/conversations/:id/prefs: either field or both. */
export const MemberPrefsPatch = z
  .object({
    pinned: z.boolean().optional(),
    muted: z.boolean().optional(),
    user_id: Id.optional().describe('With the app secret: the member whose settings change'),
  })
  .refine((p) => p.pinned !== undefined || p.muted !== undefined, { message: 'Send pinned, muted or both.' });
export type MemberPrefsPatch = z.infer<typeof MemberPrefsPatch>;

/** Pushed to the member's own sessions (their other tabs and devices) after they pin, unpin, mute or unmute. */
export interface MemberPrefsPushFrame extends MemberPrefs {
  type: 'member.prefs';
  ts: number;
}
