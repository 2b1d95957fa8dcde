// The model's answer judged by the moderation model before the caller has it
// whole (guardrails `moderation: { output: true }`; docs/decisions/0022).
// Non-streaming: a flagged answer is withheld, as Azure OpenAI does: status
// 200, no content, finish_reason "content_filter", and why in `warbler`.
// Streaming: the deltas flow as they come and the whole text is judged when
// the model finishes; a flagged answer ends with an error event
// (content_policy_violation) in place of the finish, and no [DONE], so every
// OpenAI SDK raises it and the client knows to drop what it showed.
import type { ModerationFlagged, PromptScreen } from '../guardrails/index.ts';
import { LlmError, type ChatCompletion, type ChatStreamPart } from '../llm/index.ts';

/** A finished completion with its answer taken out, saying why. */
export function withheldReply(completion: ChatCompletion, flagged: ModerationFlagged): void {
  completion.text = '';
  completion.toolCalls = [];
  completion.finishReason = 'content_filter';
  const raw = completion.raw as { choices?: unknown; warbler?: unknown } | undefined;
  if (!raw || typeof raw !== 'object') return;
  if (Array.isArray(raw.choices)) {
    for (const choice of raw.choices as Array<{ message?: Record<string, unknown>; finish_reason?: unknown }>) {
      if (choice?.message) {
        choice.message.content = '';
        delete choice.message.tool_calls;
        delete choice.message.reasoning_content;
      }
      if (choice) choice.finish_reason = 'content_filter';
    }
  }
  raw.warbler = { moderation: { flagged: true, categories: flagged.categories, rule: flagged.rule, message: flagged.message } };
}

/** A stream whose text is judged at the finish; a flagged one ends in a content_policy_violation error (usage kept, so it is billed). */
export async function* moderatedStream(parts: AsyncIterable<ChatStreamPart>, screen: PromptScreen, signal?: AbortSignal): AsyncGenerator<ChatStreamPart> {
  let text = '';
  for await (const part of parts) {
    if (part.type === 'text-delta') text += part.text;
    if (part.type === 'finish') {
      const flagged = await screen.moderateOutput(text, signal);
      if (flagged) {
        yield { type: 'error', error: new LlmError('bad_request', flagged.message, { code: 'content_policy_violation' }), usage: part.usage };
        return;
      }
    }
    yield part;
  }
}
