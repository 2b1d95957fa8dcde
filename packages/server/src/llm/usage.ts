import type { Usage } from './types.ts';

/** No tokens yet: the start of a sum over the calls of one turn. */
export function emptyUsage(): Usage {
  return { promptTokens: 0, completionTokens: 0, totalTokens: 0, cachedTokens: 0, reasoningTokens: 0, estimated: false };
}

/** Adds one call's counts to a turn's total; the total is estimated if any part was. */
export function addUsage(total: Usage, u: Usage): void {
  total.promptTokens += u.promptTokens;
  total.completionTokens += u.completionTokens;
  total.totalTokens += u.totalTokens;
  total.cachedTokens += u.cachedTokens;
  total.reasoningTokens += u.reasoningTokens;
  total.estimated ||= u.estimated;
}
