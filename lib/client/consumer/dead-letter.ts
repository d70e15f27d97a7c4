/**
 * Dead-letter and retry-letter topics are client features (internals.md §4.4), with the names
 * and properties the official clients use (RetryMessageUtil):
 *  - a message redelivered maxRedeliverCount times is, on its next negative ack or ack timeout,
 *    published to `<topic>-<subscription>-DLQ` and acknowledged instead of redelivered;
 *  - `reconsumeLater` publishes a copy to `<topic>-<subscription>-RETRY` with a delivery delay and
 *    the properties RECONSUMETIMES, DELAY_TIME, REAL_TOPIC and ORIGIN_MESSAGE_ID, or to the DLQ
 *    once RECONSUMETIMES exceeds maxRedeliverCount, and acknowledges the original.
 * Pure decisions; the consumer owns the producers.
 */
import type { Message, OutgoingMessage } from '../message.ts';

export const RetryProperty = {
  reconsumeTimes: 'RECONSUMETIMES',
  delayTime: 'DELAY_TIME',
  realTopic: 'REAL_TOPIC',
  retryTopic: 'RETRY_TOPIC',
  originMessageId: 'ORIGIN_MESSAGE_ID',
} as const;

export const DLQ_SUFFIX = '-DLQ';
export const RETRY_SUFFIX = '-RETRY';

export function deadLetterTopicOf(topic: string, subscription: string): string {
  return `${topic}-${subscription}${DLQ_SUFFIX}`;
}

export function retryLetterTopicOf(topic: string, subscription: string): string {
  return `${topic}-${subscription}${RETRY_SUFFIX}`;
}

/** True when a message that failed again must go to the dead-letter topic. */
export function exhausted(redeliveryCount: number, maxRedeliverCount: number): boolean {
  return redeliveryCount >= maxRedeliverCount;
}

/** The copy published to the dead-letter topic: same payload, key and properties, plus its origin. */
export function deadLetterMessage(msg: Message, originTopic: string): OutgoingMessage {
  const properties: Record<string, string> = { ...msg.properties };
  properties[RetryProperty.realTopic] ??= originTopic;
  properties[RetryProperty.originMessageId] ??= msg.messageId.toString();
  return copyOf(msg, properties);
}

export interface RetryDecision {
  readonly target: 'retry' | 'dead-letter';
  readonly message: OutgoingMessage;
}

/** Where `reconsumeLater` sends a message and with what properties. */
export function retryDecision(
  msg: Message,
  originTopic: string,
  delayMs: number,
  maxRedeliverCount: number,
  extraProperties: Readonly<Record<string, string>> = {},
): RetryDecision {
  const properties: Record<string, string> = { ...msg.properties, ...extraProperties };
  const previous = Number.parseInt(properties[RetryProperty.reconsumeTimes] ?? '0', 10);
  const times = (Number.isFinite(previous) ? previous : 0) + 1;
  properties[RetryProperty.reconsumeTimes] = String(times);
  properties[RetryProperty.delayTime] = String(delayMs);
  properties[RetryProperty.realTopic] ??= originTopic;
  properties[RetryProperty.originMessageId] ??= msg.messageId.toString();
  if (times > maxRedeliverCount) return { target: 'dead-letter', message: copyOf(msg, properties) };
  return { target: 'retry', message: { ...copyOf(msg, properties), deliverAfterMs: delayMs } };
}

function copyOf(msg: Message, properties: Record<string, string>): OutgoingMessage {
  const out: OutgoingMessage = { payload: msg.payload, properties };
  if (msg.key !== undefined) out.key = msg.key;
  if (msg.orderingKey !== undefined) out.orderingKey = msg.orderingKey;
  if (msg.eventTime > 0) out.eventTime = msg.eventTime;
  return out;
}
