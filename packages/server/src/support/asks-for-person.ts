// Does a customer's message ask for a person? Lanying found that leaving this
// to the model ("hand over if unsure") sent every question to a human, and
// "contains person" hands off "what is a person month?". So: a request (a
// verb of asking or a bare plea) aimed at a person-noun that is a whole word,
// not negated, not a question about who is answering, and not the start of a
// compound ("person month", "human resources", "人工智能", "人工费").
// The cases it must get right are in asks-for-person.test.ts.

const EN_PERSON = String.raw`(?:real |live |actual |human |support |customer service |service )?(?:person|human(?: being)?|agent|representative|rep|operator|someone|somebody|staff(?: member)?|employee|people|man|woman|customer service|customer support|support team|support agent)`;
const EN_DET = String.raw`(?:a |an |the |some |one of your |your |to |with |me |me to |me with )*`;
/** What may follow the person-noun in a request: the end, politeness, or a purpose ("to help me"). */
const EN_AFTER = String.raw`(?=$|[.!?,;:]| please| pls| now| asap| right now| instead| again| here| on the line| who\b| that\b| to (?:talk|speak|chat|help|answer|look|handle|sort|deal|assist|call)| for (?:help|this|me))`;

const EN_REQUESTS: RegExp[] = [
  // "talk to a human", "can I speak with someone", "let me chat with a real person", "connect me to an agent"
  new RegExp(String.raw`\b(?:talk|speak|chat|connect|transfer|switch|escalate|put)(?: me)?(?: (?:through|over|back))? (?:to|with) ${EN_DET}${EN_PERSON}${EN_AFTER}`),
  // "I want a real person", "I need a human", "get me an agent", "give me a person", "requesting a representative"
  new RegExp(String.raw`\b(?:want|need|like|prefer|request|requesting|demand|get me|give me|find me|bring me|send me|i'd like|id like) ${EN_DET}${EN_PERSON}${EN_AFTER}`),
  // "is there a person I can talk to", "is anyone there who can help", "can a human help me"
  new RegExp(String.raw`\b(?:is there|are there|is|can|could) (?:a |an |any |some )?(?:real |live |actual )?(?:person|human|agent|representative|anyone|anybody|someone|somebody|people)(?: there)? (?:i can|i could|to|who can|that can|available to)(?: talk| speak| chat| help| answer)`),
  // "transfer me", "escalate this", "escalate to support"
  /\b(?:transfer me|escalate (?:this|it|my (?:case|issue|ticket))|escalate to (?:a |the )?(?:human|person|support|agent|manager|supervisor))\b/,
];

/** Refusing the bot is asking for a person: "not a bot", "I don't want (to talk to) a bot", "stop the bot". */
const EN_REFUSES_BOT = /\b(?:not (?:a|the|this) (?:bot|robot|machine|ai)|(?:don'?t|do not) want (?:to (?:talk|speak|chat) (?:to|with) )?(?:a |the |this |an )?(?:bot|robot|machine|ai)|stop (?:the )?bot)\b/;

/** Bare pleas, the whole message: "human", "agent please", "real person!", "customer service". */
const EN_BARE = new RegExp(String.raw`^(?:(?:a |an |the )?(?:real |live |actual )?(?:human|person|agent|representative|rep|operator|human agent|live agent|live chat|customer service|customer support|support)|talk to (?:a )?(?:human|person))(?: please| pls| now| asap)*$`);

/** Asking about someone or something, or refusing: "do I need to talk to a person to …", "I don't want a human". */
const EN_NOT_A_REQUEST = /\b(?:do i (?:need|have) to|should i|must i|without|don'?t want|do not want|never|no need to|not need|don'?t need|do not need|isn'?t there|how (?:do|can) i avoid|rather not)\b[^.!?]*$/;

const ZH_PERSON = '(?:人工客服|人工服务|人工坐席|人工|真人客服|真人|客服人员|客服|工作人员|服务人员|活人|专员)';
/** What must not follow the person-noun: compounds that mean something else, or asking about them rather than for them. */
const ZH_NOT_AFTER = '(?!智能|智慧|费|成本|合成|湖|草|降雨|呼吸|授精|繁殖|材料|翻译|审核|标注|的?(?:电话|热线|邮箱|时间|工作时间|几点|上班|下班|号码|微信))';
const ZH_REQUESTS: RegExp[] = [
  // 转人工, 转接人工客服, 转到真人, 帮我转客服
  new RegExp(`转(?:接|到|给|一?下)?(?:个|一个|一位|位)?${ZH_PERSON}${ZH_NOT_AFTER}`),
  // 我要找客服, 找人工, 联系客服, 呼叫人工, 叫个真人, 换人工, 要人工
  new RegExp(`(?:找|要|联系|联络|接通|呼叫|叫|换|请|需要|想要|给我|让)(?:一下|下)?(?:个|一个|一位|位|你们的?)?${ZH_PERSON}${ZH_NOT_AFTER}(?!是)`),
  // 人工客服在吗, 有人工吗, 有真人吗, 客服在不在
  new RegExp(`(?:有没有|有)?${ZH_PERSON}(?:在吗|在不在|呢|吗)`),
  // 不要机器人, 不想和机器人聊
  /(?:不要|不想|别|不和|不跟)(?:和|跟|再)?(?:和|跟)?(?:机器人|AI|ai|人工智能)/,
];
/** Bare pleas, the whole message once politeness is taken off: 人工, 人工客服, 真人. */
const ZH_BARE = new RegExp(`^${ZH_PERSON}$`);
/** 不要转人工, 不用找客服, 你是人工客服吗, 是真人吗 (who is answering, not a request). */
const ZH_NOT_A_REQUEST = /(?:不要|不用|不必|无需|不需要|别|没必要|不想)(?:[\u4e00-\u9fa5]{0,2})(?:转|找|要|联系|叫|呼叫|换)|(?:是不是|是否|是)(?:个|一个)?(?:人工|真人|机器人)|你是(?:不是)?(?:人工|真人|人)/;

const POLITENESS_ZH = /(?:请|麻烦|帮我|给我|谢谢|吧|啊|呀|吗|嘛|哦|呢|一下|下|快|马上|立刻|赶紧|我要|我想|我需要)/g;

/** True when the customer, in English or Chinese, asks to talk to a person. */
export function asksForPerson(message: string): boolean {
  const text = message.normalize('NFKC').trim();
  if (text.length === 0 || text.length > 2_000) return false;
  return englishAsks(text.toLowerCase()) || chineseAsks(text);
}

function englishAsks(lower: string): boolean {
  const flat = lower.replace(/[’`]/g, "'").replace(/\s+/g, ' ');
  const bare = flat.replace(/[^a-z' ]/g, ' ').replace(/\s+/g, ' ').trim();
  if (EN_BARE.test(bare)) return true;
  // Clause by clause, so "I love the bot. But I want a real person" hands off and a negation stays in its own clause.
  for (const clause of flat.split(/(?<=[.!?;])\s+|,\s*(?:but|and|so)?\s*|\s+but\s+/)) {
    const words = clause.replace(/[^a-z'.!?,;: ]/g, ' ').replace(/\s+/g, ' ').trim();
    if (EN_REFUSES_BOT.test(words)) return true;
    for (const request of EN_REQUESTS) {
      const found = request.exec(words);
      if (!found) continue;
      if (EN_NOT_A_REQUEST.test(words.slice(0, found.index + found[0].length))) continue;
      return true;
    }
  }
  return false;
}

function chineseAsks(text: string): boolean {
  if (!/[\u4e00-\u9fa5]/.test(text)) return false;
  const compact = text.replace(/[\s\p{P}\p{S}]/gu, '');
  if (ZH_BARE.test(compact.replace(POLITENESS_ZH, ''))) return true;
  for (const clause of text.split(/[。！？!?；;，,\n]/)) {
    const c = clause.replace(/\s+/g, '');
    if (!c || ZH_NOT_A_REQUEST.test(c)) continue;
    if (ZH_REQUESTS.some((r) => r.test(c))) return true;
  }
  return false;
}
