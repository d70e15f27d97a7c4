import { describe, expect, it } from 'vitest';
import { classifyFailure, EtcdCaller } from './etcd-call.ts';
import { MetadataErrors } from './errors.ts';
import { resolveLimits } from './limits.ts';

class GRPCUnavailableError extends Error {}
class GRPCDeadlineExceededError extends Error {}
class EtcdLeaseInvalidError extends Error {}

const limits = resolveLimits({ retryMaxAttempts: 3, retryBackoffInitialMs: 1, retryBackoffMaxMs: 2 });

describe('etcd call retry policy', () => {
  it('classifies transport failures by what they prove', () => {
    const noConn = new GRPCUnavailableError(
      '14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED',
    );
    expect(classifyFailure(noConn)).toBe('not-sent');
    expect(
      classifyFailure(new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: after 0.5s,Waiting for LB pick')),
    ).toBe('not-sent');
    expect(
      classifyFailure(new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: after 0.5s,remote_addr=x')),
    ).toBe('ambiguous');
    expect(classifyFailure(new GRPCUnavailableError('14 UNAVAILABLE: Connection dropped'))).toBe('ambiguous');
    expect(classifyFailure(new Error('etcdserver: leader changed'))).toBe('ambiguous');
    expect(classifyFailure(new EtcdLeaseInvalidError('lease'))).toBe('lease-gone');
    expect(classifyFailure(new Error('etcdserver: requested lease not found'))).toBe('lease-gone');
    expect(classifyFailure(new Error('etcdserver: request is too large'))).toBe('permanent');
  });

  it('retries reads, never retries an ambiguous write, and bounds the attempts', async () => {
    const caller = new EtcdCaller(limits, () => false);
    let calls = 0;
    const ambiguous = () => {
      calls++;
      throw new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: remote_addr=x');
    };
    const read = await caller.run('get', 'read', async () => ambiguous()).catch((e) => e);
    expect(MetadataErrors.is(read, 'UNAVAILABLE')).toBe(true);
    expect(calls).toBe(3);
    calls = 0;
    const write = await caller.run('put', 'write', async () => ambiguous()).catch((e) => e);
    expect(MetadataErrors.is(write, 'TIMEOUT')).toBe(true);
    expect(calls).toBe(1);
    calls = 0;
    const notSent = await caller
      .run('put', 'write', async () => {
        calls++;
        if (calls < 3) throw new GRPCUnavailableError('No connection established');
        return 'ok';
      })
      .catch((e) => e);
    expect(notSent).toBe('ok');
    const closed = await new EtcdCaller(limits, () => true).run('get', 'read', async () => 1).catch((e) => e);
    expect(MetadataErrors.is(closed, 'STORE_CLOSED')).toBe(true);
  });
});
