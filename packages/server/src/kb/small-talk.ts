import { textLanguage } from './text.ts';

/**
 * Greetings and "what can you do": a model that only quotes would answer
 * "hi" with whatever passage shares a letter with it. These get a short reply
 * of their own instead, naming the assistant (from its system prompt's "You
 * are …") and what it can do.
 */
const GREETING = /^(hi|hello|hey|hiya|yo|good (morning|afternoon|evening)|greetings|你好|您好|嗨|哈喽|哈啰|早上好|下午好|晚上好|在吗|在不在)( there)?[\s!！.。~～,，?？]*$/i;
const CAPABILITIES = /^(what can you do|what do you do|who are you|what are you|how can you help( me)?|help|你能做什么|你会什么|你可以做什么|你是谁|你能帮我做什么|能帮我什么|有什么功能|你有什么用)[\s!！.。?？]*$/i;

export type SmallTalk = 'greeting' | 'capabilities';

export function smallTalk(question: string): SmallTalk | undefined {
  const q = question.trim().replace(/^@\S+\s*/, '');
  if (GREETING.test(q)) return 'greeting';
  if (CAPABILITIES.test(q)) return 'capabilities';
  return undefined;
}

/** The name a system prompt gives its assistant ("You are Warbler Assistant, …"), if it says. */
export function assistantName(systemPrompt: string): string | undefined {
  const m = /\bYou are ([A-Z][\w-]*(?: [A-Z][\w-]*){0,3})/.exec(systemPrompt) ?? /你是([^，。,.\s]{1,20})/.exec(systemPrompt);
  return m?.[1];
}

export function smallTalkReply(kind: SmallTalk, question: string, name: string | undefined, locale: string, topics: readonly string[]): string {
  const zh = (textLanguage(question) ?? (locale.toLowerCase().startsWith('zh') ? 'zh' : 'en')) === 'zh';
  const about = topics.slice(0, 5);
  if (zh) {
    const me = name ? `我是${name}。` : '';
    const hello = kind === 'greeting' ? `你好！${me}` : me;
    return `${hello}我通过引用知识库中的原文来回答问题，并标注出处；我不会自己编写回答。${about.length ? `你可以问我这些方面的问题：${about.join('、')}。` : '直接提出你的问题就好。'}`;
  }
  const me = name ? `I'm ${name}. ` : '';
  const hello = kind === 'greeting' ? `Hello! ${me}` : me;
  return `${hello}I answer questions by quoting the knowledge base, with the source of each passage; I don't write answers of my own. ${about.length ? `You can ask me about: ${about.join(', ')}.` : 'Just ask your question.'}`;
}
