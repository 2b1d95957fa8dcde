import { describe, expect, it } from 'vitest';
import { asksForPerson } from './asks-for-person.ts';

/** Customers asking for a person, in their own words. */
export const ASKS = [
  'I want a real person',
  'I want to talk to a human',
  'talk to a human',
  'Talk to a human please!',
  'Can I speak with someone?',
  'can i speak to a real person please',
  'Let me talk to an agent',
  'connect me to a live agent',
  'Please transfer me to a representative.',
  'I need a human',
  'I need to speak to a person now',
  'get me a human',
  'human',
  'Agent please',
  'real person!',
  'customer service',
  'Is there a person I can talk to?',
  'Is there anyone who can help me? I want a human',
  'I love the bot, but I want a real person',
  "I don't want a bot, give me a person",
  'You are useless. Escalate this.',
  'I would like to speak with your support team',
  '转人工',
  '转人工！',
  '我要找客服',
  '人工客服',
  '人工',
  '请帮我转接人工客服',
  '找个真人',
  '有人工客服吗？',
  '联系客服',
  '我不要机器人，我要人工',
  '麻烦转一下人工',
  '你们客服在吗',
  '叫个真人来',
  '这个问题你答不了，给我转人工服务',
];

/** Messages that mention people, humans, agents or 人工 without asking for one. */
export const DOES_NOT_ASK = [
  'what is a person month?',
  'is this answered by a human?',
  'Are you a human?',
  'How many person-days does the setup take?',
  'What does human resources do with my data?',
  'Is this human-readable?',
  'I need a travel agent recommendation',
  'Our agent fee is too high, how do I change plans?',
  'Do I need to talk to a person to cancel my plan?',
  "I don't want to talk to a human, just tell me the price",
  'The person who set this up left the company',
  'How do I add another person to my team?',
  'Which agent model do you use?',
  'Can a human review be added to the workflow?',
  'human error caused the outage',
  'speaking of humans, how does the AI work?',
  '人工智能是什么？',
  '你们的人工智能怎么收费',
  '人工费怎么算',
  '你是人工客服吗？',
  '你是真人吗',
  '客服电话是多少？',
  '人工客服的工作时间是几点？',
  '不用转人工，我自己看看',
  '人工成本太高了',
  '这个是人工审核的吗',
  '我们公司有三个客服人员需要账号',
  '',
];

describe('asksForPerson', () => {
  it.each(ASKS)('hands off: %s', (text) => {
    expect(asksForPerson(text)).toBe(true);
  });
  it.each(DOES_NOT_ASK)('does not hand off: %s', (text) => {
    expect(asksForPerson(text)).toBe(false);
  });
});
