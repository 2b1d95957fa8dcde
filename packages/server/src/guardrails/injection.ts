// The prompt-injection screen for text the model reads but nobody vetted as
// instructions: retrieved knowledge passages and tool results. A line that
// talks to the model ("ignore previous instructions", "你现在是…", a
// "system:" role spoof, chat-template tokens) is taken out and reported; the
// rest of the passage stays. Lines are compared normalized (lower case,
// full-width to half-width, traditional to simplified), so 忽略之前的指示 in
// traditional script or ＳＹＳＴＥＭ: is caught as well.
import { normalizeWord } from './normalize.ts';

export interface InjectionRule {
  id: string;
  /** Tested against the line after NFKC, lower case and traditional→simplified (see lineForm). */
  pattern: RegExp;
}

const PREVIOUS = '(?:previous|prior|above|earlier|preceding|all|any|your|the)';
const ORDERS = '(?:instructions?|prompts?|rules|directions|guidelines|messages|context)';

export const INJECTION_RULES: readonly InjectionRule[] = [
  { id: 'ignore_instructions', pattern: new RegExp(`\\b(?:ignore|disregard|forget|override|bypass)\\b.{0,30}\\b${PREVIOUS}\\b.{0,20}\\b${ORDERS}\\b`) },
  { id: 'new_instructions', pattern: /\b(?:new|updated|real) (?:system )?instructions?\s*:/ },
  // Narrow on purpose: "You are now logged in" and "From now on, you can sign in with SSO" are documentation, not attacks.
  {
    id: 'role_reassignment',
    pattern: /\byou are (?:now|no longer) (?:an? |the |my )?(?:unrestricted|unfiltered|jailbroken|uncensored|evil|dan|chatgpt|an ai|bound|(?:ai|assistant|chatbot|language model)\b)|\bfrom now on,? you (?:are|will (?:act|respond|answer|ignore|obey)|must (?:ignore|obey|answer))\b|\bpretend (?:to be|you are)\b|\bact as (?:if you (?:are|were|have)|an? (?:unrestricted|unfiltered|jailbroken))\b/,
  },
  { id: 'role_spoof', pattern: /^\s*[[(<#*]*\s*(?:system|assistant|developer)\s*[\])>*]*\s*:/ },
  { id: 'template_token', pattern: /<\|(?:im_start|im_end|system|assistant|user|endoftext)\|>|\[\/?inst\]|<<\/?sys>>|^\s*#{2,}\s*(?:system|instruction)/ },
  { id: 'exfiltrate_prompt', pattern: /\b(?:reveal|print|repeat|show|output)\b.{0,20}\b(?:system prompt|your instructions|hidden instructions)\b|\bdo not (?:tell|inform) the user\b/ },
  { id: 'ignore_instructions_zh', pattern: /(?:忽略|无视|忽视|忘记|忘掉|不要理会|跳过)(?:掉)?(?:之前|以上|上面|前面|先前|此前|上述|所有|全部|你的|原有|原来)?(?:的)?(?:所有|全部)?(?:的)?(?:指令|指示|提示词?|规则|设定|要求|命令)/ },
  { id: 'role_reassignment_zh', pattern: /你现在是|你现在扮演|从现在(?:开始|起)[,，]?你(?:是|将|要)|请扮演|你不再是/ },
  { id: 'role_spoof_zh', pattern: /^\s*[[(【（]*\s*(?:系统|助手|开发者)(?:消息|提示)?\s*[\])】）]*\s*[:：]/ },
  { id: 'exfiltrate_prompt_zh', pattern: /(?:输出|显示|告诉我|泄露|重复)(?:你的)?(?:系统提示词?|系统指令|隐藏指令)|不要告诉用户/ },
];

export interface ScreenedText {
  text: string;
  /** The rules that fired, one per line taken out. */
  removed: Array<{ rule: string; line: number }>;
}

/** Lines that look like instructions to the model, taken out of a passage or tool result. */
export function screenInstructions(text: string, rules: readonly InjectionRule[] = INJECTION_RULES): ScreenedText {
  const removed: ScreenedText['removed'] = [];
  const lines = text.split('\n');
  const kept: string[] = [];
  lines.forEach((line, i) => {
    const rule = line.trim() ? firedRule(line, rules) : undefined;
    if (rule) removed.push({ rule, line: i + 1 });
    else kept.push(line);
  });
  if (removed.length === 0) return { text, removed };
  return { text: kept.join('\n'), removed };
}

/**
 * A line as the rules read it: NFKC and lower case with punctuation kept
 * (role spoofs need their colon), the same with traditional characters
 * simplified, and the matcher's folded form (spaces and symbols between
 * Chinese characters gone: 忽 略 之 前).
 */
function lineForms(line: string): string[] {
  const raw = line.normalize('NFKC').toLowerCase();
  if (!HAN.test(raw)) return [raw];
  const simplified = [...raw].map((c) => (HAN.test(c) ? normalizeWord(c) || c : c)).join('');
  return [raw, simplified, normalizeWord(line)];
}

const HAN = /\p{Script=Han}/u;

function firedRule(line: string, rules: readonly InjectionRule[]): string | undefined {
  const forms = lineForms(line);
  for (const r of rules) if (forms.some((f) => r.pattern.test(f))) return r.id;
  return undefined;
}
