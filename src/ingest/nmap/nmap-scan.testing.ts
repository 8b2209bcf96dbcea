import fc from 'fast-check';
import { canonicalIp } from '../common/address.ts';

/** The states nmap writes for a port, in XML and greppable output alike. */
export const arbitraryPortState: fc.Arbitrary<string> = fc.constantFrom(
  'open',
  'closed',
  'filtered',
  'open|filtered',
  'closed|filtered',
  'unfiltered',
);

// What each state proves; the other states prove nothing either way.
const GRADE: Record<string, string | undefined> = {
  open: 'strong',
  closed: 'negative',
  'open|filtered': 'weak',
};

/** A generated scan: hosts with the ports nmap reported on them. */
export type GeneratedScan = Array<{
  addr: string;
  ports: Array<{ proto: string; port: number; state: string }>;
}>;

/** The `host proto/port grade` keys (see `gradedKeys`) a scan's output must give, sorted and deduplicated. */
export function expectedScanKeys(s: GeneratedScan): string[] {
  return [
    ...new Set(
      s.flatMap((h) =>
        h.ports
          .filter((p) => GRADE[p.state])
          .map((p) => `${canonicalIp(h.addr)} ${p.proto}/${p.port} ${GRADE[p.state]}`),
      ),
    ),
  ].sort();
}
