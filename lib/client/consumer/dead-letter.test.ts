import { describe, expect, it } from 'vitest';
import { Message } from '../message.ts';
import { MessageId } from '../message-id.ts';
import {
  deadLetterMessage,
  deadLetterTopicOf,
  exhausted,
  RetryProperty,
  retryDecision,
  retryLetterTopicOf,
} from './dead-letter.ts';

function message(properties: Record<string, string> = {}, redeliveryCount = 0): Message {
  return new Message({
    topic: 'persistent://public/default/orders',
    messageId: new MessageId(7, 3, -1),
    payload: Buffer.from('body'),
    key: 'k1',
    properties,
    publishTime: 1,
    eventTime: 55,
    redeliveryCount,
    producerName: 'p',
    sequenceId: 0,
  });
}

describe('dead-letter policy', () => {
  it('names the topics like the official clients', () => {
    expect(deadLetterTopicOf('persistent://public/default/orders', 'billing')).toBe(
      'persistent://public/default/orders-billing-DLQ',
    );
    expect(retryLetterTopicOf('persistent://public/default/orders', 'billing')).toBe(
      'persistent://public/default/orders-billing-RETRY',
    );
  });

  it('dead-letters once the redelivery count reaches maxRedeliverCount', () => {
    expect(exhausted(2, 3)).toBe(false);
    expect(exhausted(3, 3)).toBe(true);
  });

  it('keeps payload, key, event time and properties, adding the origin', () => {
    const out = deadLetterMessage(message({ a: 'b' }), 'persistent://public/default/orders');
    expect(out.payload.toString()).toBe('body');
    expect(out.key).toBe('k1');
    expect(out.eventTime).toBe(55);
    expect(out.properties).toEqual({
      a: 'b',
      [RetryProperty.realTopic]: 'persistent://public/default/orders',
      [RetryProperty.originMessageId]: '7:3:-1',
    });
  });

  it('retries with a delay, counting RECONSUMETIMES, then goes to the DLQ past the maximum', () => {
    const first = retryDecision(message(), 'persistent://public/default/orders', 500, 2);
    expect(first.target).toBe('retry');
    expect(first.message.deliverAfterMs).toBe(500);
    expect(first.message.properties).toMatchObject({
      RECONSUMETIMES: '1',
      DELAY_TIME: '500',
      ORIGIN_MESSAGE_ID: '7:3:-1',
    });
    const second = retryDecision(
      message({ ...first.message.properties, ORIGIN_MESSAGE_ID: '1:1:-1' }),
      'x',
      500,
      2,
    );
    expect(second.target).toBe('retry');
    expect(second.message.properties).toMatchObject({
      RECONSUMETIMES: '2',
      ORIGIN_MESSAGE_ID: '1:1:-1',
      REAL_TOPIC: 'persistent://public/default/orders',
    });
    const third = retryDecision(message(second.message.properties), 'x', 500, 2, { reason: 'db down' });
    expect(third.target).toBe('dead-letter');
    expect(third.message.deliverAfterMs).toBeUndefined();
    expect(third.message.properties).toMatchObject({ RECONSUMETIMES: '3', reason: 'db down' });
  });
});
