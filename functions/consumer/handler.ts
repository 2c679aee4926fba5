/**
 * The consumer with the shipped example handlers (`handlers/index.ts`): what runs when the
 * construct is given no `handlers.entry`. With one, the construct bundles the same two lines
 * around your module instead.
 */
import { createConsumerHandler } from './create-handler';
import * as handlerModule from './handlers';

export const handler = createConsumerHandler(handlerModule);
