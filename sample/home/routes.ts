import { DEMO_USERS } from '../account/demo-users.js';

/** One input of a POST route's form on the index page. */
export interface FormField {
  name: string;
  /** Pre-filled value. */
  value: string;
  /** `list`: a textarea sent as an array, one item per line. */
  kind?: 'text' | 'password' | 'list';
}

/** One route of the sample as the index page lists it. */
export interface RouteEntry {
  method: 'GET' | 'POST';
  /** The route as Nest declares it (`/visits/:page`). */
  route: string;
  /** What a GET link opens (the route with its parameters filled in); absent when it cannot be linked. */
  href?: string;
  /** The body fields of a POST route (an empty list: a button only). */
  fields?: FormField[];
  /** A POST the browser submits as a plain form and follows (it answers with a redirect to a page). */
  navigates?: boolean;
  /** What the route shows, in a sentence (plain text). */
  shows: string;
}

/** The routes of the sample, by capability; test/sample checks that it matches the routes the app declares. */
export const ROUTE_SECTIONS: readonly { title: string; routes: readonly RouteEntry[] }[] = [
  {
    title: 'Storage',
    routes: [
      {
        method: 'GET',
        route: '/visits/:page',
        href: '/visits/home',
        shows: 'a service using @InjectStorage() directly: a visit counter with a one-hour TTL',
      },
    ],
  },
  {
    title: 'Throttling',
    routes: [
      {
        method: 'GET',
        route: '/limits/slow',
        href: '/limits/slow',
        shows: "@Throttle('5/minute'): the 6th call in a minute gets 429",
      },
      {
        method: 'GET',
        route: '/limits/burst',
        href: '/limits/burst',
        shows: 'a burst (3/s) and a sustained (20/minute) limit checked together',
      },
    ],
  },
  {
    title: 'Cache',
    routes: [
      {
        method: 'GET',
        route: '/catalog/products',
        href: '/catalog/products',
        shows: 'CacheInterceptor + @CacheTTL(10 s): see the X-Cache header (MISS, then HIT)',
      },
      {
        method: 'GET',
        route: '/catalog/stats',
        href: '/catalog/stats',
        shows: 'CacheService.wrap: computed once per 30 s, once for concurrent callers',
      },
    ],
  },
  {
    title: 'Sessions',
    routes: [
      {
        method: 'POST',
        route: '/account/login',
        fields: [
          { name: 'username', value: Object.keys(DEMO_USERS)[0] },
          { name: 'password', value: Object.values(DEMO_USERS)[0], kind: 'password' },
        ],
        shows: 'a session on BackendSessionStore; 5 attempts per account per 15 minutes (the Throttler service)',
      },
      {
        method: 'GET',
        route: '/account/me',
        href: '/account/me',
        shows: 'the logged-in user, from the session cookie',
      },
      { method: 'POST', route: '/account/logout', fields: [], shows: 'ends this session' },
      {
        method: 'POST',
        route: '/account/logout-everywhere',
        fields: [],
        shows: 'ends every session of the user, on every device',
      },
    ],
  },
  {
    title: 'Email',
    routes: [
      {
        method: 'POST',
        route: '/mail/welcome',
        fields: [
          { name: 'to', value: 'Ada <ada@example.com>' },
          { name: 'name', value: 'Ada' },
          { name: 'idempotencyKey', value: '' },
        ],
        shows: 'a welcome email with an HTML part, a text part and an attachment',
      },
      {
        method: 'POST',
        route: '/mail/newsletter',
        fields: [{ name: 'recipients', value: 'a@example.com\nnot an address\nb@example.com', kind: 'list' }],
        shows: 'a bulk send with one result per recipient (a bad address fails alone)',
      },
      {
        method: 'GET',
        route: '/outbox',
        href: '/outbox',
        shows: 'the emails the memory email backend holds: headers, text, HTML preview, attachments',
      },
      {
        method: 'GET',
        route: '/outbox/:messageId/attachments/:index',
        shows: 'downloads an attachment (linked from the outbox)',
      },
      {
        method: 'POST',
        route: '/outbox/clear',
        fields: [],
        navigates: true,
        shows: 'empties the outbox (its "clear" button), then back to /outbox',
      },
    ],
  },
];
