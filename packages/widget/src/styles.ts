/**
 * The widget's stylesheet, adopted by its shadow root as a constructable
 * stylesheet: no <style> element and no style attribute, so a page whose CSP
 * forbids inline styles still shows it, and the page's CSS cannot reach in.
 * The company's colours arrive as custom properties set through the CSSOM.
 */
export const CSS = `
:host { all: initial; }
.wb { --wb-color: #2563eb; --wb-text: #fff; position: fixed; bottom: 20px; right: 20px; z-index: 2147483000;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif; color: #111827; }
.wb[data-position="left"] { right: auto; left: 20px; }
.bubble { width: 56px; height: 56px; border-radius: 50%; border: 0; background: var(--wb-color); color: var(--wb-text);
  box-shadow: 0 6px 20px rgba(0,0,0,.25); cursor: pointer; display: grid; place-items: center; }
.bubble svg { width: 28px; height: 28px; fill: currentColor; }
.bubble:focus-visible, button:focus-visible, textarea:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.panel { position: absolute; bottom: 72px; right: 0; width: 370px; height: min(600px, calc(100vh - 110px));
  background: #fff; border-radius: 14px; box-shadow: 0 12px 40px rgba(0,0,0,.25); display: flex; flex-direction: column; overflow: hidden; }
.wb[data-position="left"] .panel { right: auto; left: 0; }
.panel[hidden] { display: none; }
header { background: var(--wb-color); color: var(--wb-text); padding: 12px 14px; display: flex; align-items: center; gap: 10px; }
header .who { flex: 1; min-width: 0; }
header .title { font-weight: 600; font-size: 16px; }
header .state { font-size: 12px; opacity: .92; display: flex; align-items: center; gap: 6px; }
header .state::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: #a7f3d0; }
header .state[data-state="pending_human"]::before { background: #fde68a; }
header .state[data-state="human"]::before { background: #86efac; }
header .close { background: transparent; border: 0; color: inherit; font-size: 22px; cursor: pointer; line-height: 1; padding: 4px; }
.log { list-style: none; margin: 0; padding: 12px; flex: 1; overflow-y: auto; display: flex; flex-direction: column; gap: 8px; background: #f9fafb; }
.msg { max-width: 85%; align-self: flex-start; background: #fff; border: 1px solid #e5e7eb; border-radius: 12px; padding: 8px 11px; white-space: pre-wrap; overflow-wrap: anywhere; }
.msg[data-mine="true"] { align-self: flex-end; background: var(--wb-color); color: var(--wb-text); border-color: transparent; }
.msg[data-kind="system"] { align-self: center; background: transparent; border: 0; color: #6b7280; font-size: 12px; text-align: center; }
.msg[data-state="failed"] { border-color: #fca5a5; }
.msg .sender { display: block; font-size: 11px; color: #6b7280; margin-bottom: 2px; }
.msg img { display: block; max-width: 100%; max-height: 240px; border-radius: 8px; }
.msg .caret::after { content: "▍"; animation: blink 1s steps(2) infinite; }
@keyframes blink { 50% { opacity: 0; } }
.body.md { white-space: normal; }
.md p { margin: 0 0 6px; white-space: pre-wrap; }
.md p:last-child { margin-bottom: 0; }
.md blockquote { margin: 4px 0 6px; padding-left: 8px; border-left: 3px solid #d1d5db; color: #374151; }
.md pre { background: #f3f4f6; padding: 6px 8px; border-radius: 6px; overflow-x: auto; white-space: pre; margin: 4px 0 6px; }
.md code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.md p code { background: #f3f4f6; padding: 0 3px; border-radius: 3px; }
.msg .body.caret { white-space: pre-wrap; }
.sources { margin-top: 6px; padding-top: 6px; border-top: 1px solid #e5e7eb; font-size: 12px; white-space: normal; }
.sources ol { margin: 2px 0 0; padding-left: 18px; }
.sources a { color: #1d4ed8; }
.sources button.cite { background: none; border: 0; padding: 0; color: #1d4ed8; text-decoration: underline; cursor: pointer; font: inherit; text-align: left; }
.cite-overlay { position: absolute; inset: 0; background: #fff; display: flex; flex-direction: column; padding: 12px 14px; overflow-y: auto; z-index: 1; }
.cite-head { display: flex; align-items: flex-start; gap: 8px; }
.cite-head h2 { flex: 1; font-size: 15px; margin: 0; }
.cite-close { background: transparent; border: 0; font-size: 22px; line-height: 1; cursor: pointer; padding: 0 4px; color: #374151; }
.cite-where { font-size: 12px; color: #4b5563; margin-top: 4px; }
.cite-passage { margin: 10px 0; padding-left: 10px; border-left: 3px solid var(--wb-color); white-space: normal; overflow-wrap: anywhere; }
.cite-page { color: #1d4ed8; }
.hint { padding: 4px 14px; font-size: 12px; color: #6b7280; min-height: 18px; background: #f9fafb; }
.actions { display: flex; gap: 8px; padding: 6px 12px; border-top: 1px solid #e5e7eb; align-items: center; flex-wrap: wrap; }
.actions button { background: #fff; border: 1px solid var(--wb-color); color: var(--wb-color); border-radius: 999px; padding: 4px 12px; cursor: pointer; font: inherit; font-size: 13px; }
.actions button:disabled { opacity: .5; cursor: default; }
.rating button { border-radius: 6px; padding: 2px 8px; }
form { display: flex; gap: 6px; padding: 10px 12px; border-top: 1px solid #e5e7eb; align-items: flex-end; }
textarea { flex: 1; resize: none; border: 1px solid #d1d5db; border-radius: 10px; padding: 8px 10px; font: inherit; max-height: 120px; min-height: 20px; }
form button { border: 0; border-radius: 10px; padding: 8px 12px; cursor: pointer; font: inherit; }
form .send { background: var(--wb-color); color: var(--wb-text); }
form .attach { background: #f3f4f6; color: #374151; font-size: 16px; }
form .attach svg { width: 18px; height: 18px; fill: currentColor; display: block; }
.file { display: none; }
@media (max-width: 480px) {
  .wb { bottom: 12px; right: 12px; }
  .wb[data-position="left"] { left: 12px; }
  .wb.is-open { inset: 0; }
  .wb.is-open .bubble { display: none; }
  .panel { position: fixed; inset: 0; width: auto; height: auto; border-radius: 0; bottom: 0; }
}
`;
