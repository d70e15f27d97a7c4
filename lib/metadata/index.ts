/**
 * Entry point of the metadata layer: open a store from a URL, plus re-exports.
 *
 *   etcd://host:port[,host:port...]/<root-prefix>   a real etcd (clusters, every multi-node test)
 *   file:///abs/dir                                 the embedded file-backed store (standalone)
 */
import type { Logger } from '../log/index.ts';
import { openEtcdStore } from './etcd-store.ts';
import { MetadataErrors } from './errors.ts';
import type { MetadataLimits } from './limits.ts';
import type { MetadataStore } from './store.ts';

export { Election, type ElectionOptions, type LeaderInfo } from './election.ts';
export { MetadataErrors, type MetadataErrorCode } from './errors.ts';
export { IdAllocator, type IdAllocatorOptions, MAX_ID } from './id-allocator.ts';
export * as keys from './keys.ts';
export { DEFAULT_LIMITS, type MetadataLimits, metadataConfigSpec, resolveLimits } from './limits.ts';
export type * from './store.ts';

export interface OpenOptions {
  readonly limits?: Partial<MetadataLimits>;
  readonly logger?: Logger;
}

export interface ParsedStoreUrl {
  readonly kind: 'etcd' | 'file';
  /** etcd: host:port of each member. */
  readonly hosts: readonly string[];
  /** etcd: root prefix ('' or '/a/b'); file: the directory. */
  readonly path: string;
}

export function parseStoreUrl(url: string): ParsedStoreUrl {
  const bad = (why: string): never => {
    throw MetadataErrors.make('INVALID_ARGUMENT', { what: `metadata store URL ${JSON.stringify(url)}`, why });
  };
  if (typeof url !== 'string') bad('not a string');
  const etcd = /^etcd:\/\/([^/]+)(\/.*)?$/.exec(url);
  if (etcd) {
    const hosts = etcd[1].split(',');
    for (const h of hosts) {
      if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(h) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(h))
        bad(`bad host:port "${h}"`);
    }
    const path = (etcd[2] ?? '').replace(/\/+$/, '');
    if (path !== '' && !/^(\/[^/\0]+)+$/.test(path)) bad('root prefix must look like /name[/name...]');
    return { kind: 'etcd', hosts, path };
  }
  if (url.startsWith('file://')) {
    const path = decodeURIComponent(url.slice('file://'.length));
    if (!path.startsWith('/')) bad('file URLs need an absolute path: file:///abs/dir');
    return { kind: 'file', hosts: [], path: path.length > 1 ? path.replace(/\/+$/, '') : path };
  }
  return bad('expected etcd://host:port[,host:port]/prefix or file:///abs/dir');
}

/** Open a store; fails with UNAVAILABLE (etcd unreachable) or STORE_LOCKED (dir in use). */
export async function openMetadataStore(url: string, opts: OpenOptions = {}): Promise<MetadataStore> {
  const parsed = parseStoreUrl(url);
  if (parsed.kind === 'etcd') {
    return openEtcdStore({
      hosts: parsed.hosts,
      rootPrefix: parsed.path,
      limits: opts.limits,
      logger: opts.logger,
    });
  }
  const { openEmbeddedStore } = await import('./embedded-store.ts');
  return openEmbeddedStore({ dir: parsed.path, limits: opts.limits, logger: opts.logger });
}
