import { EmailError } from '../errors/email.error.js';
import type { Backend } from '../storage/index.js';
import type { EmailBackend } from './email-backend.interface.js';
import { EmailMessages } from './email.messages.js';
import type { EmailOptions, FailoverEmailOptions, ProviderEmailOptions } from './email-options.interface.js';
import { EmailRoutingMessages } from './email-routing.messages.js';
import { FailoverEmailBackend } from './failover-email.backend.js';
import type { FailoverMember } from './failover-email.interface.js';

/** @internal What the module's email factory returns (kept structural to avoid an import cycle). */
interface Created {
  backend: EmailBackend;
  owned: boolean;
}

function configError(why: string): EmailError {
  return new EmailError('configuration', EmailMessages.invalidConfig('failover', why), { backend: 'failover' });
}

function isBackend(value: unknown): value is EmailBackend {
  const v = value as Partial<EmailBackend> | undefined;
  return typeof v?.sendEmail === 'function' && typeof v.sendBulk === 'function' && typeof v.close === 'function';
}

/** One member as given: a description to build, or an object used as is. */
type Planned = { build: ProviderEmailOptions; name?: string } | { use: EmailBackend; name?: string };

/** Checks every member before anything is created: a list, no nested failover, a `type` or a backend object. */
function plan(options: FailoverEmailOptions): Planned[] {
  const on: unknown = options.failoverOn;
  if (on !== undefined && on !== 'transient' && on !== 'any') {
    throw configError(EmailRoutingMessages.invalidFailoverOn(on));
  }
  const list: unknown = options.backends;
  if (!Array.isArray(list) || list.length === 0) throw configError(EmailRoutingMessages.emptyFailover());
  return list.map((raw: unknown, i): Planned => {
    const at = `backends[${i}]`;
    if (raw instanceof FailoverEmailBackend) throw configError(EmailRoutingMessages.nestedFailover(at));
    if (isBackend(raw)) return { use: raw };
    if (typeof raw !== 'object' || raw === null) throw configError(EmailRoutingMessages.notAMember(at));
    const entry = raw as { type?: unknown; name?: unknown; backend?: unknown };
    if (entry.name !== undefined && (typeof entry.name !== 'string' || entry.name.length === 0)) {
      throw configError(EmailRoutingMessages.invalidMemberName(at));
    }
    const name = entry.name as string | undefined;
    if (entry.type === undefined && isBackend(entry.backend)) {
      if (entry.backend instanceof FailoverEmailBackend) throw configError(EmailRoutingMessages.nestedFailover(at));
      return { use: entry.backend, ...(name !== undefined ? { name } : {}) };
    }
    if (entry.type === 'failover') throw configError(EmailRoutingMessages.nestedFailover(at));
    if (typeof entry.type !== 'string') throw configError(EmailRoutingMessages.notAMember(at));
    const { name: _n, ...build } = raw as ProviderEmailOptions & { name?: string };
    return { build: build as ProviderEmailOptions, ...(name !== undefined ? { name } : {}) };
  });
}

/**
 * @internal Builds the failover chain the module options describe: each description through `create`
 * (the module's factory, with its storage), owned and closed by the chain; objects are used as given.
 * If one member cannot be built, those built before it are closed.
 */
export function createFailoverBackend(
  options: FailoverEmailOptions,
  storage: Backend | undefined,
  create: (member: EmailOptions, storage?: Backend) => Created,
): Created {
  const planned = plan(options);
  const members: FailoverMember[] = [];
  try {
    for (const p of planned) {
      const name = p.name !== undefined ? { name: p.name } : {};
      if ('use' in p) members.push({ backend: p.use, ...name, owned: false });
      else {
        const made = create(p.build, storage);
        members.push({ backend: made.backend, ...name, owned: made.owned });
      }
    }
    const backend = new FailoverEmailBackend(members, {
      ...(options.failoverOn !== undefined ? { failoverOn: options.failoverOn } : {}),
      ...(storage !== undefined ? { idempotencyStore: storage } : {}),
    });
    return { backend, owned: true };
  } catch (err) {
    for (const m of members) if (m.owned) void m.backend.close().catch(() => undefined);
    throw err;
  }
}
