/**
 * The example handler module: what the consumer runs when the construct is given no
 * `handlers.entry`. Copy it to start your own (see "Use it in your own CDK app" in the README):
 * one handler per Crisp event namespace, each run once per event; throw to have the event
 * retried, throw `PermanentError` to dead-letter it, return to mark it done. Events with no
 * handler are acknowledged and logged.
 */
import { defineHandlers } from '../registry';
import { countVisitorMessages } from './count-visitor-messages';

export default defineHandlers({
  'message:send': countVisitorMessages,
});
