// Provider moderation as a guardrail: the prompt before it leaves (input) and
// the model's answer before the caller gets it (output), judged by a
// moderation model (OpenAI's, where configured). A flagged input is refused
// like a block word; a flagged output is withheld (docs/decisions/0022).

/** What judges a text: OpenAI's /moderations behind the gateway, or anything with the same verdict. */
export interface Moderator {
  judge(text: string, signal?: AbortSignal): Promise<ModerationVerdict>;
}

export interface ModerationVerdict {
  flagged: boolean;
  /** The categories that fired (OpenAI's names: violence, hate/threatening, ...). */
  categories: string[];
}

export interface ModerationSettings {
  /** Judge each prompt before it is sent; a flagged one is refused (400) and costs nothing. */
  input: boolean;
  /** Judge each answer before it is returned; a flagged one is withheld (the call was made and is billed). */
  output: boolean;
}

export const NO_MODERATION: ModerationSettings = { input: false, output: false };

/** A flagged text, in the words of a client error (the rule that fired, what to do). */
export class ModerationFlagged extends Error {
  override name = 'ModerationFlagged';
  readonly rule: string;
  constructor(
    readonly side: 'input' | 'output',
    readonly categories: string[],
  ) {
    const what = categories.join(', ') || 'unspecified';
    super(
      side === 'input'
        ? `Blocked by this server's content policy: the moderation model flagged the prompt (${what}; rule moderation:${categories[0] ?? 'flagged'}). ` +
            'Nothing was sent to the model and nothing was billed. Rephrase it, or ask the operator if this is a mistake.'
        : `Withheld by this server's content policy: the moderation model flagged the model's answer (${what}; rule moderation:${categories[0] ?? 'flagged'}). ` +
            'The model ran, so the call is billed; discard any part of the answer already received, and rephrase or ask the operator.',
    );
    this.rule = `moderation:${categories[0] ?? 'flagged'}`;
  }
}

/** OpenAI's moderation answer (`results[0]`) as a verdict; an answer of another shape is a failure of the moderator. */
export function verdictOf(body: unknown): ModerationVerdict {
  const result = (body as { results?: Array<{ flagged?: unknown; categories?: Record<string, unknown> }> } | null)?.results?.[0];
  if (!result || typeof result.flagged !== 'boolean') throw new Error('the moderation answer has no results[0].flagged');
  const categories = Object.entries(result.categories ?? {}).filter(([, on]) => on === true).map(([name]) => name);
  return { flagged: result.flagged, categories };
}

/** OpenAI's /moderations as a Moderator, over whatever posts JSON to it (the gateway's pass-through). */
export function openAiModerator(upstream: { postJson(path: string, body: unknown, signal?: AbortSignal): Promise<unknown> }, model = 'omni-moderation-latest'): Moderator {
  return { judge: async (text, signal) => verdictOf(await upstream.postJson('/moderations', { model, input: text }, signal)) };
}
