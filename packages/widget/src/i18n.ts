/** The widget's words, in the page's language (zh-CN or en). */
export type Locale = 'zh-CN' | 'en';

const en = {
  open: 'Chat with us',
  close: 'Close chat',
  title: 'Support',
  greeting: 'Hi! Ask us anything.',
  placeholder: 'Type your question…',
  send: 'Send',
  attach: 'Send an image',
  human: 'Talk to a person',
  stateBot: 'AI assistant',
  statePending: 'Waiting for a person…',
  stateHuman: 'A person is here',
  stateResolved: 'Resolved',
  thinking: 'Thinking…',
  searching: 'Looking it up…',
  sources: 'Sources',
  closePassage: 'Close the passage',
  openPage: 'Open the page',
  failed: 'The answer failed.',
  offline: 'Reconnecting…',
  error: 'Something went wrong; try again.',
  handoffAsked: 'We asked a person to join. They will answer here.',
  you: 'You',
  person: 'Support agent',
  rate: 'How did we do?',
  thanks: 'Thanks for your rating!',
} as const;

export type Words = { [K in keyof typeof en]: string };

const zh: Words = {
  open: '联系我们',
  close: '关闭对话',
  title: '在线客服',
  greeting: '您好！有什么可以帮您？',
  placeholder: '输入您的问题…',
  send: '发送',
  attach: '发送图片',
  human: '转人工',
  stateBot: 'AI 助手',
  statePending: '正在为您转接人工…',
  stateHuman: '人工客服为您服务',
  stateResolved: '已解决',
  thinking: '思考中…',
  searching: '正在查找资料…',
  sources: '参考来源',
  closePassage: '关闭引用',
  openPage: '打开网页',
  failed: '回答失败。',
  offline: '正在重新连接…',
  error: '出错了，请重试。',
  handoffAsked: '已为您呼叫人工客服，请在此稍候。',
  you: '我',
  person: '人工客服',
  rate: '请为本次服务评分',
  thanks: '感谢您的评价！',
};

/** zh-CN for any Chinese page or browser (zh, zh-Hans, zh-TW…), English otherwise. */
export function pickLocale(...hints: Array<string | null | undefined>): Locale {
  for (const hint of hints) {
    if (!hint) continue;
    return /^zh\b/i.test(hint) ? 'zh-CN' : 'en';
  }
  return 'en';
}

export const words = (locale: Locale): Words => (locale === 'zh-CN' ? zh : en);
