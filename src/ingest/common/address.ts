import ipaddr from 'ipaddr.js';

const CANONICAL_V4 = /^(?:(?:[1-9]\d{0,2}|0)\.){3}(?:[1-9]\d{0,2}|0)$/;

/**
 * The canonical text of an IP address — IPv4 dotted quad, IPv6 RFC 5952 (compressed, lowercase) —
 * or null if `text` is not an address. IPv4-mapped IPv6 (`::ffff:198.18.0.2`) becomes the IPv4
 * address; zone ids (`fe80::1%eth0`) and surrounding brackets are accepted and the brackets dropped.
 */
export function canonicalIp(text: string): string | null {
  // Fast path for the common case, a canonical dotted quad (no leading zeros, each part ≤ 255).
  if (CANONICAL_V4.test(text)) {
    let ok = true;
    for (const part of text.split('.')) if (part.length === 3 && part > '255') ok = false;
    if (ok) return text;
  }
  let s = text.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  let zone = '';
  const pct = s.indexOf('%');
  if (pct >= 0) {
    zone = s.slice(pct);
    s = s.slice(0, pct);
  }
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) return ipaddr.IPv4.parse(s).toString();
  if (!ipaddr.IPv6.isValid(s)) return null;
  const v6 = ipaddr.IPv6.parse(s);
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return v6.toRFC5952String() + zone;
}

/** A port number 0–65535 from a number or decimal string, or null. */
export function parsePort(value: unknown): number | null {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*\d{1,5}\s*$/.test(value)
        ? Number(value)
        : NaN;
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : null;
}
