// DNS name syntax for dNSName SANs and policy domains: RFC 1035 §2.3.1 "preferred name syntax"
// as relaxed by RFC 1123 §2.1 (labels may start with a digit), in the form RFC 5280 §4.2.1.6
// requires (no trailing dot; internationalized names as A-labels, §7.2). A wildcard is accepted
// only as the whole leftmost label (RFC 6125 §6.4.3 as narrowed by CA/B BR §7.1.4.2.1); whether a
// profile allows one at all is policy, not syntax.

/** RFC 1035 §2.3.4. */
const dnsNameMaxChars = 253;
const dnsLabelMaxChars = 63;

const ldhLabelRe = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export type DnsNameCheck = { readonly ok: true; readonly name: string; readonly wildcard: boolean } | { readonly ok: false; readonly reason: string };

/** Checks `text` as a DNS name and returns its canonical (lower-case) form. */
export function checkDnsName(text: string, options: { allowWildcardLabel: boolean }): DnsNameCheck {
  if (text.length === 0) return { ok: false, reason: 'is empty' };
  if (text.length > dnsNameMaxChars) return { ok: false, reason: `is longer than ${dnsNameMaxChars} characters` };
  if (!/^[\x21-\x7e]+$/.test(text)) return { ok: false, reason: 'has characters outside printable ASCII (use A-labels)' };
  const name = text.toLowerCase();
  const labels = name.split('.');
  let wildcard = false;
  for (const [i, label] of labels.entries()) {
    if (label === '*' && i === 0 && options.allowWildcardLabel) {
      wildcard = true;
      continue;
    }
    if (label.includes('*')) return { ok: false, reason: 'has a wildcard that is not the whole leftmost label' };
    if (label.length === 0) return { ok: false, reason: 'has an empty label' };
    if (label.length > dnsLabelMaxChars) return { ok: false, reason: `has a label longer than ${dnsLabelMaxChars} characters` };
    if (!ldhLabelRe.test(label)) return { ok: false, reason: `label ${JSON.stringify(label)} is not letters, digits and inner hyphens` };
  }
  // RFC 1123 §2.1: a top-level label is never all-numeric, so a dotted quad is never a host name.
  if (/^\d+$/.test(labels[labels.length - 1]!)) return { ok: false, reason: 'ends in an all-numeric label (an IP address is an ip SAN)' };
  // A wildcard directly over a single label (`*.com`, `*.local`) would cover a whole TLD.
  if (wildcard && labels.length < 3) return { ok: false, reason: 'has a wildcard over fewer than two labels' };
  return { ok: true, name, wildcard };
}

/**
 * Whether `name` (canonical, possibly `*.`-prefixed) is covered by a domain rule: `example.com`
 * admits exactly that name; `.example.com` admits every name strictly below it (the RFC 5280
 * §4.2.1.10 convention for URI and email constraints).
 */
export function domainRuleMatches(rule: string, name: string): boolean {
  if (rule.startsWith('.')) return name.endsWith(rule) && name.length > rule.length;
  return name === rule;
}

/** Checks a policy domain rule: a DNS name, optionally with one leading dot. */
export function checkDomainRule(rule: string): string | null {
  const bare = rule.startsWith('.') ? rule.slice(1) : rule;
  const check = checkDnsName(bare, { allowWildcardLabel: false });
  if (!check.ok) return check.reason;
  return rule === rule.toLowerCase() ? null : 'must be lower case';
}
