/**
 * The app records: the one owner of every app's current AppState in this process (the pusher
 * reads them, /v1/apps serves them), with the settle candidate of each and the (epoch, seq)
 * stamping.
 *
 * Invariants:
 * - (epoch, seq): epoch is the one this replica last led with (0 before), seq a per-epoch
 *   counter that increases on every recorded state of any app, so states of one epoch are
 *   totally ordered.
 * - `restamp(epoch)` starts a term: seq restarts and every state is stamped (epoch, 1..n) in app
 *   order, so each is newer than anything a previous leader sent.
 * - A state is replaced, never mutated: a new state is a new object (the pusher signs each
 *   object once).
 * - `onPhase` hears every change of the count of apps per phase (the apps gauge).
 */
import type { AppState, Phase } from '../core/app-state.ts';
import type { SettleCandidate, StateBody } from '../core/evaluate.ts';

export interface AppRecord {
  readonly state: AppState;
  readonly candidate: SettleCandidate | null;
}

/** Called with (phase, delta) when an app enters (+1) or leaves (−1) a phase. */
export type PhaseListener = (phase: Phase, delta: 1 | -1) => void;

const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class AppRecords {
  readonly #records = new Map<string, AppRecord>();
  readonly #onPhase: PhaseListener;
  #epoch = 0;
  #seq = 0;

  constructor(onPhase: PhaseListener = () => {}) {
    this.#onPhase = onPhase;
  }

  get epoch(): number {
    return this.#epoch;
  }

  get size(): number {
    return this.#records.size;
  }

  get(app: string): AppRecord | undefined {
    return this.#records.get(app);
  }

  stateOf(app: string): AppState | undefined {
    return this.#records.get(app)?.state;
  }

  /** Every state, sorted by app. */
  states(): AppState[] {
    return [...this.#records.values()].map((r) => r.state).sort((a, b) => byKey(a.app, b.app));
  }

  /** Records `body` as the app's new state, stamped (epoch, next seq); returns it. */
  record(app: string, body: StateBody, candidate: SettleCandidate | null): AppState {
    const state: AppState = { ...body, epoch: this.#epoch, seq: ++this.#seq };
    const before = this.#records.get(app)?.state.phase;
    this.#records.set(app, { state, candidate });
    if (before !== state.phase) {
      if (before !== undefined) this.#onPhase(before, -1);
      this.#onPhase(state.phase, 1);
    }
    return state;
  }

  /** Keeps the app's state, with a new settle candidate. */
  keepCandidate(app: string, candidate: SettleCandidate | null): void {
    const rec = this.#records.get(app);
    if (rec) this.#records.set(app, { state: rec.state, candidate });
  }

  /** Forgets the app; returns whether it was recorded. */
  delete(app: string): boolean {
    const rec = this.#records.get(app);
    if (!rec) return false;
    this.#records.delete(app);
    this.#onPhase(rec.state.phase, -1);
    return true;
  }

  /** A new term with `epoch`: re-stamps every state (epoch, 1..n) in app order; returns the apps in that order. */
  restamp(epoch: number): string[] {
    this.#epoch = epoch;
    this.#seq = 0;
    const apps = [...this.#records.keys()].sort(byKey);
    for (const app of apps) {
      const rec = this.#records.get(app) as AppRecord;
      this.#records.set(app, { state: { ...rec.state, epoch, seq: ++this.#seq }, candidate: rec.candidate });
    }
    return apps;
  }
}
