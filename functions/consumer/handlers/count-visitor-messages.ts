/**
 * Example handler: inbound message volume as a CloudWatch metric.
 *
 * Each visitor message (`message:send` from the user) adds 1 to `VisitorMessages`, in total and
 * per origin (chat, email, ...), so you can graph support demand or alarm when it spikes or stops.
 * It counts through `context.count`: the metric rides on the event's `crisp event processed` line
 * (which already names the website, the event and its message id), so it costs no log line of its
 * own and is counted once per event. Not per website: on a plugin installed on thousands of
 * websites that would be thousands of custom metrics, each billed monthly; Logs Insights breaks
 * the count down by `website_id` for free (docs/operations.md). Copy it to start your own.
 */
import type { EventHandler } from '../registry';

/**
 * The origin as a dimension value: Crisp's `chat`, `email`, ... as they are; a plugin's
 * `urn:...` origin as `urn`; anything else (absent, or not a short token) as `unknown`. A hook's
 * content must not choose how many metrics there are: a Website Hook can be sent by anyone who
 * has its URL.
 */
export function originDimension(origin: unknown): string {
  if (typeof origin !== 'string') return 'unknown';
  if (origin.startsWith('urn:')) return 'urn';
  return /^[a-z]{1,16}$/.test(origin) ? origin : 'unknown';
}

export const countVisitorMessages: EventHandler<'message:send'> = (event, { count }) => {
  if (event.data.from !== 'user') return;
  count('VisitorMessages', { origin: originDimension(event.data.origin) });
};
