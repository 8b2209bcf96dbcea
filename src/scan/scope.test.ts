import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { compileScope, parseCidr } from './scope.ts';

describe('scan scopes', () => {
  it('allows nothing by default', () => {
    const s = compileScope([]);
    assert.equal(s.allows('198.18.0.1'), false);
    assert.match(s.explain('198.18.0.1'), /no scan scope/);
  });

  it('allows inside allow blocks minus exclusions, per family', () => {
    const s = compileScope([
      { cidr: '198.18.0.0/15', kind: 'allow' },
      { cidr: '198.18.9.0/24', kind: 'exclude' },
      { cidr: 'fd00::/8', kind: 'allow' },
    ]);
    assert.equal(s.allows('198.19.255.255'), true);
    assert.equal(s.allows('198.18.9.2'), false);
    assert.match(s.explain('198.18.9.2'), /excluded block 198\.18\.9\.0\/24/);
    assert.equal(s.allows('198.20.0.1'), false);
    assert.equal(s.allows('fd12::1'), true);
    assert.equal(s.allows('fe80::1'), false);
    assert.equal(s.allows('not-an-address'), false);
  });

  it('normalises CIDR blocks and refuses bad ones', () => {
    assert.equal(parseCidr('198.18.9.7/24').cidr, '198.18.9.0/24');
    assert.equal(parseCidr('198.18.9.7').cidr, '198.18.9.7/32');
    assert.equal(parseCidr('FD00::1/8').cidr, 'fd00::/8');
    for (const bad of ['198.18.0.0/33', 'example.com', '198.18.0.0/', '1/2/3'])
      assert.throws(() => parseCidr(bad), /CIDR/);
  });

  it('agrees with ipaddr.js on membership', () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    fc.assert(
      fc.property(v4, fc.integer({ min: 0, max: 32 }), v4, (net, prefix, addr) => {
        const s = compileScope([{ cidr: `${net}/${prefix}`, kind: 'allow' }]);
        assert.equal(s.allows(addr), ipaddr.parse(addr).match(ipaddr.parseCIDR(`${net}/${prefix}`)));
      }),
    );
  });
});
