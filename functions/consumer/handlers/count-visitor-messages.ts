/**
 * Example handler: inbound message volume as a CloudWatch metric.
 *
 * Each visitor message (`message:send` from the user) adds 1 to `VisitorMessages`, per website
 * and origin (chat, email, ...), so you can graph support demand or alarm when it spikes or
 * stops. It logs the session and message type, never the content. Copy it to start your own.
 */
import type { EventHandler } from '../registry';

export const countVisitorMessages: EventHandler<'message:send'> = (event, { logger }) => {
  const { data } = event;
  if (data.from !== 'user') return;
  logger.info(
    'visitor message',
    { session_id: data.session_id, type: data.type, origin: data.origin },
    { VisitorMessages: 1 },
    { website_id: event.website_id, origin: String(data.origin ?? 'unknown') },
  );
};
