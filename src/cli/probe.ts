/**
 * `version-observer probe <url> [--timeout-ms=N]`: GET the URL until it answers 2xx or the
 * timeout passes; exit 0 on 2xx, 1 otherwise, with one line saying what was seen. The chart's
 * `helm test` pod runs it against the controller's /readyz, so the test needs no image but ours.
 * Retries every 500 ms (a Service may not route to a pod that just became Ready yet).
 */
export async function run(argv: string[]): Promise<void> {
  let url: string | undefined;
  let timeoutMs = 10_000;
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') {
      console.log('usage: version-observer probe <url> [--timeout-ms=10000]\n\nExits 0 once GET <url> answers 2xx, 1 when the timeout passes first.');
      return;
    }
    const m = /^--timeout-ms=(\d+)$/.exec(arg);
    if (m) timeoutMs = Number(m[1]);
    else if (!arg.startsWith('-') && url === undefined) url = arg;
    else throw new Error(`unexpected argument '${arg}'`);
  }
  if (!url) throw new Error('a URL is required: version-observer probe <url>');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`not a URL: '${url}'`);
  }
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      const res = await fetch(parsed, { signal: AbortSignal.timeout(Math.max(1, Math.min(5_000, deadline - Date.now()))) });
      const body = (await res.text()).slice(0, 200).trim();
      last = `HTTP ${res.status}${body ? ` ${body}` : ''}`;
      if (res.ok) {
        console.log(`probe: ${parsed.href} -> ${last}`);
        return;
      }
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      last = `${err instanceof Error ? err.message : String(err)}${cause}`;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  console.error(`probe: ${parsed.href} did not answer 2xx within ${timeoutMs} ms (last: ${last})`);
  process.exit(1);
}
