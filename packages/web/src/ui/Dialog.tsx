import { useEffect, useRef, type ReactNode } from 'react';
import { useI18n } from './i18n.tsx';

/**
 * A modal on the native <dialog>: the page behind it is inert and Esc closes
 * it; Tab wraps around inside it (the browser alone lets it leave the page
 * for its own toolbar); focus goes back where it was when it closes.
 */
export function Dialog({ title, onClose, children, className }: { title: string; onClose: () => void; children: ReactNode; className?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  const { t } = useI18n();
  useEffect(() => {
    const dialog = ref.current;
    const before = document.activeElement as HTMLElement | null;
    if (dialog && !dialog.open) dialog.showModal();
    // showModal focuses the first focusable element, the close button; people want to type.
    dialog?.querySelector<HTMLElement>('.dialog-body input:not([type="hidden"]):not([type="checkbox"]), .dialog-body textarea, .dialog-body select, .dialog-body button, .dialog-body a')?.focus();
    return () => {
      // Focus goes back to where it was only if it is still in the dialog: a choice that moved it on
      // (picking a person opens the chat and focuses its message box) keeps it where it went.
      const active = document.activeElement;
      const stillHere = !active || active === document.body || (dialog?.contains(active) ?? false);
      dialog?.close();
      if (stillHere) before?.focus?.();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      className={`dialog ${className ?? ''}`}
      aria-label={title}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      onClick={(e) => {
        if (e.target === ref.current) onClose();
      }}
      // A search box swallows the first Esc (it clears itself), and the dialog never hears it.
      onKeyDown={(e) => {
        if (e.key === 'Escape' && !e.defaultPrevented) {
          e.preventDefault();
          onClose();
        }
        if (e.key === 'Tab' && ref.current) wrapFocus(ref.current, e);
      }}
    >
      <header className="dialog-head">
        <h2>{title}</h2>
        <button type="button" className="icon" aria-label={t('dialog.close')} onClick={onClose}>×</button>
      </header>
      <div className="dialog-body">{children}</div>
    </dialog>
  );
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** Tab from the last focusable element goes to the first, Shift+Tab from the first to the last. */
function wrapFocus(dialog: HTMLDialogElement, e: { shiftKey: boolean; preventDefault(): void }): void {
  const items = [...dialog.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement);
  if (items.length === 0) return;
  const first = items[0]!;
  const last = items[items.length - 1]!;
  const active = document.activeElement;
  if (e.shiftKey && (active === first || !dialog.contains(active))) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && (active === last || !dialog.contains(active))) {
    e.preventDefault();
    first.focus();
  }
}
