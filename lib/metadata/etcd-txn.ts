/**
 * Translation of a MetadataStore txn into one etcd Txn: every condition becomes a compare (on
 * modRevision, or createRevision == 0 for "absent"); the success branch holds the writes; the
 * failure branch reads every conditioned key, so a failed txn tells which condition broke and
 * what the key's version actually was — read atomically with the failed compare.
 */
import {
  CompareResult,
  CompareTarget,
  type ICompare,
  type IKeyValue,
  type IRequestOp,
  type ITxnRequest,
  type ITxnResponse,
} from 'etcd3';
import { assert } from '../assert.ts';
import type { Entry, Session, TxnOp } from './store.ts';
import { casFailure, conditionHolds } from './validate.ts';

/** The lease id a put must carry for `session` (throws if the session is unusable). */
export type LeaseOf = (session: Session | undefined) => string | undefined;

export function buildTxn(ops: readonly TxnOp[], raw: (key: string) => Buffer, leaseOf: LeaseOf): ITxnRequest {
  const compare: ICompare[] = [];
  const success: IRequestOp[] = [];
  const failure: IRequestOp[] = [];
  for (const op of ops) {
    const key = raw(op.key);
    if (op.expectedVersion !== undefined) {
      compare.push(
        op.expectedVersion === 'absent'
          ? { key, target: CompareTarget.Create, result: CompareResult.Equal, create_revision: 0 }
          : { key, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: op.expectedVersion },
      );
      failure.push({ request_range: { key, keys_only: true } });
    }
    if (op.op === 'put') {
      const lease = leaseOf(op.session);
      success.push({ request_put: { key, value: Buffer.from(op.value), ...(lease ? { lease } : {}) } });
    } else if (op.op === 'delete') {
      success.push({ request_delete_range: { key } });
    }
  }
  return { compare, success, failure };
}

/** The error for a txn whose compares failed: the first op whose condition does not hold. */
export function txnFailure(
  ops: readonly TxnOp[],
  res: ITxnResponse,
  toEntry: (kv: IKeyValue) => Entry,
): Error {
  let i = 0;
  for (const op of ops) {
    if (op.expectedVersion === undefined) continue;
    const range = res.responses[i++]?.response_range;
    assert(range, 'etcd txn failure branch lacks a range response', { key: op.key, index: i - 1 });
    const actual = range.kvs.length ? toEntry(range.kvs[0]).version : undefined;
    if (!conditionHolds(op.expectedVersion, actual)) return casFailure(op.key, op.expectedVersion, actual);
  }
  assert(false, 'etcd txn failed but every condition holds', { keys: ops.map((o) => o.key) });
}
