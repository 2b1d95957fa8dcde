import { z } from 'zod';

/** A download link usable with no header (as <img src>), good for a few minutes. */
export const FileLink = z.object({
  url: z.string().describe('Path on this server, with the signature in its query'),
  /** Milliseconds since the epoch. */
  expires_at: z.number().int(),
});
export type FileLink = z.infer<typeof FileLink>;
