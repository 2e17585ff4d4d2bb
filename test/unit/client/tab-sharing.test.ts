/**
 * Leader election and messages between tabs (src/client/tab-sharing.ts), with Node's own
 * BroadcastChannel and Web Locks standing in for the browser's: two "tabs" in one process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinTabs, type TabChannel, type TabMessage } from '../../../src/client/tab-sharing.ts';

interface Tab {
  received: TabMessage[];
  leader: boolean;
  becameLeader: Promise<void>;
  next(kind: TabMessage['kind']): Promise<TabMessage>;
  channel: TabChannel;
}

function tab(name: string): Tab {
  const received: TabMessage[] = [];
  const waiters: Array<() => void> = [];
  let markLeader!: () => void;
  const state = { leader: false };
  const becameLeader = new Promise<void>((resolve) => (markLeader = resolve));
  // Node may grant a free lock synchronously, inside joinTabs: nothing here may use the result yet.
  const channel = joinTabs(
    name,
    (message) => {
      received.push(message);
      for (const wake of waiters.splice(0)) wake();
    },
    () => {
      state.leader = true;
      markLeader();
    },
  );
  assert.ok(channel, 'Node has BroadcastChannel and Web Locks');
  return {
    received,
    get leader() {
      return state.leader;
    },
    becameLeader,
    channel,
    next: (kind) =>
      new Promise((resolve) => {
        const check = (): void => {
          const found = received.find((m) => m.kind === kind);
          if (found) resolve(found);
          else waiters.push(check);
        };
        check();
      }),
  };
}

test('the first tab leads; a joining tab asks for a sync; the leader\'s messages reach it; the lock passes on close', async () => {
  const name = `version-observer test-${process.pid}-${Date.now()}`;
  const first = tab(name);
  await first.becameLeader;
  const second = tab(name);
  assert.deepEqual(await first.next('sync'), { kind: 'sync' });
  first.channel.send({ kind: 'status', status: 'open' });
  assert.deepEqual(await second.next('status'), { kind: 'status', status: 'open' });
  assert.equal(second.leader, false, 'one leader at a time');
  assert.deepEqual(first.received, [{ kind: 'sync' }], 'a tab does not hear itself');

  first.channel.close();
  await second.becameLeader;
  second.channel.close();
});

test('a tab that left before it got the lock never leads', async () => {
  const name = `version-observer test-${process.pid}-${Date.now()}-2`;
  const leader = tab(name);
  await leader.becameLeader;
  const waiting = tab(name);
  waiting.channel.close();
  leader.channel.close();
  await navigator.locks.request(name, () => undefined); // the lock is free again: every queued request has run
  assert.equal(waiting.leader, false);
});

test('the wire form between tabs is the one every release used, so tabs of two client builds understand each other', async () => {
  const name = `wire-${Math.random()}`;
  const older = new BroadcastChannel(name); // a tab running a client built before the split
  const seen: unknown[] = [];
  older.onmessage = (event: MessageEvent) => seen.push(event.data);
  const current = tab(name);
  const hello = { type: 'hello', podVersion: '1.0.0', state: null };
  older.postMessage({ t: 'm', m: hello });
  older.postMessage({ t: 'future-kind' });
  const relayed = await current.next('server-message');
  assert.deepEqual(relayed, { kind: 'server-message', message: hello });
  current.channel.send({ kind: 'status', status: 'open' } as TabMessage);
  for (let i = 0; i < 50 && !seen.some((m) => (m as { t?: string }).t === 's'); i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(seen[0], { t: 'sync' }, 'a joining tab asks for a sync in the old form');
  assert.ok(seen.some((m) => JSON.stringify(m) === JSON.stringify({ t: 's', s: 'open' })), `old-form status relayed; saw ${JSON.stringify(seen)}`);
  assert.ok(current.received.every((m) => m.kind !== undefined), 'an unknown kind from a newer build is ignored, not delivered');
  current.channel.close();
  older.close();
});
