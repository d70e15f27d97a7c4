/**
 * murmur3_32 (x86, 32-bit) as Pulsar uses it for Key_Shared sticky-key hashing: the hash of the
 * ordering key (else the partition key) with seed 0, masked to 31 bits; the slot in the hash
 * range [0, 65536) is hash % 65536.
 */

export const KEY_SHARED_HASH_RANGE = 65536;

export function murmur3_32(data: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const len = data.byteLength;
  const blocks = len >> 2;
  for (let i = 0; i < blocks; i++) {
    const o = i << 2;
    let k = data[o] | (data[o + 1] << 8) | (data[o + 2] << 16) | (data[o + 3] << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks << 2;
  const rem = len & 3;
  if (rem > 0) {
    let k = 0;
    if (rem === 3) k ^= data[tail + 2] << 16;
    if (rem >= 2) k ^= data[tail + 1] << 8;
    k ^= data[tail];
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Pulsar's sticky-key hash: murmur3_32 masked to a non-negative 31-bit int. */
export function stickyKeyHash(key: Uint8Array): number {
  return murmur3_32(key) & 0x7fffffff;
}

/** Slot in [0, 65536) for a key. */
export function keySharedSlot(key: Uint8Array): number {
  return stickyKeyHash(key) % KEY_SHARED_HASH_RANGE;
}
