/**
 * One socket per browser: the tabs observing one socket URL elect a leader with a Web Lock and
 * talk over a BroadcastChannel, both named after that URL.
 * Invariants:
 * - the tab holding the lock is the leader until its tab goes away or it closes; the lock then
 *   passes to a waiting tab, which becomes the leader. When the lock cannot be requested at
 *   all, the tab leads by itself (onLeader runs then too);
 * - a tab asks for a `sync` as it joins, so the leader can tell it what it missed;
 * - after close() a lock granted later is given back at once, the channel is closed and send()
 *   does nothing;
 * - without BroadcastChannel or Web Locks there is nothing to share: joinTabs returns null and
 *   the caller leads alone.
 * - the wire form on the channel never changes: tabs opened before an upgrade of the sidecar (old
 *   bundle) and after it (new bundle) share one channel, so TabMessage is translated to and from
 *   the short form every release has used: {t:'m',m} {t:'s',s} {t:'sync'} {t:'wake'}.
 */
import type { NewsMessage, Status } from './server-connection.ts';

/** Messages between the tabs of one browser. */
export type TabMessage =
  /** the leader relays what the sidecar sent */
  | { kind: 'server-message'; message: NewsMessage }
  /** the leader's connection status */
  | { kind: 'status'; status: Status }
  /** a tab that just joined asks the leader for the last server message and its status */
  | { kind: 'sync' }
  /** a follower that woke up asks the leader to reconnect if its socket is down */
  | { kind: 'wake' };

/** The frozen wire form of a TabMessage (see the header). */
type WireMessage = { t: 'm'; m: NewsMessage } | { t: 's'; s: Status } | { t: 'sync' } | { t: 'wake' };

const toWire = (message: TabMessage): WireMessage =>
  message.kind === 'server-message' ? { t: 'm', m: message.message } : message.kind === 'status' ? { t: 's', s: message.status } : { t: message.kind };

/** Unknown shapes (a future release's additions) are ignored. */
const fromWire = (wire: WireMessage | null): TabMessage | null =>
  wire?.t === 'm' ? { kind: 'server-message', message: wire.m } : wire?.t === 's' ? { kind: 'status', status: wire.s } : wire?.t === 'sync' || wire?.t === 'wake' ? { kind: wire.t } : null;

export interface TabChannel {
  send(message: TabMessage): void;
  /** Leaves: closes the channel and gives up (or stops waiting for) the lock. */
  close(): void;
}

/** Joins the tabs sharing `name`; null when this browser cannot share (the caller leads alone). */
export function joinTabs(name: string, onMessage: (message: TabMessage) => void, onLeader: () => void): TabChannel | null {
  if (typeof BroadcastChannel !== 'function' || !navigator.locks) return null;
  let left = false;
  let releaseLock: (() => void) | undefined;
  const channel = new BroadcastChannel(name);
  channel.onmessage = (event: MessageEvent<WireMessage>) => {
    const message = fromWire(event.data);
    if (message) onMessage(message);
  };
  channel.postMessage(toWire({ kind: 'sync' }));
  navigator.locks
    .request(name, () => {
      if (left) return;
      onLeader();
      return new Promise<void>((resolve) => (releaseLock = resolve));
    })
    .catch(onLeader);
  return {
    // posting to a closed channel throws; a tab that left has nothing more to say
    send: (message) => left || channel.postMessage(toWire(message)),
    close() {
      left = true;
      channel.close();
      releaseLock?.();
    },
  };
}
