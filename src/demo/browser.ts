/**
 * Debian's Chromium, headless, driven by playwright-core. Never downloads a browser: a missing
 * /usr/bin/chromium is an error that says how to install it.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.VO_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

/**
 * Playwright gives each launch its own temporary profile and removes it on close(). Its own
 * signal handlers are off: on Ctrl-C it would exit the process before the local cluster is torn
 * down; the cluster's handlers stop everything, and Playwright still kills the browser on exit.
 */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get update && apt-get install -y chromium); bash scripts/vo.sh does it for you`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs], handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
}
