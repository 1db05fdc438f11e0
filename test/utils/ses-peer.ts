import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One email as aws-ses-v2-local stored it. */
export interface SesStoredEmail {
  messageId: string;
  from: string;
  replyTo: string[];
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { html?: string; text?: string };
  attachments: { content: string; contentType: string; filename?: string; size: number }[];
  headers?: { name: string; value: string }[];
}

/** aws-ses-v2-local running in this process, bound to 127.0.0.1 only. */
export class SesPeer {
  private constructor(private readonly server: Server) {}

  static async start(): Promise<SesPeer> {
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    const mod = (await import('aws-ses-v2-local')) as unknown as {
      default:
        | ((c: { host: string; port: number }) => Promise<Server>)
        | { default: (c: { host: string; port: number }) => Promise<Server> };
    };
    const start = typeof mod.default === 'function' ? mod.default : mod.default.default;
    return new SesPeer(await start({ host: '127.0.0.1', port: 0 }));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The emails the emulator stored, oldest first. */
  async emails(): Promise<SesStoredEmail[]> {
    const res = await fetch(`${this.url}/store`);
    return ((await res.json()) as { emails: SesStoredEmail[] }).emails;
  }

  async clear(): Promise<void> {
    await fetch(`${this.url}/clear-store`, { method: 'POST' });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
