import type { BackendsModuleOptions, EmailOptions, StorageOptions } from 'nestjs-backends';
import { SampleConfigError } from './sample-config.error.js';

type Env = Record<string, string | undefined>;

function url(env: Env, name: string, protocols: string[]): URL {
  let parsed: URL;
  try {
    parsed = new URL(env[name]!);
  } catch {
    throw new SampleConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new SampleConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return parsed;
}

function port(env: Env, name: string, value: string, fallback: number): number {
  const n = value === '' ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new SampleConfigError(name, 'has an invalid port');
  return n;
}

/** REDIS_CLUSTER_NODES (`host:port,host:port`) or REDIS_URL; memory otherwise. */
export function storageFromEnv(env: Env): StorageOptions {
  if (env.REDIS_CLUSTER_NODES) {
    const cluster = env.REDIS_CLUSTER_NODES.split(',').map((node) => {
      const [host, p = ''] = node.trim().split(':');
      if (!host) throw new SampleConfigError('REDIS_CLUSTER_NODES', 'must be a list of host:port');
      return { host, port: port(env, 'REDIS_CLUSTER_NODES', p, 6379) };
    });
    return { type: 'redis', cluster, keyPrefix: 'sample:' };
  }
  if (env.REDIS_URL) {
    url(env, 'REDIS_URL', ['redis:', 'rediss:']);
    return { type: 'redis', url: env.REDIS_URL, keyPrefix: 'sample:' };
  }
  return { type: 'memory' };
}

/**
 * SMTP_URL (`smtp://`, `smtp+starttls://` or `smtps://`, credentials in the URL), SENDGRID_API_KEY,
 * SES_REGION, or MAILGUN_API_KEY + MAILGUN_DOMAIN; the memory outbox otherwise.
 */
export function emailFromEnv(env: Env): EmailOptions {
  if (env.SMTP_URL) {
    const u = url(env, 'SMTP_URL', ['smtp:', 'smtp+starttls:', 'smtps:']);
    const encryption = u.protocol === 'smtps:' ? 'tls' : u.protocol === 'smtp+starttls:' ? 'starttls' : 'none';
    const auth = u.username
      ? { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) }
      : undefined;
    const host = u.hostname.replace(/^\[|\]$/g, '');
    return {
      type: 'smtp',
      host,
      port: port(env, 'SMTP_URL', u.port, encryption === 'tls' ? 465 : 587),
      encryption,
      auth,
    };
  }
  if (env.SENDGRID_API_KEY) {
    return { type: 'sendgrid', apiKey: env.SENDGRID_API_KEY, baseUrl: env.SENDGRID_BASE_URL };
  }
  if (env.SES_REGION) {
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(env.SES_REGION))
      throw new SampleConfigError('SES_REGION', 'is not an AWS region');
    return { type: 'ses', region: env.SES_REGION, ...(env.SES_ENDPOINT ? { endpoint: env.SES_ENDPOINT } : {}) };
  }
  if (env.MAILGUN_API_KEY || env.MAILGUN_DOMAIN) {
    if (!env.MAILGUN_API_KEY) throw new SampleConfigError('MAILGUN_API_KEY', 'is required with MAILGUN_DOMAIN');
    if (!env.MAILGUN_DOMAIN) throw new SampleConfigError('MAILGUN_DOMAIN', 'is required with MAILGUN_API_KEY');
    return { type: 'mailgun', apiKey: env.MAILGUN_API_KEY, domain: env.MAILGUN_DOMAIN, url: env.MAILGUN_URL };
  }
  return { type: 'memory' };
}

/** The module options of the sample, from environment variables only. */
export function sampleOptions(env: Env): BackendsModuleOptions {
  return {
    storage: storageFromEnv(env),
    email: emailFromEnv(env),
    throttle: { onBackendError: 'allow' },
    cache: { ttlMs: 5_000 },
    session: { ttlMs: 24 * 60 * 60 * 1000, userId: (session) => session.userId },
  };
}

/** The variable that configured storage, for startup error messages. */
export function storageVariable(env: Env): string {
  return env.REDIS_CLUSTER_NODES ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL';
}

/** The variable that configured email, for startup error messages. */
export function emailVariable(env: Env): string {
  if (env.SMTP_URL) return 'SMTP_URL';
  if (env.SENDGRID_API_KEY) return 'SENDGRID_API_KEY';
  if (env.SES_REGION) return 'SES_REGION';
  return 'MAILGUN_API_KEY';
}
