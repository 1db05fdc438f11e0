import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { type ExecutionContext, Injectable, Module, UseGuards } from '@nestjs/common';
import { GqlExecutionContext, GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import request from 'supertest';
import { BackendsModule, GqlThrottlerGuard, Throttle, ThrottlerGuard } from '../../lib/index.js';
import { type RunningApp, startApp } from '../utils/web-app.js';
import { freezeDate, thawDate } from './frozen-date.js';

/** The README's GraphQL recipe, as written there. */
@Injectable()
class RecipeGqlThrottlerGuard extends ThrottlerGuard {
  protected override getRequestResponse(context: ExecutionContext) {
    const ctx = GqlExecutionContext.create(context).getContext();
    return { req: ctx.req, res: ctx.res };
  }
}

@Resolver()
class CountResolver {
  private served = { recipe: 0, helper: 0, both: 0 };

  @UseGuards(RecipeGqlThrottlerGuard)
  @Throttle('2/hour')
  @Query('recipe')
  recipe() {
    return ++this.served.recipe;
  }

  @UseGuards(GqlThrottlerGuard)
  @Throttle('2/hour')
  @Query('helper')
  helper() {
    return ++this.served.helper;
  }
}

/** Class and handler guards (and the global one): one count per operation. */
@Resolver()
@UseGuards(GqlThrottlerGuard)
class GuardedTwiceResolver {
  private served = 0;

  @UseGuards(GqlThrottlerGuard)
  @Throttle('3/hour')
  @Query('twice')
  twice() {
    return ++this.served;
  }
}

@Module({
  imports: [
    BackendsModule.forRoot({ storage: { type: 'memory' }, throttle: { global: true, rate: '1000/hour' } }),
    GraphQLModule.forRoot<ApolloDriverConfig>({
      driver: ApolloDriver,
      typeDefs: 'type Query { recipe: Int, helper: Int, twice: Int }',
      allowBatchedHttpRequests: true,
      context: ({ req, res }: { req: unknown; res: unknown }) => ({ req, res }),
    }),
  ],
  providers: [CountResolver, GuardedTwiceResolver],
})
class GqlModule {}

interface GqlResult {
  data?: Record<string, number | null> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

describe('GraphQL resolvers under throttle.global (Apollo on Express)', () => {
  let app: RunningApp;

  beforeAll(async () => {
    freezeDate();
    app = await startApp('express', GqlModule);
  });

  afterAll(async () => {
    await app?.close();
    thawDate();
  });

  const post = (body: unknown) =>
    request(app.url).post('/graphql').set('content-type', 'application/json').send(JSON.stringify(body));

  it.each(['recipe', 'helper'])(
    'counts each operation of a batched HTTP request (%s guard): 2 of 4 pass, with rate-limit headers',
    async (field) => {
      const res = await post(Array.from({ length: 4 }, () => ({ query: `{ ${field} }` })));
      expect(res.status).toBe(200);
      const results = res.body as GqlResult[];
      expect(results).toHaveLength(4);
      const served = results.filter((r) => r.errors === undefined).map((r) => r.data?.[field]);
      expect(served.sort()).toEqual([1, 2]);
      const refused = results.filter((r) => r.errors !== undefined);
      expect(refused).toHaveLength(2);
      for (const r of refused) expect(r.errors?.[0].message).toBe('Too Many Requests');
      expect(res.headers['x-ratelimit-limit']).toBe('2');
    },
  );

  it('counts single operations one by one', async () => {
    // `recipe` and `helper` are used up above: each single request is refused now.
    const single = await post({ query: '{ helper }' });
    expect((single.body as GqlResult).errors?.[0].message).toBe('Too Many Requests');
  });

  it('counts an operation once under the global, class and handler guards', async () => {
    const answers: (number | null | undefined)[] = [];
    for (let i = 0; i < 4; i++) answers.push(((await post({ query: '{ twice }' })).body as GqlResult).data?.twice);
    expect(answers).toEqual([1, 2, 3, null]);
  });
});
