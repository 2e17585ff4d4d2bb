/**
 * A WebSocket stand-in for the browser client's unit tests: it records what the client does
 * (sends, close calls) and lets the test play the server and the network (open, messages, close).
 * Install it as `globalThis.WebSocket`; `ScriptedSocket.made` lists every socket created.
 */
export class ScriptedSocket {
  static readonly OPEN = 1;
  static made: ScriptedSocket[] = [];
  readonly url: string;
  readyState = 0;
  sent: string[] = [];
  /** the code close() was called with; null while not called */
  closeCalledWith: number | undefined | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;

  constructor(url: string) {
    this.url = url;
    ScriptedSocket.made.push(this);
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(code?: number): void {
    this.closeCalledWith = code;
    this.readyState = 2;
  }
  // what the server or the network does
  opens(): void {
    this.readyState = 1;
    this.onopen?.();
  }
  receives(data: string): void {
    this.onmessage?.({ data });
  }
  receivesJson(message: unknown): void {
    this.receives(JSON.stringify(message));
  }
  /** Like a browser, a socket whose handler was removed reports to no one. */
  closes(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}
