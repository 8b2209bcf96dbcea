import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AppError } from '../util/errors.ts';
import { loadConfig, parseDuration } from './config.ts';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    assert.equal(c.port, 9999);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.dataDir, join(process.cwd(), 'var'));
    assert.equal(c.databaseUrl, undefined);
    assert.ok(Object.isFrozen(c));
  });

  for (const bad of ['70000', '0', '-1', 'abc', '80.5']) {
    it(`refuses PORTCULLIS_PORT=${bad} and names the variable`, () => {
      assert.throws(
        () => loadConfig({ PORTCULLIS_PORT: bad }),
        (e: unknown) => e instanceof AppError && e.kind === 'user' && e.message.includes('PORTCULLIS_PORT'),
      );
    });
  }

  it('refuses a database URL that is not postgres://', () => {
    assert.throws(() => loadConfig({ PORTCULLIS_DATABASE_URL: 'mysql://x' }), /PORTCULLIS_DATABASE_URL/);
  });

  it('reads a JSON config file, environment variables win', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-config-'));
    const f = join(dir, 'c.json');
    writeFileSync(f, JSON.stringify({ port: 8443, logLevel: 'debug' }));
    const c = loadConfig({ PORTCULLIS_CONFIG: f, PORTCULLIS_LOG_LEVEL: 'warn' });
    assert.equal(c.port, 8443);
    assert.equal(c.logLevel, 'warn');
  });

  it('names the file and key for an invalid value in the file, and refuses unknown keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-config-'));
    const f = join(dir, 'c.json');
    writeFileSync(f, JSON.stringify({ port: 123456 }));
    assert.throws(
      () => loadConfig({ PORTCULLIS_CONFIG: f }),
      (e: Error) => e.message.includes(`${f}: port`),
    );
    writeFileSync(f, JSON.stringify({ prot: 1 }));
    assert.throws(() => loadConfig({ PORTCULLIS_CONFIG: f }), /unknown setting "prot"/);
    writeFileSync(f, '{not json');
    assert.throws(() => loadConfig({ PORTCULLIS_CONFIG: f }), /not a JSON object/);
  });

  it('needs certificate and key together', () => {
    assert.throws(() => loadConfig({ PORTCULLIS_TLS_CERT: '/x.pem' }), /PORTCULLIS_TLS_KEY/);
  });
});

describe('parseDuration', () => {
  it('reads the units', () => {
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('24h'), 86_400_000);
    assert.equal(parseDuration('7d'), 7 * 86_400_000);
    assert.throws(() => parseDuration('7 days'), AppError);
  });
});

describe('README configuration table', () => {
  it('documents every setting', async () => {
    const { readFileSync } = await import('node:fs');
    const { SETTINGS, CONFIG_FILE_ENV } = await import('./config.ts');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const s of [...Object.values(SETTINGS).map((x) => x.env), CONFIG_FILE_ENV]) {
      assert.ok(readme.includes(`| \`${s}\``), `README's configuration table lacks ${s}`);
    }
  });
});
