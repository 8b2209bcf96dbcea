export const FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'audit',
  'alert',
  'clock',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
] as const;
export const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;

export interface SyslogMessage {
  facility: (typeof FACILITIES)[number];
  severity: (typeof SEVERITIES)[number];
  time: Date;
  hostname?: string | undefined;
  appName?: string | undefined;
  procId?: string | undefined;
  msgId?: string | undefined;
  /** SD-ID → params, e.g. `{ "portcullis@32473": { container: "42" } }`. */
  structuredData?: Record<string, Record<string, string>> | undefined;
  message: string;
}

/** A header field: printable US-ASCII without spaces, cut to `max`, or the NILVALUE `-`. */
function field(v: string | undefined, max: number): string {
  const s = (v ?? '').replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return s || '-';
}

function sdName(v: string): string {
  return v.replace(/[^\x21-\x7e]|[= \]"]/g, '').slice(0, 32) || 'x';
}

/** Formats one RFC 5424 message (no framing). The MSG gets a UTF-8 BOM when it is not plain ASCII. */
export function formatRfc5424(m: SyslogMessage): string {
  const pri = FACILITIES.indexOf(m.facility) * 8 + SEVERITIES.indexOf(m.severity);
  const sd =
    m.structuredData && Object.keys(m.structuredData).length
      ? Object.entries(m.structuredData)
          .map(
            ([id, params]) =>
              `[${sdName(id)}${Object.entries(params)
                .map(([k, v]) => ` ${sdName(k)}="${String(v).replace(/[\\"\]]/g, (c) => `\\${c}`)}"`)
                .join('')}]`,
          )
          .join('')
      : '-';
  const msg = m.message
    ? ` ${![...m.message].some((c) => c.charCodeAt(0) > 0x7f) ? '' : '\ufeff'}${m.message}`
    : '';
  return `<${pri}>1 ${m.time.toISOString()} ${field(m.hostname, 255)} ${field(m.appName, 48)} ${field(m.procId, 128)} ${field(m.msgId, 32)} ${sd}${msg}`;
}

/** RFC 6587 octet-counting frame for stream transports: `LEN SP MSG`, LEN in bytes. */
export function frameOctetCounted(msg: string): Buffer {
  const body = Buffer.from(msg, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}
