import { describe, expect, it } from '@jest/globals';
import { clientIp, groupIpv6, normaliseIp, trackerOfAddress } from '../../lib/throttler/index.js';

describe('normaliseIp', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['203.0.113.7:40001', '203.0.113.7'],
    [' 203.0.113.7 ', '203.0.113.7'],
    ['[2001:db8:9::1]:8443', '2001:db8:9::1'],
    ['[2001:db8:1:2::4]', '2001:db8:1:2::4'],
    ['2001:DB8::1', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1%eth0'],
    ['::ffff:198.51.100.3', '198.51.100.3'],
    ['::ffff:c633:6403', '198.51.100.3'],
    ['0:0:0:0:0:ffff:1.2.3.4', '1.2.3.4'],
    ['0000:0000:0000:0000:0000:FFFF:0102:0304', '1.2.3.4'],
    ['[::ffff:1.2.3.4]:80', '1.2.3.4'],
    ['::1.2.3.4', '1.2.3.4'],
    ['::0102:0304', '1.2.3.4'],
    ['::1', '::1'],
    ['::', '::'],
  ])('%s is %s', (raw, ip) => {
    expect(normaliseIp(raw)).toBe(ip);
  });

  it.each([
    [''],
    ['unknown'],
    ['example.com'],
    ['203.0.113.7:port'],
    ['203.0.113.7:123456'],
    ['203.0.113.256'],
    ['[2001:db8::1'],
    ['[2001:db8::1]x'],
    ['[203.0.113.7]'],
    ['2001:db8::g'],
    ['1.2.3.4, 5.6.7.8'],
    ['_hidden'],
  ])('%j is not an IP address', (raw) => {
    expect(normaliseIp(raw)).toBeUndefined();
  });
});

describe('trackerOfAddress and clientIp', () => {
  it('collapse every IPv4-mapped and compatible form into its IPv4 address, not one IPv6 /64', () => {
    const forms = ['::ffff:c633:6403', '0:0:0:0:0:ffff:198.51.100.3', '::198.51.100.3', '198.51.100.3:5000'];
    expect(forms.map((f) => trackerOfAddress(f))).toEqual(Array(4).fill('198.51.100.3'));
    expect(trackerOfAddress('::ffff:1.2.3.4')).not.toBe(trackerOfAddress('::ffff:1.2.3.5'));
    expect(groupIpv6('::ffff:c633:6403')).toBe('198.51.100.3');
  });

  it('group bracketed IPv6 with a port like the bare address', () => {
    expect(trackerOfAddress('[2001:db8:9::1]:40001')).toBe('2001:db8:9:0:0:0:0:0/64');
    expect(clientIp({ ip: '[2001:db8:1:2::4]' })).toBe('2001:db8:1:2:0:0:0:0/64');
  });

  it('count what is not an IP under one "unknown" tracker and report it', () => {
    const reported: string[] = [];
    const onInvalid = (raw: string) => reported.push(raw);
    expect(trackerOfAddress('not-an-ip', 64, onInvalid)).toBe('unknown');
    expect(clientIp({ ip: 'example.com' }, 64, undefined, onInvalid)).toBe('unknown');
    expect(reported).toEqual(['not-an-ip', 'example.com']);
    expect(trackerOfAddress(undefined, 64, onInvalid)).toBe('unknown');
    expect(reported).toHaveLength(2);
  });
});
