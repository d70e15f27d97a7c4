/**
 * Flow control (internals.md §4.3): the consumer grants the broker `receiverQueueSize` permits
 * when it subscribes and, as the application takes messages, grants more each time half the
 * queue has been consumed. Batch members count one permit each. Pure: the driver sends FLOW.
 */
export class FlowControl {
  readonly receiverQueueSize: number;
  private readonly threshold: number;
  private available = 0;

  constructor(receiverQueueSize: number) {
    this.receiverQueueSize = receiverQueueSize;
    this.threshold = Math.max(1, Math.floor(receiverQueueSize / 2));
  }

  /** Permits to grant on a new subscription (after a reconnect too: the local queue was cleared). */
  initial(): number {
    this.available = 0;
    return this.receiverQueueSize;
  }

  /**
   * `count` messages left the consumer (handed to the application, or discarded/filtered without
   * being shown). Returns the permits to grant now, 0 while below the threshold.
   */
  consumed(count = 1): number {
    this.available += count;
    if (this.available < this.threshold) return 0;
    const grant = this.available;
    this.available = 0;
    return grant;
  }
}
