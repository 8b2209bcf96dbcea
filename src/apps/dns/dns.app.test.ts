import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runAppAction } from '../../automation/app.testing.ts';
import { dnsApp } from './dns.app.ts';
import { reverseName, startTestDns } from './dns.testing.ts';

describe('DNS app against a local DNS server', () => {
  let dns: Awaited<ReturnType<typeof startTestDns>>;
  let server = '';
  before(async () => {
    dns = await startTestDns({
      'svc.example.test': { a: ['198.18.0.2', '198.18.0.3'], aaaa: ['fd00::2'] },
      [reverseName('198.18.0.2')]: { ptr: ['svc.example.test'] },
      '': { ns: ['ns.example.test'] },
    });
    server = dns.server;
  });
  after(() => dns.close());

  it('resolves forward (A and AAAA)', async () => {
    const a = await runAppAction(dnsApp, 'lookup domain', { domain: 'svc.example.test' }, { server });
    assert.equal(a.status, 'success', a.message);
    assert.deepEqual(a.data!.map((d) => (d as { address: string }).address).sort(), [
      '198.18.0.2',
      '198.18.0.3',
    ]);
    const aaaa = await runAppAction(
      dnsApp,
      'lookup domain',
      { domain: 'svc.example.test', type: 'AAAA' },
      { server },
    );
    assert.deepEqual(aaaa.data, [{ address: 'fd00::2', type: 'AAAA' }]);
  });

  it('resolves reverse, and reports a missing name as no record', async () => {
    const r = await runAppAction(dnsApp, 'reverse lookup', { ip: '198.18.0.2' }, { server });
    assert.equal(r.status, 'success', r.message);
    assert.equal(r.summary!.hostname, 'svc.example.test');
    const none = await runAppAction(dnsApp, 'reverse lookup', { ip: '198.18.0.9' }, { server });
    assert.equal(none.status, 'success');
    assert.equal(none.summary!.hostname, null);
    const bad = await runAppAction(dnsApp, 'reverse lookup', { ip: 'not-an-ip' }, { server });
    assert.equal(bad.status, 'failed');
  });

  it('tests connectivity with an NS query for the root', async () => {
    const r = await runAppAction(dnsApp, 'test connectivity', {}, { server });
    assert.equal(r.status, 'success', r.message);
  });
});
