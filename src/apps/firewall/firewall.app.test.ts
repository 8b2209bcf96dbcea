import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { runAppAction } from '../../automation/app.testing.ts';
import { firewallApp } from './firewall.app.ts';
import { canUseNetns, listenIn, reachable, twoNamespaces } from './netns.testing.ts';

const usable = canUseNetns();

describe(
  'nftables firewall app in network namespaces',
  { skip: usable ? false : 'needs root, iproute2, nftables and ncat' },
  () => {
    let net: ReturnType<typeof twoNamespaces>;
    let listener: ChildProcess | undefined;
    const port = 9090;
    before(async () => {
      net = twoNamespaces(201);
      listener = await listenIn(net.a, net.addrA, port);
    });
    after(() => {
      listener?.kill();
      net?.cleanup();
    });

    it('blocks a port so the other namespace cannot reach it, and unblocks it again', async () => {
      const asset = { netns: net.a };
      assert.equal(await reachable(net.b, net.addrA, port), true, 'reachable before');
      assert.equal((await runAppAction(firewallApp, 'test connectivity', {}, asset)).status, 'success');

      const blocked = await runAppAction(
        firewallApp,
        'block port',
        { ip: net.addrA, port, protocol: 'tcp' },
        asset,
      );
      assert.equal(blocked.status, 'success', blocked.message);
      assert.equal(await reachable(net.b, net.addrA, port), false, 'unreachable after block');
      const again = await runAppAction(firewallApp, 'block port', { ip: net.addrA, port }, asset);
      assert.match(again.message, /already blocked/);
      const list = await runAppAction(firewallApp, 'list blocks', {}, asset);
      assert.deepEqual(list.data, [{ protocol: 'tcp', port, ip: net.addrA }]);

      const unblocked = await runAppAction(firewallApp, 'unblock port', { ip: net.addrA, port }, asset);
      assert.equal(unblocked.status, 'success');
      assert.equal(unblocked.summary!.removed, 1);
      assert.equal(await reachable(net.b, net.addrA, port), true, 'reachable after unblock');
      const none = await runAppAction(firewallApp, 'unblock port', { ip: net.addrA, port }, asset);
      assert.match(none.message, /was not blocked/);
    });

    it('refuses bad input before running nft', async () => {
      await assert.rejects(
        runAppAction(firewallApp, 'block port', { ip: 'x; rm -rf /', port }, { netns: net.a }),
        /not an IP address/,
      );
      await assert.rejects(
        runAppAction(firewallApp, 'block port', { port: 70000 }, { netns: net.a }),
        /not 1–65535/,
      );
      await assert.rejects(
        runAppAction(firewallApp, 'block port', { port }, { netns: 'a b' }),
        /not a namespace name/,
      );
    });
  },
);
