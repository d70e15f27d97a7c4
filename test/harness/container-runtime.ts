import { existsSync } from 'node:fs';

/** Whether a Docker endpoint is configured at all (no probe). */
export function dockerEndpointConfigured(): boolean {
  if (process.env.DOCKER_HOST || process.env.TESTCONTAINERS_HOST_OVERRIDE) return true;
  const uid = process.getuid?.() ?? 0;
  return [
    '/var/run/docker.sock',
    `/run/user/${uid}/docker.sock`,
    `${process.env.HOME}/.docker/run/docker.sock`,
  ].some((p) => existsSync(p));
}

/**
 * Whether a container engine answers. testcontainers hangs for a minute on a socket that accepts
 * but never answers, so the probe races a timeout. ETCD_MODE=local skips it.
 */
export async function containerRuntimeAvailable(timeoutMs = 5_000): Promise<boolean> {
  if (process.env.ETCD_MODE === 'local' || !dockerEndpointConfigured()) return false;
  const { getContainerRuntimeClient } = await import('testcontainers');
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('container runtime probe timed out')), timeoutMs);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
