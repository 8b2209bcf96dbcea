import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { AppError } from '../util/errors.ts';
import { expandTargets, parseTarget, parseTargets } from './target.parser.ts';

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const v6 = fc.ipV6();

describe('parseTargets', () => {
  it('reads addresses, CIDR blocks, octet ranges, spans and host names', () => {
    assert.deepEqual(expandTargets(parseTargets(['198.18.0.1'])), ['198.18.0.1']);
    assert.deepEqual(expandTargets(parseTargets(['198.18.0.1-3'])), [
      '198.18.0.1',
      '198.18.0.2',
      '198.18.0.3',
    ]);
    assert.deepEqual(expandTargets(parseTargets(['198.18.0-1.7'])), ['198.18.0.7', '198.18.1.7']);
    assert.deepEqual(expandTargets(parseTargets(['198.18.0.1,5'])), ['198.18.0.1', '198.18.0.5']);
    assert.deepEqual(expandTargets(parseTargets(['198.18.0.254/31'])), ['198.18.0.254', '198.18.0.255']);
    assert.equal(expandTargets(parseTargets(['198.18.0.0/24'])).length, 256);
    assert.deepEqual(expandTargets(parseTargets(['fd00::1:0/127'])), ['fd00::1:0', 'fd00::1:1']);
    assert.deepEqual(expandTargets(parseTargets(['198.18.0.9-198.18.0.10'])), ['198.18.0.9', '198.18.0.10']);
    assert.deepEqual(expandTargets(parseTargets(['FD00:0:0::0001'])), ['fd00::1']);
    assert.deepEqual(expandTargets(parseTargets(['::ffff:198.18.0.1'])), ['198.18.0.1']);
    assert.deepEqual(parseTarget('Host-1.Example.'), {
      kind: 'hostname',
      text: 'Host-1.Example.',
      name: 'host-1.example',
    });
    // several words, and several targets in one word, duplicates once
    assert.deepEqual(expandTargets(parseTargets(['198.18.0.1 198.18.0.2', '198.18.0.1'])), [
      '198.18.0.1',
      '198.18.0.2',
    ]);
  });

  it('refuses bad targets naming them', () => {
    for (const bad of [
      '198.18.0.256',
      '198.18.0.1/33',
      'fd00::/129',
      '198.18.0.9-3',
      '-bad-',
      '1.2.3',
      'fd00::g',
      '198.18.0.1/24/1',
      'a..b',
    ]) {
      assert.throws(
        () => parseTargets([bad]),
        (e: unknown) => e instanceof AppError && e.kind === 'user' && e.message.includes(JSON.stringify(bad)),
        bad,
      );
    }
    assert.throws(() => parseTargets([]), /no targets/);
    assert.throws(() => expandTargets(parseTargets(['10.0.0.0/8'])), /at most 65536/);
    assert.throws(() => expandTargets(parseTargets(['fd00::/64'])), /at most 65536/);
  });

  it('expands a CIDR block to exactly the addresses ipaddr.js says it contains', () => {
    fc.assert(
      fc.property(v4, fc.integer({ min: 22, max: 32 }), (addr, prefix) => {
        const list = expandTargets(parseTargets([`${addr}/${prefix}`]));
        assert.equal(list.length, 2 ** (32 - prefix));
        const net = ipaddr.parseCIDR(`${addr}/${prefix}`);
        for (const a of [list[0]!, list.at(-1)!])
          assert.ok(ipaddr.parse(a).match(net), `${a} in ${addr}/${prefix}`);
        assert.equal(list[0], ipaddr.IPv4.networkAddressFromCIDR(`${addr}/${prefix}`).toString());
        assert.equal(list.at(-1), ipaddr.IPv4.broadcastAddressFromCIDR(`${addr}/${prefix}`).toString());
      }),
    );
  });

  it('canonicalises any IPv6 address as RFC 5952 text', () => {
    fc.assert(
      fc.property(v6, (addr) => {
        const parsed = ipaddr.parse(addr);
        const [got] = expandTargets(parseTargets([addr]));
        if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress())
          assert.equal(got, (parsed as ipaddr.IPv6).toIPv4Address().toString());
        else assert.equal(got, parsed.toString());
      }),
    );
  });

  it('expands an octet range to the product of its octets', () => {
    const octet = fc.tuple(fc.nat(255), fc.nat(3)).map(([a, n]) => ({ lo: a, hi: Math.min(255, a + n) }));
    fc.assert(
      fc.property(fc.tuple(octet, octet, octet, octet), (os) => {
        const text = os.map((o) => (o.lo === o.hi ? `${o.lo}` : `${o.lo}-${o.hi}`)).join('.');
        const list = expandTargets(parseTargets([text]));
        assert.equal(
          list.length,
          os.reduce((n, o) => n * (o.hi - o.lo + 1), 1),
        );
        assert.equal(list[0], os.map((o) => o.lo).join('.'));
        assert.equal(list.at(-1), os.map((o) => o.hi).join('.'));
      }),
    );
  });

  it('never throws anything but a user error on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), (s) => {
        try {
          parseTargets([s]);
        } catch (e) {
          assert.ok(e instanceof AppError && e.kind === 'user', String(e));
        }
      }),
    );
  });
});
