/** What a person would see of the version banner on a page. */
import type { Page } from 'playwright-core';

export interface BannerView {
  visible: boolean;
  /** the version the banner offers, when visible */
  version: string | null;
  text: string;
}

export async function bannerOf(page: Page): Promise<BannerView> {
  return page.evaluate(() => {
    const el = document.querySelector('version-banner') as (HTMLElement & { shownVersion?: string | null }) | null;
    if (!el) return { visible: false, version: null, text: '' };
    const root = el.shadowRoot;
    const box = (root?.querySelector('[part="banner"]') as HTMLElement | null) ?? el;
    const style = getComputedStyle(box);
    const visible = !!el.shownVersion && !box.hidden && style.display !== 'none' && style.visibility !== 'hidden' && box.getBoundingClientRect().height > 0;
    return { visible, version: visible ? (el.shownVersion ?? null) : null, text: visible ? box.innerText.replace(/\s+/g, ' ').trim() : '' };
  });
}
