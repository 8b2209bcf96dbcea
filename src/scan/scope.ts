import { badRequest } from '../util/errors.ts';
import { formatAddress, parseAddress } from './target.parser.ts';

/** Whether a scope entry allows scanning or carves an exclusion out of what is allowed. */
export type ScopeKind = 'allow' | 'exclude';

/** A scope entry as the scanner uses it. */
export interface ScopeRule {
  cidr: string;
  kind: ScopeKind;
}

/** A parsed CIDR block: family and inclusive address bounds. */
export interface CidrBlock {
  cidr: string;
  family: 4 | 6;
  first: bigint;
  last: bigint;
}

/**
 * Parses and normalises a CIDR block (`198.18.0.0/15`, `fd00::/8`; a bare address means a single host).
 * Host bits are cleared, so `198.18.9.7/24` becomes `198.18.9.0/24`.
 */
export function parseCidr(text: string): CidrBlock {
  const trimmed = text.trim();
  const [addrText, prefixText, ...rest] = trimmed.split('/');
  const addr = parseAddress(addrText ?? '');
  if (!addr || rest.length > 0 || (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)))
    throw badRequest(
      `${JSON.stringify(text)} is not a CIDR block (ADDRESS/PREFIX, e.g. 198.18.0.0/24 or fd00::/64)`,
    );
  const bits = addr.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits)
    throw badRequest(`CIDR ${JSON.stringify(text)}: prefix /${prefix} is longer than ${bits} bits`);
  const size = 1n << BigInt(bits - prefix);
  const first = (addr.value / size) * size;
  return {
    cidr: `${formatAddress(addr.family, first)}/${prefix}`,
    family: addr.family,
    first,
    last: first + size - 1n,
  };
}

/** A compiled scope: answers "may this address be scanned?" */
export interface ScopeMatcher {
  allows(address: string): boolean;
  /** Why an address is refused, for error messages. */
  explain(address: string): string;
}

/**
 * Compiles scope rules. An address is in scope when it lies inside at least one `allow` block and inside
 * no `exclude` block. With no allow rules nothing is in scope (the default).
 */
export function compileScope(rules: readonly ScopeRule[]): ScopeMatcher {
  const allow = rules.filter((r) => r.kind === 'allow').map((r) => parseCidr(r.cidr));
  const exclude = rules.filter((r) => r.kind === 'exclude').map((r) => parseCidr(r.cidr));
  const inside = (blocks: CidrBlock[], family: 4 | 6, v: bigint) =>
    blocks.find((b) => b.family === family && v >= b.first && v <= b.last);
  return {
    allows(address) {
      const a = parseAddress(address);
      if (!a) return false;
      return (
        inside(allow, a.family, a.value) !== undefined && inside(exclude, a.family, a.value) === undefined
      );
    },
    explain(address) {
      const a = parseAddress(address);
      if (!a) return `${address} is not an IP address`;
      if (allow.length === 0) return 'no scan scope is configured (add one with `portcullis scope add CIDR`)';
      const ex = inside(exclude, a.family, a.value);
      if (ex) return `${address} is inside the excluded block ${ex.cidr}`;
      if (!inside(allow, a.family, a.value))
        return `${address} is outside every allowed scope (${allow.map((b) => b.cidr).join(', ')})`;
      return `${address} is in scope`;
    },
  };
}
