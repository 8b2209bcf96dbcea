// Runs the connect-scan engine once and prints the outcome as JSON on stdout. Tests start it with
// `ip netns exec NS node --import tsx …` so the scan leaves from inside a test namespace while the
// test process itself stays in the root namespace. Argument: JSON {hosts, ports, options}.
import { connectScan, type ConnectScanOptions, type ScanHost } from '../engine/connect-scan.ts';
import { parsePorts } from '../port.parser.ts';

interface Args {
  hosts: ScanHost[];
  ports: string;
  options?: ConnectScanOptions;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const out = await connectScan(args.hosts, parsePorts(args.ports), { ...args.options, keep: (s) => s !== 'closed' });
process.stdout.write(`${JSON.stringify({ ...out, closedCount: out.counts.closed })}\n`);
process.exit(0);
