import { describe, expect, it } from '@jest/globals';
import { clientIp, groupIpv6 } from '../../lib/throttler/index.js';

describe('clientIp', () => {
  it('uses req.ip and never X-Forwarded-For', () => {
    expect(clientIp({ ip: '10.0.0.1', headers: { 'x-forwarded-for': '1.2.3.4' } })).toBe('10.0.0.1');
  });

  it('falls back to the socket address', () => {
    expect(clientIp({ socket: { remoteAddress: '10.0.0.2' } })).toBe('10.0.0.2');
    expect(clientIp({})).toBe('unknown');
  });

  it("reads the socket address when the app trusts no proxy, from the app's settings when given", () => {
    // As in Express, `ip` is a getter of the request's prototype.
    const request = (app: unknown) =>
      Object.assign(
        Object.create({
          get ip() {
            return '198.51.100.9';
          },
        }),
        { socket: { remoteAddress: '10.0.0.3' }, app },
      );
    const trusting = request({ settings: { 'trust proxy': true } });
    // req.app trusts a proxy: its req.ip counts.
    expect(clientIp(trusting)).toBe('198.51.100.9');
    // The settings passed by the caller win over req.app (which is then not read).
    expect(clientIp(trusting, 64, { 'trust proxy': false })).toBe('10.0.0.3');
    expect(clientIp(request(undefined), 64, { 'trust proxy': false })).toBe('10.0.0.3');
    expect(clientIp(request({ settings: { 'trust proxy': false } }), 64, { 'trust proxy': 1 })).toBe('198.51.100.9');
    // An application that sets req.ip itself is honoured.
    const own = Object.assign(Object.create(null), { ip: '192.0.2.1', socket: { remoteAddress: '10.0.0.3' } });
    expect(clientIp(own, 64, { 'trust proxy': false })).toBe('192.0.2.1');
  });

  it('groups IPv6 by /64 and unwraps IPv4-mapped addresses', () => {
    expect(clientIp({ ip: '2001:db8:aa:bb:1:2:3:4' })).toBe('2001:db8:aa:bb:0:0:0:0/64');
    expect(clientIp({ ip: '2001:0DB8:00aa:00bb::ffff' })).toBe('2001:db8:aa:bb:0:0:0:0/64');
    expect(clientIp({ ip: '::ffff:192.0.2.5' })).toBe('192.0.2.5');
    expect(clientIp({ ip: '::1' })).toBe('0:0:0:0:0:0:0:0/64');
  });

  it('groups by other prefix lengths', () => {
    expect(groupIpv6('2001:db8:abcd:1234::1', 48)).toBe('2001:db8:abcd:0:0:0:0:0/48');
    expect(groupIpv6('2001:db8:abcd:12ff::1', 56)).toBe('2001:db8:abcd:1200:0:0:0:0/56');
    expect(groupIpv6('fe80::1%eth0', 64)).toBe('fe80:0:0:0:0:0:0:0/64');
    expect(groupIpv6('2001:db8::7', 128)).toBe('2001:db8:0:0:0:0:0:7');
  });
});
