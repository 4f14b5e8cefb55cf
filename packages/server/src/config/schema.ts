// The node configuration file's schema. Limits and durations carry their unit in their name.
// Secrets are NOT fields of this schema: only the paths of files that hold them are (secrets.ts).
import { LOG_LEVELS } from '../log/logger.ts';
import { checkDomainRule, isPkiError, validateProvisionerPolicy, type ProvisionerPolicy } from '@adrestia/pki-core';
import { arr, bool, cidr, int, ip, obj, oneOf, optional, str, uuid, type Spec, type SpecType } from './spec.ts';

const AZ_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A host name (RFC 1123 §2.1 labels) or an IP literal. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^[0-9a-fA-F:.]+$/;
const IFACE = /^[A-Za-z0-9_.:][A-Za-z0-9_.:@-]{0,14}$/;
const port = (fallback: number) => optional(int(0, 65535), fallback);
const filePath = () => optional(str({ what: 'a file path', maxLength: 4096 }));

const listener = (defaultPort: number) =>
  optional(obj({ host: optional(ip(), '0.0.0.0'), port: port(defaultPort) }), { host: '0.0.0.0', port: defaultPort });

/** `host:port` of a DNS server (IPv6 in brackets). */
const HOST_PORT = /^(?:[0-9.]+|\[[0-9a-fA-F:.]+\]):\d{1,5}$/;
/** A DNS suffix of the ACME identifier policy: a name, or '' for any. */
const DNS_SUFFIX = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)?$/;

/** A domain rule (pki-core ca/dns-name.ts): `a.example` admits that name, `.a.example` every name below it. */
function domainRule(): Spec<string> {
  return {
    kind: 'scalar',
    fromEnv: (raw) => raw,
    parse(value, path, issues) {
      const why = typeof value === 'string' ? checkDomainRule(value) : 'is not a string';
      if (why === null) return value as string;
      issues.push({ path, message: `not a domain rule: ${JSON.stringify(value)} ${why}` });
      return undefined;
    },
  };
}

/**
 * The names a new cluster's built-in profiles issue for unless `init` says otherwise: the names
 * RFC 2606 §2 and RFC 6761 §6 keep out of the public DNS, so a default cluster never signs a
 * public name (docs/architecture.md §16.2).
 */
const DEFAULT_ALLOWED_DOMAINS: readonly string[] = ['.test', '.example', 'localhost'];

/** ACME (RFC 8555) on the HTTPS port: challenge ports and resolver, identifier policy, limits (packages/server/src/acme/). */
/** An ACME directory's provisioner policy (pki-core node/provisioners/provisioner-policy.ts), checked by its own validator. */
function provisionerPolicy(): Spec<ProvisionerPolicy> {
  return {
    kind: 'scalar',
    fromEnv: (raw) => JSON.parse(raw) as unknown,
    parse(value, path, issues) {
      try {
        const policy = validateProvisionerPolicy(value, path);
        // ACME accounts are limited by ordersPerHourMax (node/acme/acme.ts); a bucket here would go unused.
        if (policy.rateLimit !== undefined) {
          issues.push({ path: `${path}.rateLimit`, message: 'an ACME directory limits orders with ordersPerHourMax, not a provisioner rateLimit' });
          return undefined;
        }
        return policy;
      } catch (e) {
        if (!isPkiError(e, 'ERR_INPUT_INVALID')) throw e;
        // validateProvisionerPolicy's messages read `<field>: <why>`, and the issue names the field itself.
        const field = e.field ?? path;
        issues.push({ path: field, message: e.message.startsWith(`${field}: `) ? e.message.slice(field.length + 2) : e.message });
        return undefined;
      }
    },
  };
}

/**
 * One more ACME directory at `/acme/<name>/directory` (RFC 8555 §7.1.1): its identifiers, profile
 * (the policy's first) and certificate lifetime (the policy's maximum) are its policy's; orders
 * and their rate limit are its own.
 */
const ACME_DIRECTORY_SPEC = obj({
  name: str({ pattern: /^[a-z][a-z0-9-]{0,31}$/, what: 'a directory name (a lower-case letter, then letters, digits, -)' }),
  policy: provisionerPolicy(),
  orderLifetimeSeconds: optional(int(1, 30 * 24 * 3600), 24 * 3600),
  ordersPerHourMax: optional(int(1, 1_000_000), 300),
  /** RFC 8555 §7.3.4: this directory makes accounts only with an external account binding. */
  externalAccountRequired: optional(bool(), false),
});

const ACME_SPEC = obj({
  /** Where http-01 validation connects (RFC 8555 §8.3: 80). */
  http01Port: port(80),
  /** Where tls-alpn-01 validation connects (RFC 8737 §3: 443). */
  tlsAlpn01Port: port(443),
  /** The DNS server validation asks (`host:port`); absent: the system's resolver. */
  resolver: optional(str({ pattern: HOST_PORT, what: 'host:port of a DNS server' })),
  /** Validate against loopback addresses (tests, closed networks); off in production. */
  allowLoopback: optional(bool(), false),
  /** Identifier policy: DNS names under these suffixes ('' = any) and IP identifiers in these CIDRs. */
  dnsSuffixes: optional(arr(str({ pattern: DNS_SUFFIX, what: 'a DNS suffix', maxLength: 253 }), 0, 256)),
  ipCidrs: optional(arr(cidr(), 0, 256)),
  ordersPerHourMax: optional(int(1, 1_000_000), 300),
  certificateLifetimeSeconds: optional(int(3600, 3 * 366 * 24 * 3600), 90 * 24 * 3600),
  profile: optional(str({ what: 'a profile name', maxLength: 128 }), 'serverLeaf'),
  termsOfService: optional(str({ what: 'a URL', maxLength: 2048 })),
  /** RFC 8555 §7.3.4: refuse accounts without an external account binding. */
  externalAccountRequired: optional(bool(), false),
  /** More directories, each with its own identifier policy (`/acme/<name>/directory`). */
  directories: optional(arr(ACME_DIRECTORY_SPEC, 0, 32), []),
});

const ACME_DEFAULTS = {
  http01Port: 80,
  tlsAlpn01Port: 443,
  resolver: undefined,
  allowLoopback: false,
  dnsSuffixes: undefined,
  ipCidrs: undefined,
  ordersPerHourMax: 300,
  certificateLifetimeSeconds: 90 * 24 * 3600,
  profile: 'serverLeaf',
  termsOfService: undefined,
  externalAccountRequired: false,
  directories: [],
};

const AZ_SPEC = obj({
  name: str({ pattern: AZ_NAME, what: 'an AZ name (lower-case letters, digits, -)' }),
  subnets: arr(cidr(), 1, 64),
  localVip: ip(),
});

export const CONFIG_SPEC = obj({
  /** pkiClusterVip / pkiGlobalVip: where discovery asks first (docs/spec.md §3.1.1). */
  clusterVip: ip(),
  /** Generated and persisted in dataDir when absent. */
  nodeId: optional(uuid()),
  az: str({ pattern: AZ_NAME, what: 'an AZ name (lower-case letters, digits, -)' }),
  dataDir: str({ what: 'a directory path' }),
  http: listener(80),
  https: listener(443),
  raft: optional(
    obj({
      host: optional(ip(), '0.0.0.0'),
      port: port(7480),
      tickMs: optional(int(1, 10_000), 100),
      heartbeatTicks: optional(int(1, 1_000), 1),
      electionTicks: optional(int(2, 10_000), 10),
      maxFrameBytes: optional(int(1024, 256 * 1024 * 1024), 4 * 1024 * 1024),
      /** Applied local entries between two local snapshots (each compacts the local log; docs/architecture.md §4.7). */
      snapshotEveryEntries: optional(int(16, 1_000_000_000), 10_000),
    }),
    { host: '0.0.0.0', port: 7480, tickMs: 100, heartbeatTicks: 1, electionTicks: 10, maxFrameBytes: 4 * 1024 * 1024, snapshotEveryEntries: 10_000 },
  ),
  /** The address peers and clients use to reach this node (required with a wildcard listener). */
  advertiseAddress: optional(str({ pattern: HOST, what: 'a host name or IP address', maxLength: 253 })),
  /** The AZs of the cluster, used when this node founds it. */
  azs: optional(arr(AZ_SPEC, 1, 64)),
  /**
   * Aging out dead nodes (pki-core node/aging/, docs/architecture.md §20): a node its AZ's local
   * leader has not heard from for this long is marked inactive in the cluster map (at least two
   * minutes: longer than the health checks' 60 s down-after silence)...
   */
  nodeInactiveAfterSeconds: optional(int(120, 10 * 366 * 24 * 3600), 24 * 3600),
  /** ... and after this long removed from its local group, its node TLS certificate and node ICA revoked. */
  nodeRemoveAfterSeconds: optional(int(180, 10 * 366 * 24 * 3600), 7 * 24 * 3600),
  /**
   * Used when this node founds the cluster (then fixed): the DNS names the built-in leaf
   * profiles issue for (domain rules; default DEFAULT_ALLOWED_DOMAINS), and the ranges their IP
   * SANs must lie in (default: loopback and the AZs' client subnets).
   */
  allowedDomains: optional(arr(domainRule(), 0, 256), [...DEFAULT_ALLOWED_DOMAINS]),
  allowedIpCidrs: optional(arr(cidr(), 0, 256)),
  pkiInitRetry: optional(int(0, 1_000), 3),
  pkiInitRequestRetry: optional(int(0, 1_000), 3),
  timeouts: optional(
    obj({
      initRequestMs: optional(int(1, 600_000), 2_000),
      requestMs: optional(int(1, 600_000), 30_000),
      headersMs: optional(int(1, 600_000), 10_000),
      keepAliveMs: optional(int(1, 600_000), 5_000),
      idleMs: optional(int(1, 600_000), 30_000),
      handshakeMs: optional(int(1, 600_000), 10_000),
      shutdownMs: optional(int(0, 600_000), 10_000),
    }),
    { initRequestMs: 2_000, requestMs: 30_000, headersMs: 10_000, keepAliveMs: 5_000, idleMs: 30_000, handshakeMs: 10_000, shutdownMs: 10_000 },
  ),
  limits: optional(
    obj({
      maxBodyBytes: optional(int(1, 64 * 1024 * 1024), 64 * 1024),
      maxHeaderBytes: optional(int(1024, 1024 * 1024), 16 * 1024),
      maxConnections: optional(int(1, 1_000_000), 1024),
      maxConnectionsPerSource: optional(int(1, 1_000_000), 64),
    }),
    { maxBodyBytes: 64 * 1024, maxHeaderBytes: 16 * 1024, maxConnections: 1024, maxConnectionsPerSource: 64 },
  ),
  vip: optional(
    obj({
      mode: optional(oneOf(['exec', 'bind', 'none'] as const), 'none'),
      /** exec mode: argv of a keepalived-style notify command. */
      command: optional(arr(str(), 1, 32)),
      interface: optional(str({ pattern: IFACE, what: 'an interface name' })),
      timeoutMs: optional(int(1, 600_000), 10_000),
    }),
    { mode: 'none', command: undefined, interface: undefined, timeoutMs: 10_000 },
  ),
  log: optional(obj({ level: optional(oneOf(LOG_LEVELS), 'info') }), { level: 'info' }),
  acme: optional(ACME_SPEC, ACME_DEFAULTS),
  /**
   * Signed checkpoints of the audit chains (pki-core node/audit/, docs/architecture.md §18): after
   * this long or this many commands; `retainEntriesMax`: history entries kept before each log's
   * latest checkpoint (absent: all, the history grows with every command).
   */
  audit: optional(
    obj({
      checkpointEverySeconds: optional(int(1, 7 * 24 * 3600), 300),
      checkpointEveryCommands: optional(int(1, 10_000_000), 1000),
      retainEntriesMax: optional(int(0, Number.MAX_SAFE_INTEGER)),
    }),
    { checkpointEverySeconds: 300, checkpointEveryCommands: 1000, retainEntriesMax: undefined },
  ),
  /**
   * Where /metrics is served: `https` (default) on the HTTPS listener, to the admin token's holder
   * only; `listener`: on a plain-HTTP listener of its own at host:port (bind it to a private
   * address: it asks for no credential). Never on the public HTTP port.
   */
  metrics: optional(
    obj({ serve: optional(oneOf(['https', 'listener'] as const), 'https'), host: optional(ip(), '127.0.0.1'), port: port(9464) }),
    { serve: 'https', host: '127.0.0.1', port: 9464 },
  ),
  authPskFile: filePath(),
  kekFile: filePath(),
  /** The KEK a rotation moves the state to, given ahead of `cluster rotate-kek` (docs/architecture.md §19.2). */
  nextKekFile: filePath(),
  adminTokenFile: filePath(),
  joinTokenFile: filePath(),
  joinTokenKeyFile: filePath(),
});

export type ConfigFile = SpecType<typeof CONFIG_SPEC>;
