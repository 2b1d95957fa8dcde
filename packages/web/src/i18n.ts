// The interface in English and Simplified Chinese. Keys are the English
// strings' meaning, not the strings, so a wording change does not touch
// every caller. {name} placeholders are filled by t().

export type Locale = 'en' | 'zh-CN';
export const LOCALES: readonly Locale[] = ['en', 'zh-CN'];
const STORAGE_KEY = 'warbler.locale';

const en = {
  'app.name': 'Warbler',
  'lang.label': 'Language',
  'lang.en': 'English',
  'lang.zh-CN': '中文',

  'signin.title': 'Sign in to Warbler',
  'signin.byName': 'Your name',
  'signin.byName.hint': 'Anyone may sign in by name on this server: it is for trying Warbler out.',
  'signin.byName.off': 'Sign-in by name is switched off on this server. Sign in with a token from your app.',
  'signin.go': 'Sign in',
  'signin.token': 'User token',
  'signin.token.hint': 'A token your app minted with POST /api/users/:id/tokens.',
  'signin.withToken': 'Sign in with a token',
  'signin.withName': 'Sign in with a name',
  'signin.console': 'Operator console',
  'signin.failed': 'Could not sign in: {message}',
  'signout': 'Sign out',

  'status.reconnecting': 'Reconnecting… messages you send will go out when the connection is back.',
  'status.offline': 'You are offline. Messages and files you send will go out when the network is back.',
  'status.connecting': 'Connecting…',
  'status.closed': 'Signed out: your session is no longer valid. Sign in again.',
  'status.pending': '{count} waiting to send',

  'list.title': 'Chats',
  'list.empty': 'No chats yet. Start one with a person or an agent.',
  'list.new': 'New chat',
  'list.newGroup': 'New group',
  'list.unread': '{count} unread',
  'list.you': 'You',
  'list.noMessages': 'No messages yet',

  'new.title': 'Start a chat',
  'new.groupTitle': 'Create a group',
  'new.search': 'Search people and agents',
  'new.agent': 'Agent',
  'new.person': 'Person',
  'new.groupName': 'Group name',
  'new.members': 'Members',
  'new.create': 'Create group',
  'new.noResults': 'Nobody found.',
  'dialog.close': 'Close',
  'dialog.cancel': 'Cancel',

  'conv.pick': 'Pick a chat on the left, or start a new one.',
  'conv.back': 'Back to chats',
  'conv.members': 'Members',
  'conv.addMembers': 'Add members',
  'conv.add': 'Add',
  'conv.group': 'Group',
  'conv.olderLoading': 'Loading older messages…',
  'conv.beginning': 'This is the beginning of the conversation.',
  'conv.loadOlder': 'Load older messages',
  'conv.typing.one': '{name} is typing…',
  'conv.typing.many': '{names} are typing…',

  'composer.placeholder': 'Write a message — Enter to send, Shift+Enter for a new line',
  'composer.label': 'Message',
  'composer.send': 'Send',
  'composer.attach': 'Attach a file or image',
  'composer.uploading': 'Uploading {name}…',
  'composer.uploadQueued': '{name} will be sent when the network is back.',
  'composer.mentions': 'People to mention',
  'composer.tooLong': 'This message is {count} characters; a message holds at most {max}. Shorten it, or',
  'composer.sendAsFile': 'send it as a file',
  'error.rate_limited': 'You are sending too fast. Wait a moment and try again.',
  'error.payload_too_large': 'That is too large to send.',
  'error.not_member': 'You are no longer a member of this conversation.',
  'error.forbidden': 'You are not allowed to do that here.',
  'error.unavailable': 'The server is busy; it will be sent when it can.',
  'error.unauthorized': 'Your sign-in has expired. Sign in again.',
  'error.token_expired': 'Your sign-in has expired. Sign in again.',

  'msg.sending': 'Sending…',
  'msg.sent': 'Sent',
  'msg.delivered': 'Delivered',
  'msg.read': 'Read',
  'msg.readBy': 'Read by {count}',
  'msg.edited': 'edited',
  'msg.recalled': 'This message was recalled.',
  'msg.edit': 'Edit',
  'msg.recall': 'Recall',
  'msg.save': 'Save',
  'msg.failed': 'Failed',
  'msg.notSent': 'Not sent: {message}',
  'msg.stop': 'Stop',
  'msg.stopped': 'Stopped',
  'msg.sources': 'Sources',
  'msg.openSource': 'Open the source',
  'msg.good': 'Good answer',
  'msg.bad': 'Bad answer',
  'msg.image': 'Image',
  'msg.file': 'File',
  'msg.preview': 'Image preview',
  'msg.download': 'Download',
  'msg.actions': 'Message actions',

  'agent.thinking': 'Thinking…',
  'agent.searching': 'Searching the knowledge base…',
  'agent.generating': 'Writing…',

  'console.title': 'Warbler console',
  'console.signin': 'Operator sign-in',
  'console.masterKey': 'Master key',
  'console.masterKey.hint': 'WARBLER_MASTER_KEY, or the file <data dir>/master.key. It is kept in this tab only.',
  'console.app': 'App',
  'console.nav.models': 'Providers & models',
  'console.nav.agents': 'Agents',
  'console.nav.knowledge': 'Knowledge bases',
  'console.nav.usage': 'Usage & cost',
  'console.nav.keys': 'Gateway keys',
  'console.toChat': 'Open the chat app',
  'console.loading': 'Loading…',
  'console.error': 'Error: {message}',
  'console.save': 'Save',
  'console.saved': 'Saved.',
  'console.copy': 'Copy',
  'console.copied': 'Copied',
  'console.copyFailed': 'Could not copy: select the text and copy it.',
  'agents.deleteQuestion': 'Delete the agent {name}? It stops answering; its messages stay.',
  'kb.deleteQuestion': 'Delete the knowledge base {name} with all its documents?',
  'kb.deleteDocQuestion': 'Delete the document {name}?',
  'keys.revokeQuestion': 'Revoke the key {name}? It stops working at once.',
  'console.create': 'Create',
  'console.delete': 'Delete',
  'console.none': 'None yet.',
  'console.name': 'Name',

  'models.title': 'Providers and models',
  'models.providers': 'Providers',
  'models.provider.configured': 'configured (key set, never shown)',
  'models.model': 'Model',
  'models.deployments': 'Deployments',
  'models.status': 'Status',
  'models.price': 'Price per 1M tokens (in / cached / out)',
  'models.check': 'Check',
  'models.checking': 'Checking…',
  'models.ok': 'answers ({ms} ms)',
  'models.state.closed': 'healthy',
  'models.state.open': 'failing (circuit open)',
  'models.state.half_open': 'recovering',
  'models.keysNote': 'Provider keys are set in the environment (e.g. OPENAI_API_KEY) or warbler.yaml; Warbler never shows them back.',

  'agents.title': 'Agents',
  'agents.new': 'New agent',
  'agents.edit': 'Edit {name}',
  'agents.model': 'Model',
  'agents.prompt': 'System prompt',
  'agents.temperature': 'Temperature',
  'agents.maxTokens': 'Most tokens per reply',
  'agents.history': 'History budget (tokens of summary and recent turns per reply)',
  'agents.historyCost': 'A reply with a full history costs at most {cost} at {model}\'s price ({tokens} prompt tokens, plus the longest reply); about {cached} when the provider caches the repeated beginning.',
  'agents.historyNoPrice': '{model} has no price in Warbler, so the cost per reply cannot be shown. Add its price under prices in warbler.yaml.',
  'agents.topK': 'Passages retrieved per question',
  'agents.kbs': 'Knowledge bases',
  'agents.tools': 'Tools (JSON array)',
  'agents.trigger': 'In groups, answer',
  'agents.trigger.mention': 'only when @mentioned',
  'agents.trigger.all': 'every message',
  'agents.budget': 'Monthly budget (USD, empty for none)',
  'agents.try': 'Try it',
  'agents.tryTitle': 'Try {name}',
  'agents.toolsInvalid': 'Tools must be a JSON array.',

  'kb.title': 'Knowledge bases',
  'kb.new': 'New knowledge base',
  'kb.description': 'Description',
  'kb.documents': 'Documents',
  'kb.upload': 'Upload a document (.md, .markdown, .txt)',
  'kb.uploading': 'Uploading… {pct}%',
  'kb.uploaded': 'Uploaded {title}: {chunks} passages.',
  'kb.chunks': 'Passages',
  'kb.showChunks': 'Show passages',
  'kb.test': 'Test a question',
  'kb.testGo': 'Search',
  'kb.answer': 'What local/kb-answer would reply',
  'kb.noPassages': 'No passage matches.',

  'usage.title': 'Usage and cost',
  'usage.from': 'From',
  'usage.to': 'To',
  'usage.by': 'Group by',
  'usage.by.day': 'Day',
  'usage.by.model': 'Model',
  'usage.by.agent': 'Agent',
  'usage.by.key': 'Key',
  'usage.by.purpose': 'Purpose (reply, summary)',
  'usage.cost': 'Cost (USD)',
  'usage.tokens': 'Tokens',
  'usage.latency': 'Average latency (ms)',
  'usage.errors': 'Failed calls',
  'usage.calls': 'Calls',
  'usage.export': 'Export CSV',
  'usage.total': 'Total',
  'usage.none': '(none)',
  'usage.refresh': 'Refresh',

  'keys.title': 'Gateway keys',
  'keys.new': 'New key',
  'keys.models': 'Allowed models (comma-separated, empty for all)',
  'keys.budget': 'Monthly budget (USD)',
  'keys.rpm': 'Requests per minute',
  'keys.tpm': 'Tokens per minute',
  'keys.shownOnce': 'Copy this key now: it will not be shown again.',
  'keys.revoke': 'Revoke',
  'keys.revoked': 'revoked',
  'keys.active': 'active',
  'keys.unavailable': 'This server has no gateway keys API yet.',
} as const;

export type MessageKey = keyof typeof en;

const zh: Record<MessageKey, string> = {
  'app.name': 'Warbler',
  'lang.label': '语言',
  'lang.en': 'English',
  'lang.zh-CN': '中文',

  'signin.title': '登录 Warbler',
  'signin.byName': '你的名字',
  'signin.byName.hint': '在这台服务器上任何人都可以用名字登录：仅用于体验 Warbler。',
  'signin.byName.off': '这台服务器已关闭按名字登录。请使用你的应用签发的令牌登录。',
  'signin.go': '登录',
  'signin.token': '用户令牌',
  'signin.token.hint': '由你的应用通过 POST /api/users/:id/tokens 签发的令牌。',
  'signin.withToken': '使用令牌登录',
  'signin.withName': '使用名字登录',
  'signin.console': '运维控制台',
  'signin.failed': '登录失败：{message}',
  'signout': '退出登录',

  'status.reconnecting': '正在重新连接…… 你发送的消息会在连接恢复后发出。',
  'status.offline': '网络已断开。你发送的消息和文件会在网络恢复后发出。',
  'status.connecting': '正在连接……',
  'status.closed': '已退出：登录已失效，请重新登录。',
  'status.pending': '{count} 条待发送',

  'list.title': '会话',
  'list.empty': '还没有会话。和某人或某个智能体开始聊天吧。',
  'list.new': '新聊天',
  'list.newGroup': '新建群聊',
  'list.unread': '{count} 条未读',
  'list.you': '我',
  'list.noMessages': '暂无消息',

  'new.title': '开始聊天',
  'new.groupTitle': '创建群聊',
  'new.search': '搜索用户和智能体',
  'new.agent': '智能体',
  'new.person': '用户',
  'new.groupName': '群名称',
  'new.members': '成员',
  'new.create': '创建群聊',
  'new.noResults': '没有找到。',
  'dialog.close': '关闭',
  'dialog.cancel': '取消',

  'conv.pick': '从左侧选择一个会话，或开始新的聊天。',
  'conv.back': '返回会话列表',
  'conv.members': '成员',
  'conv.addMembers': '添加成员',
  'conv.add': '添加',
  'conv.group': '群聊',
  'conv.olderLoading': '正在加载更早的消息……',
  'conv.beginning': '会话从这里开始。',
  'conv.loadOlder': '加载更早的消息',
  'conv.typing.one': '{name} 正在输入……',
  'conv.typing.many': '{names} 正在输入……',

  'composer.placeholder': '输入消息 —— 回车发送，Shift+回车换行',
  'composer.label': '消息',
  'composer.send': '发送',
  'composer.attach': '发送文件或图片',
  'composer.uploading': '正在上传 {name}……',
  'composer.uploadQueued': '{name} 将在网络恢复后发送。',
  'composer.mentions': '可以提及的人',
  'composer.tooLong': '这条消息有 {count} 个字符，一条消息最多 {max} 个。请缩短，或',
  'composer.sendAsFile': '作为文件发送',
  'error.rate_limited': '发送太快了，请稍候再试。',
  'error.payload_too_large': '内容太大，无法发送。',
  'error.not_member': '你已不是这个会话的成员。',
  'error.forbidden': '你没有权限在这里这样做。',
  'error.unavailable': '服务器繁忙，稍后会自动发送。',
  'error.unauthorized': '登录已过期，请重新登录。',
  'error.token_expired': '登录已过期，请重新登录。',

  'msg.sending': '发送中……',
  'msg.sent': '已发送',
  'msg.delivered': '已送达',
  'msg.read': '已读',
  'msg.readBy': '{count} 人已读',
  'msg.edited': '已编辑',
  'msg.recalled': '此消息已撤回。',
  'msg.edit': '编辑',
  'msg.recall': '撤回',
  'msg.save': '保存',
  'msg.failed': '失败',
  'msg.notSent': '未发送：{message}',
  'msg.stop': '停止',
  'msg.stopped': '已停止',
  'msg.sources': '引用来源',
  'msg.openSource': '打开来源',
  'msg.good': '回答很好',
  'msg.bad': '回答不好',
  'msg.image': '图片',
  'msg.file': '文件',
  'msg.preview': '图片预览',
  'msg.download': '下载',
  'msg.actions': '消息操作',

  'agent.thinking': '思考中……',
  'agent.searching': '正在检索知识库……',
  'agent.generating': '正在生成回答……',

  'console.title': 'Warbler 控制台',
  'console.signin': '运维登录',
  'console.masterKey': '主密钥',
  'console.masterKey.hint': 'WARBLER_MASTER_KEY，或文件 <数据目录>/master.key。仅保存在当前标签页中。',
  'console.app': '应用',
  'console.nav.models': '模型与供应商',
  'console.nav.agents': '智能体',
  'console.nav.knowledge': '知识库',
  'console.nav.usage': '用量与费用',
  'console.nav.keys': '网关密钥',
  'console.toChat': '打开聊天应用',
  'console.loading': '加载中……',
  'console.error': '出错了：{message}',
  'console.save': '保存',
  'console.saved': '已保存。',
  'console.copy': '复制',
  'console.copied': '已复制',
  'console.copyFailed': '无法复制：请选中文字后手动复制。',
  'agents.deleteQuestion': '删除智能体 {name}？它将不再回答，已有消息会保留。',
  'kb.deleteQuestion': '删除知识库 {name} 及其全部文档？',
  'kb.deleteDocQuestion': '删除文档 {name}？',
  'keys.revokeQuestion': '吊销密钥 {name}？它将立即失效。',
  'console.create': '创建',
  'console.delete': '删除',
  'console.none': '暂无。',
  'console.name': '名称',

  'models.title': '模型与供应商',
  'models.providers': '供应商',
  'models.provider.configured': '已配置（已设置密钥，永不显示）',
  'models.model': '模型',
  'models.deployments': '部署',
  'models.status': '状态',
  'models.price': '每百万 token 价格（输入 / 缓存 / 输出）',
  'models.check': '检测',
  'models.checking': '检测中……',
  'models.ok': '可用（{ms} 毫秒）',
  'models.state.closed': '正常',
  'models.state.open': '故障（熔断中）',
  'models.state.half_open': '恢复中',
  'models.keysNote': '供应商密钥在环境变量（如 OPENAI_API_KEY）或 warbler.yaml 中设置；Warbler 不会显示它们。',

  'agents.title': '智能体',
  'agents.new': '新建智能体',
  'agents.edit': '编辑 {name}',
  'agents.model': '模型',
  'agents.prompt': '系统提示词',
  'agents.temperature': '温度',
  'agents.maxTokens': '每次回答最多 token 数',
  'agents.history': '历史预算（每次回答带上的摘要和近期对话的 token 数）',
  'agents.historyCost': '历史记满时，按 {model} 的价格每次回答最多花费 {cost}（提示 {tokens} 个 token，加上最长的回答）；服务商缓存重复的开头时约为 {cached}。',
  'agents.historyNoPrice': 'Warbler 中没有 {model} 的价格，无法显示每次回答的费用。请在 warbler.yaml 的 prices 中添加它的价格。',
  'agents.topK': '每个问题检索的段落数',
  'agents.kbs': '知识库',
  'agents.tools': '工具（JSON 数组）',
  'agents.trigger': '在群聊中回答',
  'agents.trigger.mention': '仅在被 @ 时',
  'agents.trigger.all': '每条消息',
  'agents.budget': '每月预算（美元，留空表示不限）',
  'agents.try': '试用',
  'agents.tryTitle': '试用 {name}',
  'agents.toolsInvalid': '工具必须是 JSON 数组。',

  'kb.title': '知识库',
  'kb.new': '新建知识库',
  'kb.description': '描述',
  'kb.documents': '文档',
  'kb.upload': '上传文档（.md、.markdown、.txt）',
  'kb.uploading': '上传中…… {pct}%',
  'kb.uploaded': '已上传 {title}：{chunks} 个段落。',
  'kb.chunks': '段落',
  'kb.showChunks': '查看段落',
  'kb.test': '测试提问',
  'kb.testGo': '检索',
  'kb.answer': 'local/kb-answer 将会这样回答',
  'kb.noPassages': '没有匹配的段落。',

  'usage.title': '用量与费用',
  'usage.from': '开始',
  'usage.to': '结束',
  'usage.by': '分组',
  'usage.by.day': '按天',
  'usage.by.model': '按模型',
  'usage.by.agent': '按智能体',
  'usage.by.key': '按密钥',
  'usage.by.purpose': '按用途（回答、摘要）',
  'usage.cost': '费用（美元）',
  'usage.tokens': 'Token 数',
  'usage.latency': '平均延迟（毫秒）',
  'usage.errors': '失败调用',
  'usage.calls': '调用次数',
  'usage.export': '导出 CSV',
  'usage.total': '合计',
  'usage.none': '（无）',
  'usage.refresh': '刷新',

  'keys.title': '网关密钥',
  'keys.new': '新建密钥',
  'keys.models': '允许的模型（逗号分隔，留空表示全部）',
  'keys.budget': '每月预算（美元）',
  'keys.rpm': '每分钟请求数',
  'keys.tpm': '每分钟 token 数',
  'keys.shownOnce': '请立即复制此密钥：它不会再次显示。',
  'keys.revoke': '吊销',
  'keys.revoked': '已吊销',
  'keys.active': '有效',
  'keys.unavailable': '此服务器还没有网关密钥接口。',
};

const dictionaries: Record<Locale, Record<MessageKey, string>> = { en, 'zh-CN': zh };

/** The browser's first language we have, Chinese for any zh-* (Traditional readers still read Simplified better than English, mostly). */
export function detectLocale(languages: readonly string[]): Locale {
  for (const lang of languages) {
    const l = lang.toLowerCase();
    if (l.startsWith('zh')) return 'zh-CN';
    if (l.startsWith('en')) return 'en';
  }
  return 'en';
}

export function initialLocale(storage: Pick<Storage, 'getItem'> | undefined, languages: readonly string[]): Locale {
  const saved = storage?.getItem(STORAGE_KEY);
  if (saved === 'en' || saved === 'zh-CN') return saved;
  return detectLocale(languages);
}

export function saveLocale(storage: Pick<Storage, 'setItem'> | undefined, locale: Locale): void {
  try {
    storage?.setItem(STORAGE_KEY, locale);
  } catch {
    // Private mode or a full quota: the choice lasts for this page only.
  }
}

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export function translator(locale: Locale): Translate {
  const dict = dictionaries[locale];
  return (key, params) => {
    const text = dict[key] ?? en[key] ?? key;
    return params ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m)) : text;
  };
}

/**
 * What went wrong, in the user's language: a server error's code when the
 * interface has words for it, else the server's own message (English).
 */
export function errorMessage(error: unknown, t: Translate): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && `error.${code}` in en) return t(`error.${code}` as MessageKey);
  return error instanceof Error ? error.message : String(error);
}

/** Times in the list: today as a clock time, this year as a date, else with the year. */
export function formatListTime(ts: number, locale: Locale, now = Date.now()): string {
  const d = new Date(ts);
  const n = new Date(now);
  if (d.toDateString() === n.toDateString()) return d.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
  if (d.getFullYear() === n.getFullYear()) return d.toLocaleDateString(locale, { month: 'short', day: 'numeric' });
  return d.toLocaleDateString(locale, { year: 'numeric', month: 'short', day: 'numeric' });
}
