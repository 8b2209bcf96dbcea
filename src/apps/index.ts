import type { AppDefinition } from '../automation/app.types.ts';
import { dnsApp } from './dns/dns.app.ts';
import { emailApp } from './email/email.app.ts';
import { firewallApp } from './firewall/firewall.app.ts';
import { httpApp } from './http/http.app.ts';
import { portCheckApp } from './port-check/port-check.app.ts';
import { syslogApp } from './syslog/syslog.app.ts';
import { utilityApp } from './utility/utility.app.ts';

/** The apps that ship with Portcullis. */
export const BUILTIN_APPS: readonly AppDefinition[] = [
  portCheckApp,
  httpApp,
  emailApp,
  syslogApp,
  firewallApp,
  dnsApp,
  utilityApp,
];

export { dnsApp, emailApp, firewallApp, httpApp, portCheckApp, syslogApp, utilityApp };
