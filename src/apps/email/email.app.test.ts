import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { runAppAction } from '../../automation/app.testing.ts';
import { emailApp } from './email.app.ts';

describe('SMTP app against a local smtp-server', () => {
  let server: SMTPServer;
  let port = 0;
  const mails: Array<{ from: string; to: string[]; data: string; user?: string | undefined }> = [];
  before(async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth(auth, _s, cb) {
        if (auth.username === 'pc' && auth.password === 'pw') cb(null, { user: 'pc' });
        else cb(new Error('invalid login'));
      },
      onData(stream, session, cb) {
        let data = '';
        stream.on('data', (d) => (data += d));
        stream.on('end', () => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            data,
            user: session.user as string | undefined,
          });
          cb();
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const asset = () => ({
    server: '127.0.0.1',
    port,
    security: 'none',
    sender: 'portcullis@example.test',
    username: 'pc',
    password: 'pw',
    default_recipients: 'owner@example.test',
  });

  it('tests connectivity with a login', async () => {
    const r = await runAppAction(emailApp, 'test connectivity', {}, asset());
    assert.equal(r.status, 'success', r.message);
    const bad = await runAppAction(emailApp, 'test connectivity', {}, { ...asset(), password: 'wrong' });
    assert.equal(bad.status, 'failed');
    assert.match(bad.message, /SMTP: .*invalid login/i);
  });

  it('sends a message the server receives, to the default recipients', async () => {
    const r = await runAppAction(
      emailApp,
      'send email',
      { subject: 'New port 198.18.0.2:9090/tcp', body: 'please review' },
      asset(),
    );
    assert.equal(r.status, 'success', r.message);
    const m = mails.at(-1)!;
    assert.equal(m.from, 'portcullis@example.test');
    assert.deepEqual(m.to, ['owner@example.test']);
    assert.equal(m.user, 'pc');
    assert.match(m.data, /^Subject: New port 198\.18\.0\.2:9090\/tcp$/m);
    assert.match(m.data, /please review/);
    assert.equal((r.data![0] as { accepted: string[] }).accepted[0], 'owner@example.test');
  });
});
