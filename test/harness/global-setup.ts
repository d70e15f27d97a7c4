/**
 * One etcd for the whole test run. Test files isolate themselves with a unique key prefix
 * (see `uniquePrefix`). Tests that must stop or pause etcd start their own with startLocalEtcd.
 */
import type { TestProject } from 'vitest/node';
import { startEtcd } from './etcd.ts';
import { makeTestTmpRoot, TEST_TMP_ROOT_ENV } from './tmp.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    etcdEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Before any worker starts, so every fork inherits it.
  const tmpRoot = makeTestTmpRoot();
  process.env[TEST_TMP_ROOT_ENV] = tmpRoot.path;
  const etcd = await startEtcd();
  project.provide('etcdEndpoint', etcd.endpoint);
  return async () => {
    try {
      await etcd.stop();
    } finally {
      tmpRoot.remove();
    }
  };
}
