/**
 * `<version-banner>`: a small, accessible notice for `update` and `rollback` with Reload and
 * Later. Later hides it until the next version. Reload fires a cancelable `reload` event
 * (bubbling, composed) and reloads the page unless it was prevented. Styling: CSS custom
 * properties `--vo-bg`, `--vo-fg`, `--vo-accent`, and `::part(banner|reload|later)`.
 * Versions are written with textContent, never as HTML. The short class names in the shadow
 * DOM (b banner, d dot, t text, r reload, l later; keyframes i = enter) keep the inline CSS small;
 * tests find the banner by `.b` and its text by `.t`. The buttons need no type="button": in a
 * shadow root they have no form to submit.
 */
import { SNAPSHOT_EVENTS, currentObserver, type UpdateDetail, type VersionObserver } from './observer.ts';

// One string without newlines (esbuild joins the literals): every byte of the bundle counts.
const CSS =
  ':host{position:fixed;z-index:2147483000;right:16px;bottom:16px;max-width:calc(100vw - 32px);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}' +
  '[hidden]{display:none!important}' +
  '.b{display:flex;align-items:center;gap:16px;padding:14px 14px 14px 18px;border-radius:14px;background:var(--vo-bg,#111827);color:var(--vo-fg,#f9fafb);box-shadow:0 12px 32px rgba(0,0,0,.28),0 2px 6px rgba(0,0,0,.18);animation:i .25s ease-out}' +
  '.d{width:10px;height:10px;border-radius:50%;background:var(--vo-accent,#818cf8);box-shadow:0 0 0 4px color-mix(in srgb,var(--vo-accent,#818cf8) 30%,transparent);flex:none}' +
  '.t{flex:1;min-width:0}strong{display:block;font-weight:600}span{opacity:.78}' +
  'button{font:inherit;border:0;border-radius:9px;padding:7px 14px;cursor:pointer}' +
  '.r{background:var(--vo-accent,#6366f1);color:#fff;font-weight:600}.r:hover{filter:brightness(1.1)}' +
  '.l{background:transparent;color:inherit;opacity:.75}.l:hover{opacity:1}' +
  'button:focus-visible{outline:2px solid var(--vo-accent,#818cf8);outline-offset:2px}' +
  '@keyframes i{from{transform:translateY(12px);opacity:0}}' +
  '@media (prefers-color-scheme:dark){.b{background:var(--vo-bg,#1e293b);box-shadow:0 0 0 1px #334155,0 12px 32px rgba(0,0,0,.5)}}' +
  '@media (prefers-reduced-motion:reduce){.b{animation:none}}';

const Base = (typeof HTMLElement === 'function' ? HTMLElement : class {}) as typeof HTMLElement;

// Fields are `declare`d and set in the constructor (see VersionObserver: a smaller bundle).
export class VersionBanner extends Base {
  /** the version currently shown, or null when hidden */
  declare shownVersion: string | null;
  declare private boundObserver: VersionObserver | null;
  /** the version the user chose Later for: not shown again */
  declare private snoozedVersion: string | null;

  constructor() {
    super();
    this.shownVersion = this.boundObserver = this.snoozedVersion = null;
  }

  /** The banner listens to its observer as an EventListener object (no bound function to keep). */
  handleEvent(event: Event): void {
    event.type === 'current' ? this.hide() : this.show((event as CustomEvent<UpdateDetail>).detail, event.type);
  }

  get observer(): VersionObserver | null {
    return this.boundObserver;
  }

  set observer(observer: VersionObserver | null) {
    for (const type of SNAPSHOT_EVENTS) {
      this.boundObserver?.removeEventListener(type, this);
      observer?.addEventListener(type, this);
    }
    this.boundObserver = observer;
    const pending = observer?.pending;
    if (pending) this.show(pending, pending.kind);
  }

  connectedCallback(): void {
    if (!this.boundObserver) this.observer = currentObserver();
  }

  disconnectedCallback(): void {
    this.observer = null;
  }

  /** Shows the notice for an update (or a rollback, when kind is "rollback"), unless snoozed. */
  show(detail: UpdateDetail, kind = 'update'): void {
    if (detail.version === this.snoozedVersion) return;
    const root = this.shadowRoot ?? this.render();
    const element = (selector: string): HTMLElement => root.querySelector(selector) as HTMLElement;
    const rollback = kind === 'rollback';
    element('strong').textContent = rollback ? 'This version was rolled back' : 'A new version is available';
    element('span').textContent = rollback ? `Reload to return to ${detail.version}.` : `${detail.version} is ready; you are on ${detail.pageVersion}.`;
    element('.b').hidden = false;
    this.shownVersion = detail.version;
  }

  hide(): void {
    const banner = this.shadowRoot?.querySelector('.b') as HTMLElement | null;
    if (banner) banner.hidden = true;
    this.shownVersion = null;
  }

  private render(): ShadowRoot {
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = `<style>${CSS}</style><div class="b" part="banner" role="status" aria-live="polite" hidden><i class="d"></i><div class="t"><strong></strong><span></span></div><button class="l" part="later">Later</button><button class="r" part="reload">Reload</button></div>`;
    const [later, reload] = root.querySelectorAll('button');
    reload!.onclick = () => {
      if (this.dispatchEvent(new CustomEvent('reload', { bubbles: true, composed: true, cancelable: true, detail: { version: this.shownVersion } }))) location.reload();
    };
    later!.onclick = () => {
      this.snoozedVersion = this.shownVersion;
      this.hide();
    };
    return root;
  }
}

/** Registers `<version-banner>` once (no-op outside a browser). */
export function defineVersionBanner(): void {
  if (typeof customElements === 'object' && !customElements.get('version-banner')) customElements.define('version-banner', VersionBanner);
}
