/**
 * The browser client's reconnects in a real browser (playwright-core driving Debian's
 * /usr/bin/chromium, headless), against loopback servers (reconnect-fixture.ts):
 * - a server that refuses every upgrade (HTTP 503 + Retry-After, as a sidecar at its cap does)
 *   or accepts and closes at once with 1013: the page backs off from the last failure. Not
 *   waiting a real minute, the test checks every gap between attempts against the lower bound
 *   of the client's backoff (derived from its own constants, src/client/decide.ts) and derives
 *   from the same bounds the most attempts a minute can hold;
 * - a draining pod: two real sidecar processes behind a proxy that plays the Service. Pages
 *   served by the first get its 1001 and reconnect within the 0–100 ms window, to the second.
 * Fails loudly (never skips) when chromium is missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, launchBrowser } from '../../../src/demo/browser.ts';
import { GOING_AWAY_WINDOW_MS, reconnectDelayMs } from '../../../src/client/decide.ts';
import { buildClient, INSTALLATION, root } from '../sidecar/helpers.ts';
import { generateSigningKey } from '../../../src/core/signature.ts';
import { sleep, waitFor } from '../../support/wait.ts';
import { RECORD_SOCKETS, startPageServer, type PageServer, type SocketRecord, type TimeoutRecord } from './reconnect-fixture.ts';

const randomIp = () => `127.${10 + Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
const workDir = mkdtempSync(`${tmpdir()}/vo-reconnect-`);
const bundle = `${workDir}/client.js`;
const children = new Set<ChildProcess>();
const servers: PageServer[] = [];
let browser: Browser;
const key = generateSigningKey(); // the sidecars need a key; nothing is pushed

/** How long the refusal tests watch a page (the bounds below say what a minute holds). */
const WINDOW_MS = 16_000;
/** Timer and event-loop slack allowed below a lower bound (the server sees each attempt a little after the client made it). */
const SLACK_MS = 25;
/** A timer set while handling an event is scheduled within this of the event's own timestamp. */
const SAME_TASK_MS = 50;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`apt-get install -y chromium\` (browser tests never skip)`);
  await buildClient(bundle); // the bundle scripts/build.ts builds, to a private path
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
  for (const c of children) c.kill('SIGKILL');
  rmSync(workDir, { recursive: true, force: true });
});

async function openPage(server: PageServer): Promise<{ page: Page; close: () => Promise<void> }> {
  const context = await browser.newContext();
  await context.addInitScript(RECORD_SOCKETS);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.origin);
  return {
    page,
    close: async () => {
      await context.close();
      assert.deepEqual(errors, [], 'no uncaught errors in the page');
    },
  };
}

const socketsOf = (page: Page): Promise<SocketRecord[]> => page.evaluate(() => (window as unknown as { sockets: SocketRecord[] }).sockets);

/** Lower bound of the wait after failed connection number `i` (0 = the page's first socket). */
type Floor = (i: number) => number;

/** The most attempts that fit in `windowMs` from the first one, when each wait is at least its floor. */
function mostAttempts(windowMs: number, floor: Floor): number {
  let at = 0;
  let n = 0;
  while (at <= windowMs) at += floor(n++);
  return n;
}

/**
 * Watches a page whose every connection fails for WINDOW_MS and checks the attempts against the
 * floors: each gap is at least its floor, so the count is within what the floors allow. Returns
 * the gaps (ms) for the log.
 */
async function watchRefusals(server: PageServer, floor: Floor, label: string): Promise<number[]> {
  const { page, close } = await openPage(server);
  await waitFor('the first attempt', () => server.attempts.length > 0, 10_000, 20);
  const first = server.attempts[0]!;
  await sleep(WINDOW_MS - (performance.now() - first));
  const attempts = server.attempts.filter((t) => t - first <= WINDOW_MS);
  const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
  console.log(`# ${label}: ${attempts.length} attempts in ${WINDOW_MS / 1000} s; gaps ${gaps.map((g) => Math.round(g)).join(', ')} ms; floors ${gaps.map((_, i) => floor(i)).join(', ')} ms`);
  gaps.forEach((gap, i) => assert.ok(gap >= floor(i) - SLACK_MS, `${label}: wait ${i} was ${gap.toFixed(0)} ms, below its floor ${floor(i)} ms`));
  assert.ok(attempts.length <= mostAttempts(WINDOW_MS, floor), `${label}: ${attempts.length} attempts, at most ${mostAttempts(WINDOW_MS, floor)} fit`);
  assert.ok(attempts.length >= 2, `${label}: the page keeps trying (${attempts.length} attempts)`);
  const sockets = await socketsOf(page);
  assert.ok(Math.abs(sockets.length - server.attempts.length) <= 1, `the page made ${sockets.length} sockets, the server saw ${server.attempts.length}`);
  assert.ok(sockets.every((s) => !s.messages.length), 'no socket got a hello');
  await close();
  return gaps;
}

test('a server that refuses every upgrade with 503 + Retry-After: every wait is at least the failure backoff\'s floor; a minute holds at most 10 attempts, then 4 a minute', async () => {
  // A 503 shows in the page as a socket that never opened (close 1006, no status, no Retry-After).
  const floor: Floor = (i) => reconnectDelayMs(i, 0, 1006);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(floor), [0, 500, 1000, 2000, 4000, 8000, 15_000, 15_000], 'the floors (random 0)');
  assert.ok(mostAttempts(60_000, floor) <= 10, `first minute: ${mostAttempts(60_000, floor)}`);
  assert.ok(60_000 / floor(1000) <= 4, 'after that, at most 4 a minute');

  const server = await startPageServer(randomIp(), bundle, { kind: 'refuse', retryAfterS: 5 });
  servers.push(server);
  await watchRefusals(server, floor, '503');
});

test('a server that accepts and closes at once with 1013: at least the 5 s overload hint between attempts (a reset on open would retry every 0–500 ms)', async () => {
  const reason = 'VO_WS_AT_CAPACITY';
  const floor: Floor = (i) => reconnectDelayMs(i, 0, 1013, reason);
  assert.deepEqual([0, 1, 2, 3].map(floor), [5000, 5500, 6000, 7000]);
  assert.ok(mostAttempts(60_000, floor) <= 7, `first minute: ${mostAttempts(60_000, floor)}`);

  const server = await startPageServer(randomIp(), bundle, { kind: 'accept-then-close', code: 1013, reason });
  servers.push(server);
  await watchRefusals(server, floor, '1013');
});

function startSidecar(ip: string, podVersion: string, allowedOrigin: string): ChildProcess {
  const child = spawn(process.execPath, ['src/cli/main.ts', 'sidecar'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '',
      VERSION_OBSERVER_APP: 'storefront', POD_NAMESPACE: 'shop', VERSION_OBSERVER_POD_VERSION: podVersion,
      VERSION_OBSERVER_PUBLIC_KEY: key.publicKeyBase64, VERSION_OBSERVER_INSTALLATION: INSTALLATION, VERSION_OBSERVER_LISTEN_HOST: ip,
      VERSION_OBSERVER_ALLOWED_ORIGINS: allowedOrigin, VERSION_OBSERVER_LOG_LEVEL: 'warn',
      VERSION_OBSERVER_DRAIN_MS: '0', VERSION_OBSERVER_SHUTDOWN_GRACE_MS: '2000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const helloFrom = (record: SocketRecord | undefined): string | undefined => {
  const hello = record?.messages.map((m) => JSON.parse(m) as { type: string; podVersion?: string }).find((m) => m.type === 'hello');
  return hello?.podVersion;
};

test('a draining pod (1001): every page reconnects within the 0–100 ms window and is served by the other pod', async () => {
  const pageIp = randomIp();
  const [ipA, ipB] = [randomIp(), randomIp()];
  const server = await startPageServer(pageIp, bundle, { kind: 'proxy', host: ipA, port: 8787 });
  servers.push(server);
  const sidecarA = startSidecar(ipA, '1.0.0', server.origin);
  startSidecar(ipB, '1.1.0', server.origin);
  for (const ip of [ipA, ipB]) {
    await waitFor(`sidecar on ${ip}`, async () => (await fetch(`http://${ip}:8788/readyz`)).ok, 20_000, 100);
  }

  // three browsers' worth of pages (one context each, so each holds its own socket)
  const pages = await Promise.all([0, 1, 2].map(() => openPage(server)));
  for (const { page } of pages) {
    await waitFor('hello from pod A', async () => helloFrom((await socketsOf(page))[0]) === '1.0.0', 10_000, 50);
  }

  server.mode = { kind: 'proxy', host: ipB, port: 8787 }; // the Service drops the draining pod
  sidecarA.kill('SIGTERM');

  for (const { page, close } of pages) {
    const sockets = await waitFor('hello from pod B', async () => {
      const all = await socketsOf(page);
      return helloFrom(all.at(-1)) === '1.1.0' ? all : undefined;
    }, 10_000, 50);
    const [first, second] = sockets;
    assert.equal(sockets.length, 2, 'one reconnect, and it was served');
    assert.equal(first!.code, 1001, 'pod A said it is going away');
    const delay = second!.created - first!.closed!;
    const toHello = second!.opened! - first!.closed!;
    // The decision is exact: the timer the client set while handling the 1001 (the same task as
    // the close event, so scheduled within a few ms of it) asked for less than the window. How
    // late a loaded machine then ran that timer is not the client's choice: the new socket must
    // only come from that timer (not before it, and not from a later, longer backoff).
    const timeouts = await page.evaluate(() => (window as unknown as { timeouts: TimeoutRecord[] }).timeouts);
    const reconnectTimer = timeouts.find((t) => t.at >= first!.closed! && t.at - first!.closed! < SAME_TASK_MS);
    assert.ok(reconnectTimer, `a reconnect timer was set while handling the 1001; timers: ${JSON.stringify(timeouts.slice(-5))}`);
    console.log(`# 1001 → reconnect timer ${reconnectTimer.ms.toFixed(1)} ms; new socket after ${delay.toFixed(1)} ms, open on pod B after ${toHello.toFixed(1)} ms`);
    assert.ok(reconnectTimer.ms >= 0 && reconnectTimer.ms < GOING_AWAY_WINDOW_MS, `the client chose ${reconnectTimer.ms.toFixed(1)} ms after a 1001 (window ${GOING_AWAY_WINDOW_MS} ms)`);
    const fired = reconnectTimer.at + reconnectTimer.ms;
    assert.ok(second!.created >= fired - 1, `the new socket came from that timer, not before it (created ${second!.created.toFixed(1)}, timer due ${fired.toFixed(1)})`);
    assert.ok(second!.created < fired + GOING_AWAY_WINDOW_MS * 5, `the new socket came from that timer, not from a later backoff (${(second!.created - fired).toFixed(1)} ms after it was due)`);
    assert.equal(await page.evaluate(() => (window as unknown as { vo: { status: string } }).vo.status), 'open');
    await close();
  }
});
