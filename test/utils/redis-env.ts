import type { ClusterNode } from 'ioredis';
import { randomUUID } from 'node:crypto';

/** The Redis URL of this test run (set by global-setup or by the caller). */
export function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: run the tests with `npm test` (its global setup starts Redis)');
  return url;
}

/** The Cluster seed nodes of this test run. */
export function clusterNodes(): ClusterNode[] {
  const spec = process.env.REDIS_CLUSTER_NODES;
  if (!spec) throw new Error('REDIS_CLUSTER_NODES is not set: run the tests with `npm test`');
  return spec.split(',').map((hp) => {
    const [host, port] = hp.split(':');
    return { host, port: Number(port) };
  });
}

/** A key prefix no other suite uses, so suites sharing one Redis never touch each other's keys. */
export function uniquePrefix(label: string): string {
  return `test:${label}:${randomUUID().slice(0, 8)}:`;
}
