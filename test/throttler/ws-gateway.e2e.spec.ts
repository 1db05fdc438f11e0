import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ExecutionContext, Injectable, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { MessageBody, SubscribeMessage, WebSocketGateway, WsException } from '@nestjs/websockets';
import { WebSocket } from 'ws';
import { BackendsModule, Throttle, ThrottlerGuard, WsThrottlerGuard } from '../../lib/index.js';
import { freezeDate, thawDate } from './frozen-date.js';

/** The README's WebSocket recipe, as written there. */
@Injectable()
class RecipeWsThrottlerGuard extends ThrottlerGuard {
  protected override getRequestResponse(context: ExecutionContext) {
    return { req: context.switchToWs().getClient() };
  }

  protected override getTracker(_context: ExecutionContext, client: Record<string, any>): string {
    return String(client._socket?.remoteAddress);
  }

  protected override throwThrottlingException(): never {
    throw new WsException('Too Many Requests');
  }
}

@WebSocketGateway()
class RecipeGateway {
  @UseGuards(RecipeWsThrottlerGuard)
  @Throttle('2/hour')
  @SubscribeMessage('recipe')
  recipe(@MessageBody() n: number) {
    return { event: 'ok', data: n };
  }

  @UseGuards(WsThrottlerGuard)
  @Throttle('2/hour')
  @SubscribeMessage('helper')
  helper(@MessageBody() n: number) {
    return { event: 'ok', data: n };
  }

  /** Class and handler guards of one message: counted once. */
  @UseGuards(WsThrottlerGuard, WsThrottlerGuard)
  @Throttle('3/hour')
  @SubscribeMessage('twice')
  twice(@MessageBody() n: number) {
    return { event: 'ok', data: n };
  }
}

@Module({
  imports: [BackendsModule.forRoot({ storage: { type: 'memory' }, throttle: { global: true, rate: '1000/hour' } })],
  providers: [RecipeGateway],
})
class WsModule {}

interface Reply {
  event: string;
  data: unknown;
}

/** Sends `count` messages of `event` one after the other on one socket and collects each answer. */
async function exchange(url: string, event: string, count: number): Promise<Reply[]> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const replies: Reply[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const reply = new Promise<Reply>((resolve) => socket.once('message', (raw) => resolve(JSON.parse(String(raw)))));
      socket.send(JSON.stringify({ event, data: i }));
      replies.push(await reply);
    }
  } finally {
    socket.close();
  }
  return replies;
}

describe('WebSocket gateway under throttle.global (platform-ws, real ws client)', () => {
  let app: Awaited<ReturnType<typeof NestFactory.create>>;
  let url: string;

  beforeAll(async () => {
    freezeDate();
    app = await NestFactory.create(WsModule, { logger: false, abortOnError: false });
    app.useWebSocketAdapter(new WsAdapter(app));
    await app.listen(0, '127.0.0.1');
    url = `ws://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await app?.close();
    thawDate();
  });

  it.each(['recipe', 'helper'])(
    'counts every message of one socket (%s guard): 2 of 5 pass, then WsException',
    async (event) => {
      const replies = await exchange(url, event, 5);
      expect(replies.slice(0, 2)).toEqual([
        { event: 'ok', data: 0 },
        { event: 'ok', data: 1 },
      ]);
      for (const refused of replies.slice(2)) {
        expect(refused).toMatchObject({ event: 'exception', data: { status: 'error', message: 'Too Many Requests' } });
      }
    },
  );

  it('counts a message once when the handler lists the guard twice', async () => {
    const replies = await exchange(url, 'twice', 4);
    expect(replies.map((r) => r.event)).toEqual(['ok', 'ok', 'ok', 'exception']);
  });
});
