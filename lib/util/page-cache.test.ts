import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../../test/harness/tmp.ts';
import { dropPageCache, pageCacheDropAvailable } from './page-cache.ts';

afterAll(removeTempDirs);

describe('dropPageCache', () => {
  it.runIf(process.platform === 'linux')('loads on Linux', () => {
    expect(pageCacheDropAvailable()).toBe(true);
  });

  it('drops a synced range and the file still reads back whole', async () => {
    const path = join(tempDir('page-cache-'), 'f');
    const fh = await open(path, 'w+');
    const data = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i, i);
    await fh.write(data, 0, data.length, 0);
    await fh.datasync();
    expect(await dropPageCache(fh.fd, 0, data.length)).toBe(pageCacheDropAvailable());
    await fh.close();
    expect((await readFile(path)).equals(data)).toBe(true);
  });

  it('answers false, never throws, for a bad descriptor or an empty range', async () => {
    expect(await dropPageCache(-1, 0, 4096)).toBe(false);
    expect(await dropPageCache(0, 0, 0)).toBe(false);
  });
});
