import ipaddr from 'ipaddr.js';
import type { PlaybookDefinition } from '../../automation/playbook.types.ts';
import type { AssetInfo, PlaybookSdk } from '../../automation/sdk.ts';

/** The custom list that tunes this playbook: rows of `[setting, value]`. */
export const SETTINGS_LIST = 'network_exposure_settings';

/** Decisions the owner can take; `unapproved` leaves the port open and the container for follow-up. */
export const DECISIONS = ['approve', 'block', 'unapproved'] as const;

interface Settings {
  promptRole: string;
  promptHours: number;
  defaultDecision: (typeof DECISIONS)[number];
}

function readSettings(rows: Array<Array<string | number | boolean | null>> | null): Settings {
  const m = new Map((rows ?? []).map((r) => [String(r[0] ?? ''), r[1]]));
  const hours = Number(m.get('prompt_expiry_hours') ?? 24);
  const dflt = String(m.get('default_decision') ?? 'unapproved');
  return {
    promptRole: String(m.get('prompt_role') ?? 'admin'),
    promptHours: Number.isFinite(hours) && hours > 0 ? hours : 24,
    defaultDecision: (DECISIONS as readonly string[]).includes(dflt)
      ? (dflt as Settings['defaultDecision'])
      : 'unapproved',
  };
}

function inNetworks(ip: string, networks: unknown): boolean {
  if (typeof networks !== 'string' || !networks.trim()) return true;
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    a = ipaddr.process(ip);
  } catch {
    return false;
  }
  return networks
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((c) => {
      try {
        const [net, bits] = ipaddr.parseCIDR(c);
        return net.kind() === a.kind() && a.match(net, bits);
      } catch {
        return false;
      }
    });
}

const tagged = (assets: AssetInfo[], tag: string) =>
  assets.filter((a) => a.tags.includes(tag)).map((a) => a.name);

async function portState(pb: PlaybookSdk, ip: string, port: number, name: string): Promise<string> {
  const r = await pb.act('scan ports', {
    app: 'Port Check',
    parameters: [{ ip, ports: String(port) }],
    name,
  });
  const d = r.results[0]?.data[0] as { state?: string } | undefined;
  return r.status === 'success' && d?.state ? d.state : 'unknown';
}

/**
 * The response to a new listening port: confirm it with a re-scan (a closed port closes the
 * container as transient), look up its name, notify (assets of the HTTP and SMTP apps tagged
 * `notify`), then ask the owner to approve it (with a justification and an expiry: the service
 * becomes `approved`) or block it (nftables asset, re-scan to verify, close).
 */
export const networkExposurePlaybook: PlaybookDefinition = {
  name: 'network_exposure',
  version: 1,
  description: 'Confirm a new listening port, enrich, notify, and let its owner approve or block it.',
  labels: ['network_exposure'],
  tags: ['builtin', 'network_exposure'],
  async run(pb) {
    const container = await pb.container();
    const listener = (await pb.artifacts()).find((a) => a.cef.destinationAddress && a.cef.destinationPort);
    if (!listener) return 'no artifact with destinationAddress and destinationPort: nothing to do';
    const ip = String(listener.cef.destinationAddress);
    const port = Number(listener.cef.destinationPort);
    const protocol = String(listener.cef.transportProtocol ?? 'tcp').toLowerCase() === 'udp' ? 'udp' : 'tcp';
    const endpoint = `${ip.includes(':') ? `[${ip}]` : ip}:${port}/${protocol}`;
    const settings = readSettings(await pb.getList(SETTINGS_LIST));

    if (protocol === 'tcp') {
      const state = await portState(pb, ip, port, 'confirm_listener');
      if (state === 'closed') {
        await pb.addNote(
          'Transient listener',
          `${endpoint} refused a connection on re-scan: the listener is gone. Closing as transient.`,
        );
        await pb.setStatus('closed');
        return `transient: ${endpoint} is closed`;
      }
      await pb.message(
        state === 'open'
          ? `${endpoint} confirmed open`
          : `${endpoint} could not be confirmed from here (${state})`,
      );
    } else await pb.message(`${endpoint}: UDP cannot be confirmed by a connect check`);

    // Only against a configured DNS asset: the system's resolvers may sit outside the network the
    // operator expects this server to talk to.
    let hostname: string | null = null;
    if ((await pb.assets('DNS')).length) {
      const dns = await pb.act('reverse lookup', { app: 'DNS', parameters: [{ ip }], name: 'reverse_dns' });
      hostname = (dns.results[0]?.summary.hostname as string | null | undefined) ?? null;
    } else await pb.message('no DNS asset configured: reverse lookup skipped');

    const summary = `New listening port ${endpoint}${hostname ? ` (${hostname})` : ''} in container ${container.id}: ${container.name}`;
    const webhooks = tagged(await pb.assets('HTTP'), 'notify');
    if (webhooks.length)
      await pb.act('send webhook', {
        app: 'HTTP',
        assets: webhooks,
        name: 'notify_webhook',
        parameters: [
          {
            message: summary,
            data: JSON.stringify({ container_id: container.id, ip, port, protocol, hostname }),
          },
        ],
      });
    const mailers = tagged(await pb.assets('SMTP'), 'notify');
    if (mailers.length)
      await pb.act('send email', {
        app: 'SMTP',
        assets: mailers,
        name: 'notify_email',
        parameters: [
          {
            subject: `[Portcullis] ${summary}`.slice(0, 200),
            body: `${summary}\n\nApprove it with a justification, or block it, in Portcullis (approval for container ${container.id}).`,
          },
        ],
      });

    const answer = await pb.prompt({
      name: 'owner_decision',
      message: `${summary}. Approve it (give a justification and optionally an expiry date) or block it at the firewall.`,
      ...(container.owner_name ? { toUser: container.owner_name } : { toRole: settings.promptRole }),
      questions: [
        { prompt: 'Decision', options: { type: 'list', choices: [...DECISIONS] } },
        { prompt: 'Justification (needed to approve)', options: { type: 'message' } },
        { prompt: 'Approval expires (YYYY-MM-DD, empty for never)', options: { type: 'message' } },
      ],
      expiresInMs: settings.promptHours * 3_600_000,
      defaults: [settings.defaultDecision, '', ''],
    });
    const [decision, justification = '', expires = ''] = answer.responses;
    const who = answer.answered_by ?? 'expiry';
    const key = { host: ip, protocol, port } as const;

    if (decision === 'approve') {
      const expiresAt =
        /^\d{4}-\d{2}-\d{2}/.test(expires) && !Number.isNaN(Date.parse(expires))
          ? new Date(expires).toISOString()
          : null;
      if (!justification.trim()) {
        await pb.setServiceState(key, {
          state: 'unapproved',
          approver: who,
          justification: 'approval refused: no justification given',
        });
        await pb.addNote(
          'Approval without justification',
          `${who} chose approve without a justification; ${endpoint} is marked unapproved.`,
        );
        return 'approval needs a justification: marked unapproved';
      }
      const found = await pb.setServiceState(key, {
        state: 'approved',
        approver: who,
        justification,
        expires_at: expiresAt,
      });
      await pb.addNote(
        'Listener approved',
        `${who} approved ${endpoint}: ${justification}${expiresAt ? ` (until ${expiresAt.slice(0, 10)})` : ''}${found ? '' : ' (no baseline service matched)'}.`,
      );
      await pb.setStatus('closed');
      return `approved by ${who}`;
    }
    if (decision === 'unapproved') {
      await pb.setServiceState(key, {
        state: 'unapproved',
        approver: who,
        justification: answer.status === 'expired' ? 'prompt expired' : justification || null,
      });
      await pb.addNote(
        'Listener unapproved',
        `${endpoint} is unapproved (${answer.status === 'expired' ? 'the prompt expired' : `decided by ${who}`}); the container stays open.`,
      );
      await pb.setStatus('open');
      return 'unapproved: left open for follow-up';
    }

    const firewalls = (await pb.assets('nftables Firewall'))
      .filter((a) => inNetworks(ip, a.configuration.protected_networks))
      .map((a) => a.name);
    if (firewalls.length === 0) {
      await pb.addNote(
        'Block requested, no firewall',
        `${who} asked to block ${endpoint}, but no nftables asset protects ${ip}. Block it by hand.`,
      );
      await pb.setStatus('open');
      return 'block requested but no firewall asset covers the host';
    }
    const block = await pb.act('block port', {
      app: 'nftables Firewall',
      assets: firewalls,
      parameters: [{ ip, port, protocol }],
      name: 'block_port',
    });
    if (block.status !== 'success') {
      await pb.addNote('Block failed', `Blocking ${endpoint} failed: ${block.message}`);
      await pb.setSeverity('high');
      await pb.setStatus('open');
      return `block failed: ${block.message}`;
    }
    if (protocol === 'tcp') {
      const after = await portState(pb, ip, port, 'verify_block');
      if (after === 'open') {
        await pb.addNote(
          'Block not effective',
          `${endpoint} still accepts connections after the firewall rule on ${firewalls.join(', ')}.`,
        );
        await pb.setSeverity('high');
        await pb.setStatus('open');
        return 'blocked, but the port is still reachable';
      }
    }
    await pb.setServiceState(key, {
      state: 'unapproved',
      approver: who,
      justification: `blocked at ${firewalls.join(', ')}`,
    });
    await pb.addNote(
      'Listener blocked',
      `${who} chose block: ${endpoint} is blocked on ${firewalls.join(', ')} and no longer reachable.`,
    );
    await pb.setStatus('closed');
    return `blocked by ${who}`;
  },
};
