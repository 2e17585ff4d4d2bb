/**
 * Keeps the last `capacity` bytes written to it (a container's stdout+stderr), so status
 * messages can quote the tail of a crashed process without unbounded memory.
 */
export class RingBuffer {
  readonly capacity: number;
  #chunks: Buffer[] = [];
  #size = 0;

  /** capacity in bytes; default 64 KiB. */
  constructor(capacity = 64 * 1024) {
    this.capacity = capacity;
  }

  write(chunk: Buffer): void {
    if (chunk.length >= this.capacity) {
      this.#chunks = [chunk.subarray(chunk.length - this.capacity)];
      this.#size = this.capacity;
      return;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size > this.capacity) {
      const head = this.#chunks[0]!;
      const excess = this.#size - this.capacity;
      if (head.length <= excess) {
        this.#chunks.shift();
        this.#size -= head.length;
      } else {
        this.#chunks[0] = head.subarray(excess);
        this.#size -= excess;
      }
    }
  }

  toString(): string {
    return Buffer.concat(this.#chunks, this.#size).toString('utf8');
  }

  /** The last `lines` non-empty lines, at most `maxChars` characters. */
  tail(lines = 5, maxChars = 1024): string {
    const all = this.toString().split('\n').filter((l) => l.trim() !== '');
    const text = all.slice(-lines).join('\n');
    return text.length > maxChars ? text.slice(text.length - maxChars) : text;
  }

  clear(): void {
    this.#chunks = [];
    this.#size = 0;
  }
}
