/**
 * Cookies (internals.md §2.5): a bookie's identity, written on first start into each of its dirs
 * and into the metadata store. At every start they must agree; a mismatch means a wiped, swapped
 * or foreign disk, and the bookie refuses to start (BOOKIE_COOKIE_MISMATCH) rather than serve
 * as an empty bookie under an old identity, which could make readers conclude "no such entry"
 * for entries it once acknowledged.
 *
 * With `dataLossRecovery` an operator lets a bookie whose dirs were lost or replaced rejoin: the
 * LIMBO marker is written first (crash-safe), then new cookies; every ledger allocated before the
 * loss (id below the allocator counter read now, storage/limbo.ts) is then in limbo.
 */
import { randomUUID } from 'node:crypto';
import { open, readdir, readFile, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { type Cookie, CookieSchema } from '../../../lib/gen/magnetar/meta/v1/meta_pb.ts';
import type { Logger } from '../../../lib/log/index.ts';
import * as keys from '../../../lib/metadata/keys.ts';
import type { MetadataStore } from '../../../lib/metadata/store.ts';
import { BookieErrors } from '../errors.ts';
import { fsyncDir } from '../journal/files.ts';
import { writeLimbo } from '../storage/limbo.ts';
import { readLedgerIdWatermark } from './ledger-id-watermark.ts';

const NAME = 'COOKIE';
/** Files that may exist in a dir that holds no data. */
const HARMLESS = new Set([NAME, 'LOCK', `${NAME}.tmp`]);

export interface CookieCheck {
  readonly bookieId: string;
  readonly clusterName: string;
  readonly journalDir: string;
  readonly ledgerDir: string;
  readonly store?: MetadataStore;
  readonly dataLossRecovery: boolean;
  readonly log: Logger;
}

export interface CookieOutcome {
  readonly cookie: Cookie;
  readonly instanceId: string;
  /** The bookie was formatted after losing its data (it starts in limbo). */
  readonly lostData: boolean;
}

const mismatch = (why: string) => BookieErrors.make('BOOKIE_COOKIE_MISMATCH', { why });

async function readDirCookie(dir: string): Promise<Cookie | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, NAME));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return fromBinary(CookieSchema, bytes);
  } catch {
    throw mismatch(`the cookie file in ${dir} is unreadable`);
  }
}

async function writeDirCookie(dir: string, cookie: Cookie): Promise<void> {
  const tmp = join(dir, `${NAME}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(toBinary(CookieSchema, cookie));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, NAME));
  await fsyncDir(dir);
}

async function holdsData(dir: string): Promise<boolean> {
  return (await readdir(dir)).some((n) => !HARMLESS.has(n) && !n.startsWith('recycle-'));
}

function same(a: Cookie, b: Cookie): boolean {
  return (
    a.bookieId === b.bookieId &&
    a.instanceId === b.instanceId &&
    a.journalDir === b.journalDir &&
    a.bookieInstanceUuid === b.bookieInstanceUuid &&
    a.ledgerDirs.join('\n') === b.ledgerDirs.join('\n')
  );
}

function describe(c: Cookie): string {
  return `bookie ${c.bookieId} uuid ${c.bookieInstanceUuid} instance ${c.instanceId || '-'} dirs ${c.journalDir},${c.ledgerDirs.join(',')}`;
}

/** The cluster instance id (created by the first bookie). */
async function clusterInstanceId(store: MetadataStore, cluster: string): Promise<string> {
  const key = keys.instanceId(cluster);
  for (let attempt = 0; attempt < 3; attempt++) {
    const got = await store.get(key);
    if (got) return Buffer.from(got.value).toString('utf8');
    try {
      const id = randomUUID();
      await store.put(key, Buffer.from(id), { expectedVersion: 'absent' });
      return id;
    } catch {
      /* another bookie created it first: read it */
    }
  }
  throw BookieErrors.make('BOOKIE_REGISTRATION_FAILED', {
    bookieId: cluster,
    why: 'cannot read or create the instance id',
  });
}

export async function checkCookies(c: CookieCheck): Promise<CookieOutcome> {
  const journalDir = resolve(c.journalDir);
  const ledgerDir = resolve(c.ledgerDir);
  const instanceId = c.store ? await clusterInstanceId(c.store, c.clusterName) : '';
  const metaKey = keys.cookie(c.clusterName, c.bookieId);
  const metaEntry = c.store ? await c.store.get(metaKey) : undefined;
  let meta: Cookie | undefined;
  if (metaEntry) {
    try {
      meta = fromBinary(CookieSchema, metaEntry.value);
    } catch {
      throw mismatch(`the metadata cookie of ${c.bookieId} is unreadable`);
    }
  }
  const jc = await readDirCookie(journalDir);
  const lc = await readDirCookie(ledgerDir);
  const expected = (uuid: string) =>
    create(CookieSchema, {
      bookieId: c.bookieId,
      instanceId,
      journalDir,
      ledgerDirs: [ledgerDir],
      bookieInstanceUuid: uuid,
    });

  if (jc && lc) {
    if (!same(jc, lc)) throw mismatch(`journal dir has ${describe(jc)} but ledger dir has ${describe(lc)}`);
    const want = expected(jc.bookieInstanceUuid);
    if (!same(jc, want)) throw mismatch(`dirs hold ${describe(jc)}, this bookie is ${describe(want)}`);
    if (meta && !same(meta, jc))
      throw mismatch(`metadata holds ${describe(meta)}, dirs hold ${describe(jc)}`);
    if (c.store && !meta) {
      c.log.warn({ bookieId: c.bookieId }, 'metadata store had no cookie for this bookie: writing it again');
      await c.store.put(metaKey, toBinary(CookieSchema, jc), { expectedVersion: 'absent' });
    }
    return { cookie: jc, instanceId, lostData: false };
  }

  const journalData = await holdsData(journalDir);
  const ledgerData = await holdsData(ledgerDir);
  const fresh = !jc && !lc && !meta && !journalData && !ledgerData;
  if (fresh) {
    const cookie = expected(randomUUID());
    await writeDirCookie(journalDir, cookie);
    await writeDirCookie(ledgerDir, cookie);
    if (c.store) {
      try {
        await c.store.put(metaKey, toBinary(CookieSchema, cookie), { expectedVersion: 'absent' });
      } catch (err) {
        throw mismatch(
          `another bookie registered the id ${c.bookieId} meanwhile (${(err as Error).message})`,
        );
      }
    }
    c.log.info({ cookie: describe(cookie) }, 'new bookie: cookies written');
    return { cookie, instanceId, lostData: false };
  }

  const why =
    !jc && !lc
      ? meta
        ? `the metadata has a cookie (${describe(meta)}) but the dirs have none: wiped or replaced disks`
        : 'the dirs hold data but no cookie'
      : `only the ${jc ? 'journal' : 'ledger'} dir has a cookie: the ${jc ? 'ledger' : 'journal'} dir was wiped or replaced`;
  const foreign = [jc, lc, meta].find(
    (k) => k && (k.bookieId !== c.bookieId || (instanceId && k.instanceId !== instanceId)),
  );
  if (foreign)
    throw mismatch(`${why}; and a cookie belongs to another bookie or cluster (${describe(foreign)})`);
  if (!c.dataLossRecovery)
    throw mismatch(`${why}; start with --data-loss-recovery to rejoin with every ledger in limbo`);

  // Read after the loss, before serving: ledgers allocated from now on are outside the limbo.
  const watermark = await readLedgerIdWatermark(c.store, c.clusterName);
  await writeLimbo(ledgerDir, `started after data loss: ${why}`, watermark);
  const cookie = expected(randomUUID());
  await writeDirCookie(journalDir, cookie);
  await writeDirCookie(ledgerDir, cookie);
  if (c.store) {
    await c.store.put(metaKey, toBinary(CookieSchema, cookie), {
      expectedVersion: metaEntry ? metaEntry.version : 'absent',
    });
  }
  c.log.warn(
    { why, cookie: describe(cookie), ledgerIdWatermark: watermark ?? null },
    'bookie formatted after data loss: every ledger created before now is in limbo',
  );
  return { cookie, instanceId, lostData: true };
}
