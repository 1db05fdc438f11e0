import { type ExecutionContext, Injectable } from '@nestjs/common';
import type { HttpPair } from '../utils/http.util.js';
import { importPackage } from '../utils/load-package.util.js';
import { trackerOfAddress } from './client-ip.util.js';
import { ThrottlerException } from './throttler.exception.js';
import { ThrottlerGuard } from './throttler.guard.js';
import type { ThrottleResult } from './throttler.service.js';

/** What this guard needs of `@nestjs/websockets` (loaded when the module starts, not imported). */
interface WebSocketsPackage {
  WsException: new (error: string | object) => Error;
}

/**
 * The peer address of a gateway client, whatever the platform: a `ws` WebSocket (`_socket`), a
 * Socket.IO socket (`handshake.address`), or anything with a `request`/`conn` carrying one.
 */
export function wsClientAddress(client: Record<string, any> | null | undefined): unknown {
  if (client === null || client === undefined) return undefined;
  return (
    client.handshake?.address ??
    client._socket?.remoteAddress ??
    client.conn?.remoteAddress ??
    client.request?.socket?.remoteAddress
  );
}

/**
 * {@link ThrottlerGuard} for WebSocket gateways (`@nestjs/platform-ws` or Socket.IO): every message
 * is counted, by `throttle.tracker(client, context)` when configured, else by the socket's peer
 * address; past the limit it throws a `WsException` with `throttle.errorMessage` (default `'Too Many Requests'`). HTTP contexts pass.
 * @example @UseGuards(WsThrottlerGuard) @Throttle('10/minute') @SubscribeMessage('chat') chat() {}
 */
@Injectable()
export class WsThrottlerGuard extends ThrottlerGuard {
  private wsException: WebSocketsPackage['WsException'] | undefined;

  /** Loads `@nestjs/websockets` (the app's own copy), whose `WsException` the guard throws. */
  override async onModuleInit(): Promise<void> {
    super.onModuleInit();
    const ws = await importPackage<WebSocketsPackage>('@nestjs/websockets', 'WsThrottlerGuard');
    this.wsException = ws.WsException;
  }

  /** The client socket of a WebSocket context (no response: no rate-limit headers). */
  protected override getRequestResponse(context: ExecutionContext): HttpPair | undefined {
    if (context.getType() !== 'ws') return undefined;
    return { req: context.switchToWs().getClient() };
  }

  /** `throttle.tracker` when configured, else the socket's peer address (normalised, IPv6 by subnet). */
  protected override getTracker(
    context: ExecutionContext,
    client: Record<string, any>,
  ): string | number | Promise<string | number> {
    const custom = this.settings.tracker;
    if (custom !== undefined) return custom(client, context);
    return trackerOfAddress(wsClientAddress(client), this.settings.ipv6Subnet, this.onInvalidIp);
  }

  /** Throws a `WsException` with the refusal's message, which the gateway sends as an `exception` event. */
  protected override throwThrottlingException(_context: ExecutionContext, result: ThrottleResult): never {
    const message = (result as { message?: string }).message ?? 'Too Many Requests';
    const WsException = this.wsException;
    if (WsException !== undefined) throw new WsException(message);
    throw new ThrottlerException(message);
  }
}
