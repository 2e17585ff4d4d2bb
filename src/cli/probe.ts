/**
 * `version-observer probe <url> [--timeout-ms=N]`: GET the URL until it answers 2xx or the
 * timeout passes; exit 0 on 2xx, 1 otherwise, with one line saying what was seen. The chart's
 * `helm test` pod runs it against the controller's /readyz, so the test needs no image but ours.
 * Retries every 500 ms (a Service may not route to a pod that just became Ready yet). Its one
 * flag is read like every command's (src/platform/config.ts); it has no env variable.
 */
import { asksForHelp, invalidConfig, readSettings, usageText, type SettingTable } from '../platform/config.ts';

const SETTINGS = {
  timeout: { kind: 'duration', bareMs: true, flag: 'timeout-ms', help: 'give up after this (500ms, 10s, or whole ms)', default: 10_000 },
} as const satisfies SettingTable;

export async function run(argv: string[]): Promise<void> {
  if (asksForHelp(argv)) {
    console.log(`${usageText('probe', SETTINGS, '<url> [flags]')}\n\nExits 0 once GET <url> answers 2xx, 1 when the timeout passes first.`);
    return;
  }
  const { values, positionals } = readSettings(SETTINGS, argv, {}, { positionals: 1 });
  const timeoutMs = values.timeout;
  const url = positionals[0];
  if (!url) throw invalidConfig('a URL is required: version-observer probe <url>');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidConfig(`not a URL: '${url}'`);
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
