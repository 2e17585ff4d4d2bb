/**
 * Open sockets counted by the page version their client reported (`?v=`), for the
 * `connections_by_client_version` gauge.
 * Invariants:
 * - at most `maxLabels` version labels at once, plus "other" (not version-like, too long, or no
 *   free label) and "unknown" (no `?v=`); so the metric's cardinality stays bounded;
 * - a label whose count fell to 0 keeps its slot until a new version needs one;
 * - a socket is counted under the label add() returned, and removed under that same label.
 * Pure bookkeeping: no I/O, no clock.
 */

/** Page versions that look like semver become labels; anything else is "other". */
const VERSION_LIKE = /^v?\d{1,9}\.\d{1,9}\.\d{1,9}(?:-[0-9A-Za-z.-]{1,40})?$/;
const MAX_VERSION_LENGTH = 60;
const OTHER = 'other';
const UNKNOWN = 'unknown';

export class ClientVersionCounts {
  readonly #counts = new Map<string, number>();
  readonly #maxLabels: number;

  constructor(maxLabels: number) {
    this.#maxLabels = maxLabels;
  }

  /** Label → open sockets; labels at 0 may be listed. */
  get counts(): ReadonlyMap<string, number> {
    return this.#counts;
  }

  /** Counts one more socket of `clientVersion`; returns the label it is counted under. */
  add(clientVersion: string | undefined): string {
    const label = this.#labelFor(clientVersion);
    this.#counts.set(label, (this.#counts.get(label) ?? 0) + 1);
    return label;
  }

  /** Counts one socket less under `label` (a value add() returned). */
  remove(label: string): void {
    this.#counts.set(label, (this.#counts.get(label) ?? 1) - 1);
  }

  #labelFor(version: string | undefined): string {
    if (!version) return UNKNOWN;
    if (this.#counts.has(version)) return version;
    if (version.length > MAX_VERSION_LENGTH || !VERSION_LIKE.test(version)) return OTHER;
    const versionLabels = this.#counts.size - (this.#counts.has(OTHER) ? 1 : 0) - (this.#counts.has(UNKNOWN) ? 1 : 0);
    if (versionLabels >= this.#maxLabels && !this.#freeUnusedLabel()) return OTHER;
    return version;
  }

  /** Drops the first version label nobody is connected with any more; false when there is none. */
  #freeUnusedLabel(): boolean {
    for (const [label, count] of this.#counts) {
      if (count === 0 && label !== OTHER && label !== UNKNOWN) {
        this.#counts.delete(label);
        return true;
      }
    }
    return false;
  }
}
