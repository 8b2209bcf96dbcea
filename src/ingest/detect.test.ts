import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { detectFormat } from './detect.ts';
import { FORMAT_NAMES } from './formats.ts';
import type { FormatName } from './observation.ts';

const shared = new URL('../../../shared/fixtures/', import.meta.url);
const fixture = (path: string): Buffer => readFileSync(new URL(path, shared));

// Every file in the shared fixtures and what it is (from the fixtures' README files).
const FIXTURES: Record<string, FormatName | null> = {
  'real-tools/nmap-sT-sV.xml': 'nmap-xml',
  'real-tools/nmap-sT-allports.xml': 'nmap-xml',
  'real-tools/nmap-ipv6.xml': 'nmap-xml',
  'real-tools/nmap-host-down.xml': 'nmap-xml',
  'real-tools/nmap-udp.xml': 'nmap-xml',
  'real-tools/nmap-sT-sV.gnmap': 'nmap-grep',
  'real-tools/nmap-sT-sV.nmap': 'nmap-normal',
  'real-tools/nc-openbsd.txt': 'netcat',
  'real-tools/ncat.txt': 'netcat',
  'real-tools/session.pcap.gz': null,
  'real-tools/netflow-v5.bin.gz': null,
  'real-tools/netflow-v9.bin.gz': null,
  'real-tools/netflow-v10.bin.gz': null,
  'real-tools/netflow-v9.nfdump.csv.gz': null,
  'constructed/nmap-truncated.xml': 'nmap-xml',
  'constructed/stream-tcp.ndjson': 'stream',
  'constructed/stream-tcp-hec.json': 'stream',
  'constructed/stream-tcp-badline.ndjson': 'stream',
  'zeek/conn-basic.log': 'zeek-conn',
  'zeek/conn-ssh.log': 'zeek-conn',
  'zeek/var-services-std-ports.known_services-all.log': 'zeek-known-services',
  'zeek/var-services-std-ports.pcap': 'pcap',
};

// What the compressed fixtures are once decompressed (`portcullis ingest` inflates gzip first).
const INFLATED: Record<string, FormatName | null> = {
  'real-tools/netflow-v5.bin.gz': 'netflow',
  'real-tools/netflow-v9.bin.gz': 'netflow',
  'real-tools/netflow-v10.bin.gz': 'netflow',
  'real-tools/session.pcap.gz': 'pcap',
};

// Short samples of each format. Sources: nmap's and masscan's output code (masscan src/out-*.c),
// netcat/ncat messages, `ss -ltnu` (iproute2 6.1) and `netstat -ltnu` (net-tools 2.10) as printed on
// Debian 12, osquery's listening_ports schema and result-log shapes, Splunk Stream and Zeek docs.
const SAMPLES: Array<[FormatName | null, string]> = [
  [
    'nmap-xml',
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n<nmaprun scanner="nmap" start="1">',
  ],
  ['nmap-xml', '<nmaprun scanner="nmap"><host>'],
  ['nmap-grep', 'Host: 10.0.0.1 ()\tStatus: Up\n'],
  [
    'nmap-grep',
    'Host: 198.18.0.2 ()\tPorts: 2222/open/tcp//ssh//OpenSSH 9.2p1/\tIgnored State: closed (2)\n',
  ],
  [
    'nmap-grep',
    '# Nmap 7.93 scan initiated Tue Nov 24 14:18:05 2026 as: nmap -oG - 10.0.0.9\n# Nmap done at Tue Nov 24 14:18:41 2026 -- 1 IP address (0 hosts up) scanned in 3.02 seconds\n',
  ],
  [
    'nmap-grep',
    '# Masscan 1.3.2 scan initiated Tue Nov 24 14:18:41 2026\n# Ports scanned: TCP(1;80-80) UDP(0;) SCTP(0;) PROTOCOLS(0;)\nHost: 10.0.0.1 ()\tPorts: 80/open/tcp////\n',
  ],
  [
    'nmap-normal',
    '# Nmap 7.93 scan initiated Tue Nov 24 14:18:05 2026 as: nmap 10.0.0.1\nNmap scan report for 10.0.0.1\nHost is up.\n',
  ],
  ['nmap-normal', 'Nmap scan report for 10.0.0.1\nPORT   STATE SERVICE\n22/tcp open  ssh\n'],
  [
    'masscan-json',
    '[\n{   "ip": "192.0.2.1",   "timestamp": "1700000000", "ports": [ {"port": 80, "proto": "tcp", "status": "open", "reason": "syn-ack", "ttl": 64} ] }\n]\n',
  ],
  ['masscan-json', '{ "ip": "192.0.2.1", "timestamp": "1700000000", "ports": [ {"port": 80, "proto": "tcp"'],
  [
    'masscan-json',
    '{   ip: "192.0.2.1",   ports: [ {port: 443, proto: "tcp", status: "open", reason: "syn-ack", ttl: 48} ] },\n',
  ],
  [
    'masscan-json',
    '{"ip":"192.0.2.1","timestamp":"1700000000","port":80,"proto":"tcp","rec_type":"status","data":{"status":"open","reason":"syn-ack","ttl":64}}\n',
  ],
  ['masscan-list', '#masscan\nopen tcp 80 192.0.2.1 1700000000\n# end\n'],
  ['masscan-list', 'open tcp 80 1.2.3.4 1390953237\nbanner tcp 80 1.2.3.4 1390953237 http HTTP/1.0 200 OK\n'],
  ['netcat', 'Connection to 10.0.0.1 22 port [tcp/ssh] succeeded!\n'],
  ['netcat', 'Ncat: Version 7.93 ( https://nmap.org/ncat )\nNcat: Connected to 10.0.0.1:22.\n'],
  [
    'netcat',
    '(UNKNOWN) [10.100.0.1] 22 (ssh) open\n(UNKNOWN) [10.100.0.1] 23 (telnet) : Connection refused\n',
  ],
  ['stream', '{"dest_ip":"10.0.0.1","dest_port":22,"src_ip":"10.0.0.2","src_port":50000,"tcp_status":0}\n'],
  ['stream', '{"time":1700000000,"sourcetype":"stream:tcp","event":{"dest_ip":"10.0.0.1","dest_port":22}}'],
  ['zeek-conn', '#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n'],
  ['zeek-conn', '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n'],
  [
    'zeek-conn',
    '{"ts":1700000000.1,"uid":"C1","id.orig_h":"10.0.0.2","id.orig_p":50000,"id.resp_h":"10.0.0.1","id.resp_p":22,"proto":"tcp","conn_state":"SF","history":"ShADadFf"}\n',
  ],
  [
    'zeek-known-services',
    '#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tknown_services\n#fields\tts\thost\tport_num\tport_proto\tservice\n',
  ],
  [
    'zeek-known-services',
    '{"ts":1700000000.1,"host":"10.0.0.1","port_num":22,"port_proto":"tcp","service":["SSH"]}\n',
  ],
  [null, '#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n'],
  [
    'osquery',
    '[\n  {"address":"0.0.0.0","family":"2","fd":"3","net_namespace":"4026531840","path":"/usr/sbin/sshd","pid":"612","port":"22","protocol":"6","socket":"16011"}\n]\n',
  ],
  [
    'osquery',
    '{"name":"pack_ports_listening_ports","hostIdentifier":"web-1","unixTime":1795529921,"columns":{"address":"0.0.0.0","port":"22","protocol":"6","pid":"612"},"action":"added"}\n',
  ],
  [
    'ss',
    'Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\ntcp   LISTEN 0      128          0.0.0.0:2024      0.0.0.0:*          \n',
  ],
  [
    'ss',
    'State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\nLISTEN 0      128          0.0.0.0:2024      0.0.0.0:*          \n',
  ],
  [
    'ss',
    'udp   UNCONN 0      0          0.0.0.0:514      0.0.0.0:*\ntcp   LISTEN 0      4096          [::]:22         [::]:*\n',
  ],
  [
    'ss',
    'Active Internet connections (only servers)\nProto Recv-Q Send-Q Local Address           Foreign Address         State      \ntcp        0      0 0.0.0.0:2024            0.0.0.0:*               LISTEN     \n',
  ],
  [null, ''],
  [null, '   \n\n'],
  [null, '<html><body>hello</body></html>'],
  [null, '{"a": 1, "b": [1, 2, 3]}'],
  [null, 'just some words\nand more words\n'],
];

describe('detectFormat', () => {
  it('names every shared fixture correctly', () => {
    for (const [path, want] of Object.entries(FIXTURES)) {
      let buf = fixture(path);
      assert.equal(detectFormat(buf), want, path);
      // The decompressed captures are binary too.
      if (path.endsWith('.gz') && !path.endsWith('.csv.gz')) buf = gunzipSync(buf);
      if (path.endsWith('.gz'))
        assert.equal(detectFormat(buf), path in INFLATED ? INFLATED[path] : want, `${path} decompressed`);
    }
  });

  it('names the test data of every parser folder by its format', () => {
    const byExtension: Record<string, FormatName | null> = {
      xml: 'nmap-xml',
      gnmap: 'nmap-grep',
      nmap: 'nmap-normal',
      json: 'masscan-json',
      ndjson: 'masscan-json',
      list: 'masscan-list',
      md: null,
    };
    for (const folder of ['nmap', 'masscan']) {
      const dir = new URL(`./${folder}/testdata/`, import.meta.url);
      for (const name of readdirSync(dir)) {
        const want = byExtension[name.slice(name.lastIndexOf('.') + 1)];
        assert.equal(detectFormat(readFileSync(new URL(name, dir))), want, `${folder}/${name}`);
      }
    }
    // The other parsers' test data: every data file is of its folder's format.
    const folders: Array<[string, FormatName]> = [
      ['netcat', 'netcat'],
      ['stream', 'stream'],
      ['zeek', 'zeek-conn'],
      ['osquery', 'osquery'],
      ['ss', 'ss'],
    ];
    for (const [folder, fmt] of folders) {
      const dir = new URL(`./${folder}/testdata/`, import.meta.url);
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir).filter((n) => !/\.(md|py)$/.test(n))) {
        // Zeek's known_services log and the capture kept beside the conn.logs.
        const want = /known_services/.test(name)
          ? 'zeek-known-services'
          : /\.pcap$/.test(name)
            ? 'pcap'
            : fmt;
        assert.equal(detectFormat(readFileSync(new URL(name, dir))), want, `${folder}/${name}`);
      }
    }
    // `ss -ltnu` and `netstat -ltnu` printed by the real tools in a namespace with listeners.
    for (const name of ['ss-ltnu.txt', 'netstat-ltnu.txt']) {
      assert.equal(detectFormat(readFileSync(new URL(`./testdata/${name}`, import.meta.url))), 'ss', name);
    }
  });

  it('names short samples of each format', () => {
    for (const [want, text] of SAMPLES) {
      assert.equal(detectFormat(text), want, JSON.stringify(text.slice(0, 80)));
      assert.equal(
        detectFormat(Buffer.from(`\ufeff${text}`)),
        want,
        `with BOM: ${JSON.stringify(text.slice(0, 80))}`,
      );
    }
  });

  it('has samples of every text format', () => {
    const named = new Set(SAMPLES.map(([f]) => f).filter((f) => f !== null));
    // Binary formats are checked on the real files above.
    const text = FORMAT_NAMES.filter((f) => f !== 'netflow' && f !== 'pcap');
    assert.deepEqual([...named].sort(), [...text].sort());
  });

  it('never throws on arbitrary bytes or text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 4000 }).map((b) => Buffer.from(b)),
          fc.string({ maxLength: 2000 }),
        ),
        (input) => {
          const f = detectFormat(input);
          assert.ok(f === null || typeof f === 'string');
        },
      ),
      { numRuns: 500 },
    );
  });
});
