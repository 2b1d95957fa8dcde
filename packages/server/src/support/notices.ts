import type { SupportLocale } from '@warbler/protocol';

// What the customer is told when the conversation changes hands, in the
// conversation's language. Sent as system messages, so agents never answer them.

export type Notice =
  | { kind: 'handoff' }
  | { kind: 'after_hours'; opensAt: Date | null; timeZone: string }
  | { kind: 'claimed'; name: string }
  | { kind: 'back_to_bot' }
  | { kind: 'resolved' }
  | { kind: 'reopened' };

export function noticeText(locale: SupportLocale, notice: Notice): string {
  const zh = locale === 'zh-CN';
  switch (notice.kind) {
    case 'handoff':
      return zh ? '正在为您转接人工客服，请稍候。' : 'Connecting you to a person. Someone will be with you shortly.';
    case 'after_hours': {
      const when = notice.opensAt ? formatOpening(notice.opensAt, notice.timeZone, locale) : null;
      if (zh) return when ? `现在是非工作时间，人工客服将于 ${when} 回复您。您可以留言，我们会尽快处理。` : '现在是非工作时间。您可以留言，人工客服上班后会回复您。';
      return when
        ? `Our team is away right now; a person will answer from ${when}. Leave a message here and we will reply then.`
        : 'Our team is away right now. Leave a message here and a person will reply when they are back.';
    }
    case 'claimed':
      return zh ? `${notice.name} 已接入，为您服务。` : `${notice.name} has joined and will help you from here.`;
    case 'back_to_bot':
      return zh ? '您已回到 AI 助手。如需人工服务，随时告诉我们。' : 'You are back with the AI assistant. Ask for a person any time.';
    case 'resolved':
      return zh ? '本次会话已解决。如还有问题，直接发消息即可。' : 'This conversation is resolved. Send a message if you need anything else.';
    case 'reopened':
      return zh ? '会话已重新打开。' : 'The conversation is open again.';
  }
}

function formatOpening(at: Date, timeZone: string, locale: SupportLocale): string {
  const format = new Intl.DateTimeFormat(locale === 'zh-CN' ? 'zh-CN' : 'en-GB', {
    timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hour12: false, timeZoneName: 'short',
  });
  return format.format(at);
}
