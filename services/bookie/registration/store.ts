/** The metadata store a bookie keeps its cookie and registration in (none: dirs only). */
import type { Logger } from '../../../lib/log/index.ts';
import { openMetadataStore } from '../../../lib/metadata/index.ts';
import type { MetadataStore } from '../../../lib/metadata/store.ts';
import type { BookieConfig } from '../config.ts';
import { BookieErrors } from '../errors.ts';

export async function openStore(
  cfg: Pick<BookieConfig, 'registration' | 'metadataUrl'>,
  injected: MetadataStore | undefined,
  log: Logger,
): Promise<MetadataStore | undefined> {
  if (injected) return injected;
  if (!cfg.registration) return undefined;
  if (cfg.metadataUrl === '') {
    throw BookieErrors.make('BOOKIE_CONFIG_INVALID', {
      why: 'registration needs --metadata-url (or --registration false for a bookie without metadata)',
    });
  }
  return openMetadataStore(cfg.metadataUrl, { logger: log });
}
