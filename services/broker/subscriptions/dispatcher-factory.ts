/** The pure dispatcher for a subscription type (Exclusive/Failover: single active; Shared/Key_Shared: multi). */
import type { SubscribeRequest } from '../topics/topic.ts';
import { MultiConsumerDispatcher } from './multi-dispatcher.ts';
import type { SubscriptionSettings } from './persistent-subscription.ts';
import { SingleActiveDispatcher } from './single-active-dispatcher.ts';
import type { SubscriptionType } from './types.ts';

export function makeDispatcher(
  type: SubscriptionType,
  req: SubscribeRequest | undefined,
  s: SubscriptionSettings,
  partitionIndex: number,
): MultiConsumerDispatcher | SingleActiveDispatcher {
  if (type === 'Exclusive' || type === 'Failover') {
    return new SingleActiveDispatcher({
      exclusive: type === 'Exclusive',
      partitionIndex,
      maxReadBatch: s.maxReadBatch,
      failoverDelayMs: s.failoverDelayMs,
    });
  }
  const sticky = req?.keySharedMode === 'sticky';
  return new MultiConsumerDispatcher({
    keyShared:
      type === 'Key_Shared'
        ? { mode: sticky ? 'sticky' : 'auto-split', allowOutOfOrder: req?.allowOutOfOrder ?? false }
        : undefined,
    maxReadBatch: s.maxReadBatch,
    roundRobinBatch: s.roundRobinBatch,
    maxUnackedPerConsumer: s.maxUnackedPerConsumer,
    maxUnackedPerSubscription: s.maxUnackedPerSubscription,
    maxReplayEntries: s.maxReplayEntries,
    maxDelayedEntries: type === 'Shared' ? s.maxDelayedEntries : undefined,
  });
}
