import type { Message } from '@warbler/sdk';
import type { WidgetConfig } from './config.ts';
import { CHAT_ICON, el, icon, IMAGE_ICON } from './dom.ts';
import { renderMarkdown } from './markdown.ts';
import type { Words } from './i18n.ts';
import type { SupportStatus } from './session.ts';
import { CSS } from './styles.ts';

interface Citation {
  index: number;
  title?: string;
  heading?: string;
  /** The page, slide, sheet or rows the passage came from. */
  location?: string;
  source?: string | null;
  /** The passage whole, as Markdown. */
  snippet?: string;
}

export interface ViewActions {
  send(text: string): void;
  attach(file: File): void;
  askForPerson(): void;
  rate(rating: number): void;
  opened(): void;
}

const isUrl = (s: unknown): s is string => typeof s === 'string' && /^https?:\/\//i.test(s);

function citationsOf(message: Message): Citation[] {
  const list = message.content.citations;
  return Array.isArray(list) ? (list as Citation[]).filter((c) => typeof c?.index === 'number').slice(0, 20) : [];
}

/** The widget's DOM, in a closed-off shadow root: a bubble, and a panel with the conversation. */
export class WidgetView {
  readonly host: HTMLElement;
  private readonly root: HTMLDivElement;
  private readonly panel: HTMLElement;
  private readonly log: HTMLOListElement;
  private readonly state: HTMLElement;
  private readonly hintLine: HTMLElement;
  private readonly human: HTMLButtonElement;
  private readonly rating: HTMLElement;
  private readonly input: HTMLTextAreaElement;
  private readonly items = new Map<string, HTMLLIElement>();
  private userId: string | undefined;
  private agentId: string | undefined;

  constructor(
    private readonly config: WidgetConfig,
    private readonly words: Words,
    private readonly actions: ViewActions,
    private readonly imageUrl: (fileId: string) => Promise<string>,
  ) {
    this.host = el('div', { 'data-warbler-widget': config.app });
    const shadow = this.host.attachShadow({ mode: 'open' });
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];

    const bubble = el('button', { class: 'bubble', type: 'button', 'aria-label': words.open, 'data-testid': 'widget-bubble', 'aria-expanded': 'false' }, icon(CHAT_ICON));
    this.state = el('div', { class: 'state', 'data-testid': 'agent-state', 'data-state': 'bot' }, words.stateBot);
    const close = el('button', { class: 'close', type: 'button', 'aria-label': words.close }, '×');
    this.log = el('ol', { class: 'log', 'aria-live': 'polite', 'data-testid': 'widget-log' },
      el('li', { class: 'msg', 'data-kind': 'greeting' }, config.greeting ?? words.greeting));
    this.hintLine = el('div', { class: 'hint', 'data-testid': 'widget-hint' });
    this.human = el('button', { type: 'button', 'data-testid': 'talk-to-person' }, words.human);
    this.rating = el('div', { class: 'rating', hidden: true }, words.rate, ...[1, 2, 3, 4, 5].map((n) =>
      el('button', { type: 'button', 'data-rating': String(n), 'aria-label': `${n}/5` }, '★'.repeat(n))));
    this.input = el('textarea', { rows: '1', placeholder: words.placeholder, 'aria-label': words.placeholder, maxlength: '4000', 'data-testid': 'widget-input' });
    const file = el('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp', class: 'file', 'data-testid': 'widget-file' });
    const attach = el('button', { type: 'button', class: 'attach', 'aria-label': words.attach, title: words.attach }, icon(IMAGE_ICON));
    const form = el('form', {}, attach, file, this.input, el('button', { type: 'submit', class: 'send' }, words.send));
    this.panel = el('section', { class: 'panel', role: 'dialog', 'aria-label': config.title ?? words.title, hidden: true, 'data-testid': 'widget-panel' },
      el('header', {}, el('div', { class: 'who' }, el('div', { class: 'title' }, config.title ?? words.title), this.state), close),
      this.log, this.hintLine, el('div', { class: 'actions' }, this.human, this.rating), form);
    this.root = el('div', { class: 'wb', 'data-position': config.position, lang: config.locale }, this.panel, bubble);
    shadow.append(this.root);
    // Custom properties through the CSSOM: allowed by a CSP that forbids style attributes.
    this.root.style.setProperty('--wb-color', config.color);
    this.root.style.setProperty('--wb-text', config.textColor);

    bubble.addEventListener('click', () => this.toggle(bubble));
    close.addEventListener('click', () => this.toggle(bubble, false));
    attach.addEventListener('click', () => file.click());
    file.addEventListener('change', () => {
      const chosen = file.files?.[0];
      if (chosen) actions.attach(chosen);
      file.value = '';
    });
    this.human.addEventListener('click', () => actions.askForPerson());
    this.rating.addEventListener('click', (e) => {
      const n = Number((e.target as HTMLElement).closest('button')?.dataset.rating);
      if (n) actions.rate(n);
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    });
    if (config.open) this.toggle(bubble, true);
  }

  private submit(): void {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = '';
    this.actions.send(text);
  }

  private toggle(bubble: HTMLButtonElement, open = this.panel.hidden): void {
    this.panel.hidden = !open;
    this.root.classList.toggle('is-open', open);
    bubble.setAttribute('aria-expanded', String(open));
    if (open) {
      this.actions.opened();
      this.input.focus();
      this.scroll();
    }
  }

  open(): void {
    if (this.panel.hidden) this.root.querySelector<HTMLButtonElement>('.bubble')!.click();
  }

  who(userId: string, agentId: string): void {
    this.userId = userId;
    this.agentId = agentId;
  }

  setStatus(status: SupportStatus | null): void {
    const s = status ?? 'bot';
    this.state.dataset.state = s;
    const w = this.words;
    this.state.textContent = s === 'pending_human' ? w.statePending : s === 'human' ? w.stateHuman : s === 'resolved' || s === 'closed' ? w.stateResolved : w.stateBot;
    this.human.disabled = s === 'pending_human' || s === 'human';
    this.rating.hidden = s !== 'resolved';
  }

  setHint(text: string): void {
    this.hintLine.textContent = text;
  }

  rated(): void {
    this.rating.replaceChildren(this.words.thanks);
  }

  /** Adds or replaces a message, in seq order. */
  upsert(message: Message): void {
    const existing = this.items.get(message.id);
    const item = this.render(message);
    if (existing) existing.replaceWith(item);
    else {
      const after = [...this.items.values()].find((li) => Number(li.dataset.seq) > message.seq);
      if (after) after.before(item);
      else this.log.append(item);
    }
    this.items.set(message.id, item);
    this.scroll();
  }

  /** A streamed piece of an AI answer: its text grows in place. */
  delta(messageId: string, offset: number, text: string): void {
    const item = this.items.get(messageId);
    const body = item?.querySelector<HTMLElement>('.body');
    if (!item || !body) return;
    const current = body.textContent ?? '';
    body.textContent = current.slice(0, offset) + text;
    item.dataset.deltas = String(Number(item.dataset.deltas ?? 0) + 1);
    this.scroll();
  }

  private render(message: Message): HTMLLIElement {
    const mine = message.sender_id === this.userId;
    const kind = message.type === 'system' ? 'system' : message.sender_id === this.agentId ? 'ai' : mine ? 'mine' : 'person';
    const item = el('li', { class: 'msg', 'data-id': message.id, 'data-seq': String(message.seq), 'data-mine': String(mine), 'data-kind': kind, 'data-state': message.state, 'data-testid': 'widget-message' });
    const previous = this.items.get(message.id);
    if (previous?.dataset.deltas) item.dataset.deltas = previous.dataset.deltas;
    const content = message.content as Record<string, unknown>;
    if (kind === 'person') item.append(el('span', { class: 'sender' }, this.words.person));
    if (message.type === 'image' && typeof content.file_id === 'string') {
      const img = el('img', { alt: typeof content.name === 'string' ? content.name : '', 'data-testid': 'widget-image' });
      this.imageUrl(content.file_id).then((url) => img.setAttribute('src', url), () => img.setAttribute('alt', this.words.error));
      item.append(img);
    }
    const text = typeof content.text === 'string' ? content.text : typeof content.caption === 'string' ? content.caption : '';
    // An agent's finished answer is markdown; anything else (and a reply still streaming) is plain text.
    const markdown = kind === 'ai' && message.state !== 'streaming';
    const body = el('div', { class: message.state === 'streaming' ? 'body caret' : markdown ? 'body md' : 'body' }, markdown ? renderMarkdown(text) : text);
    if (message.type !== 'image' || text) item.append(body);
    if (message.state === 'failed') item.append(el('div', { class: 'sender' }, this.words.failed));
    const citations = citationsOf(message);
    if (citations.length > 0 && message.state !== 'streaming') {
      const list = el('ol', {}, ...citations.map((c) => {
        // The heading path usually starts with the document's own title: say it once.
        const heading = (c.heading ?? '').split(' › ').filter((part, i) => part && !(i === 0 && part === c.title));
        const label = [c.title, ...heading].filter(Boolean).join(' › ') || `[${c.index}]`;
        // A source opens its passage over the conversation; one without a passage (an older reply) links its page, if any.
        if (!c.snippet) {
          return el('li', { 'data-testid': 'citation', value: String(c.index) },
            isUrl(c.source) ? el('a', { href: c.source, target: '_blank', rel: 'noopener noreferrer' }, label) : label);
        }
        const open = el('button', { type: 'button', class: 'cite', 'aria-haspopup': 'dialog' }, label);
        open.addEventListener('click', () => this.showCitation(c, label, open));
        return el('li', { 'data-testid': 'citation', value: String(c.index) }, open);
      }));
      item.append(el('div', { class: 'sources' }, el('strong', {}, this.words.sources), list));
    }
    return item;
  }

  /**
   * A cited passage over the conversation, as a modal dialog: focus moves
   * into it and Tab stays there, Esc or the close button closes it and focus
   * returns to the source that opened it. The passage is drawn by the
   * widget's own Markdown (text nodes only), with where it is and its page.
   */
  private showCitation(c: Citation, label: string, opener: HTMLElement): void {
    this.panel.querySelector('.cite-overlay')?.remove();
    const titleId = `wb-cite-${c.index}`;
    const close = el('button', { type: 'button', class: 'cite-close', 'aria-label': this.words.closePassage }, '×');
    const where = [c.location, isUrl(c.source) ? '' : c.source].filter(Boolean).join(' · ');
    const overlay = el('div', { class: 'cite-overlay', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': titleId, 'data-testid': 'widget-citation' },
      el('div', { class: 'cite-head' }, el('h2', { id: titleId }, `[${c.index}] ${label}`), close),
      ...(where ? [el('div', { class: 'cite-where' }, where)] : []),
      el('blockquote', { class: 'md cite-passage' }, renderMarkdown(c.snippet ?? '')),
      ...(isUrl(c.source) ? [el('a', { href: c.source, target: '_blank', rel: 'noopener noreferrer', class: 'cite-page' }, this.words.openPage)] : []));
    const done = () => {
      overlay.remove();
      opener.focus();
    };
    close.addEventListener('click', done);
    overlay.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        done();
      } else if (e.key === 'Tab') {
        const items = [...overlay.querySelectorAll<HTMLElement>('a[href], button')];
        const active = (overlay.getRootNode() as ShadowRoot).activeElement;
        const edge = e.shiftKey ? items[0] : items[items.length - 1];
        if (active === edge || !items.includes(active as HTMLElement)) {
          e.preventDefault();
          (e.shiftKey ? items[items.length - 1] : items[0])?.focus();
        }
      }
    });
    this.panel.append(overlay);
    close.focus();
  }

  private scroll(): void {
    this.log.scrollTop = this.log.scrollHeight;
  }
}
