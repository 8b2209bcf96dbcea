import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTIN_APPS } from '../apps/index.ts';
import { AppError } from '../util/errors.ts';
import { parseAppManifest } from './app.manifest.ts';

const valid = () => ({
  appid: '11111111-2222-4333-8444-555555555555',
  name: 'Example',
  description: 'example',
  type: 'generic',
  app_version: '1.0.0',
  product_vendor: 'Acme',
  product_name: 'Widget',
  publisher: 'Acme',
  configuration: { token: { data_type: 'password', required: true } },
  actions: [
    {
      action: 'test connectivity',
      identifier: 'test_connectivity',
      description: 't',
      type: 'test',
      read_only: true,
      parameters: {},
      output: [],
    },
    {
      action: 'lookup ip',
      identifier: 'lookup_ip',
      description: 'l',
      type: 'investigate',
      read_only: true,
      parameters: { ip: { data_type: 'string', required: true, contains: ['ip'] } },
      output: [{ data_path: 'action_result.data.*.ip', data_type: 'string', contains: ['ip'] }],
    },
  ],
});

function issuesOf(input: unknown): string[] {
  try {
    parseAppManifest(input);
  } catch (e) {
    assert.ok(e instanceof AppError);
    return (e.details?.issues as Array<{ pointer: string }>).map((i) => i.pointer);
  }
  assert.fail('expected the manifest to be refused');
}

describe('app manifest', () => {
  it('accepts every built-in app', () => {
    for (const a of BUILTIN_APPS) assert.doesNotThrow(() => parseAppManifest(a.manifest));
    assert.equal(new Set(BUILTIN_APPS.map((a) => a.manifest.appid)).size, BUILTIN_APPS.length);
  });

  it('accepts a Splunk SOAR-shaped manifest', () => {
    assert.equal(parseAppManifest(valid()).actions[1]!.parameters.ip!.contains![0], 'ip');
  });

  it('names each bad field by JSON pointer', () => {
    const m = valid();
    (m.actions[1] as Record<string, unknown>).type = 'destroy';
    (m.actions[1]!.output[0] as Record<string, unknown>).data_path = 'data.*.ip';
    (m.configuration.token as Record<string, unknown>).data_type = 'secret';
    assert.deepEqual(issuesOf(m).sort(), [
      '/actions/1/output/0/data_path',
      '/actions/1/type',
      '/configuration/token/data_type',
    ]);
  });

  it('escapes pointer segments and requires test connectivity and unique identifiers', () => {
    const m = valid();
    (m.configuration as Record<string, unknown>)['a/b'] = { data_type: 'nope' };
    assert.deepEqual(issuesOf(m), ['/configuration/a~1b/data_type']);
    const n = valid();
    n.actions = [n.actions[1]!, n.actions[1]!];
    assert.deepEqual(issuesOf(n).sort(), ['/actions', '/actions/1/identifier']);
    assert.deepEqual(issuesOf({ ...valid(), appid: 'x' }), ['/appid']);
    assert.deepEqual(issuesOf(null), ['/']);
  });
});
