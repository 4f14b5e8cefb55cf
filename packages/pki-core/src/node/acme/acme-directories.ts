// The settings of the ACME directory an order goes through: the default `/acme/directory`, held
// to AcmeOptions' own identifier policy, profile and limits, or one of AcmeOptions.directories
// (`/acme/<name>/directory`), held to a provisioner policy (node/provisioners/provisioner-policy.ts):
// its names, its first profile, its maximum lifetime; with its own order lifetime and rate limit.
import { isPkiError } from '../../errors.ts';
import type { AcmeIdentifier } from '../../state/acme-events.ts';
import { checkProvisionerPolicy, type ProvisionerPolicy } from '../provisioners/provisioner-policy.ts';
import { checkIdentifierPolicy, type AcmeIdentifierPolicy } from './acme-identifiers.ts';
import { AcmeProblem } from './acme-problem.ts';

interface AcmeDirectoryOptions {
  policy: ProvisionerPolicy;
  /** How long a new order and its authorizations stay usable. */
  orderLifetimeMs: number;
  /** Orders one account may create per hour (RFC 8555 §6.6 rateLimited beyond), counted over every directory. */
  ordersPerHourMax: number;
}

/** The node's ACME settings: the default directory's, and the other directories by name. */
export interface AcmeOptions {
  /** How long a new order and its authorizations stay usable. */
  orderLifetimeMs: number;
  /** Lifetime of the certificates ACME issues. */
  certificateLifetimeSeconds: number;
  /** The certificate profile ACME issues with (its SAN rules and reserved names still apply). */
  profile: string;
  policy: AcmeIdentifierPolicy;
  /** Orders one account may create per hour (RFC 8555 §6.6 rateLimited beyond). */
  ordersPerHourMax: number;
  /** More directories by name (`/acme/<name>/directory`), each with its own policy and limits. */
  directories: Readonly<Record<string, AcmeDirectoryOptions>>;
}

export interface AcmeDirectorySettings {
  orderLifetimeMs: number;
  ordersPerHourMax: number;
  profile: string;
  certificateLifetimeSeconds: number;
  /** Refuses an identifier this directory does not issue for: `rejectedIdentifier` naming `field`. */
  checkIdentifier(identifier: AcmeIdentifier, field: string): void;
}

/** The settings of directory `name` (undefined: the default one); `malformed` 404 for a directory not served here. */
export function directorySettings(options: AcmeOptions, name: string | undefined): AcmeDirectorySettings {
  if (name === undefined) {
    return { ...options, checkIdentifier: (identifier, field) => checkIdentifierPolicy(identifier, options.policy, field) };
  }
  const directory = Object.hasOwn(options.directories, name) ? options.directories[name] : undefined;
  if (directory === undefined) throw new AcmeProblem('malformed', `ACME directory ${name} is not served by this node (acme.directories)`, { status: 404 });
  const { policy } = directory;
  const profile = policy.profiles[0]!;
  return {
    orderLifetimeMs: directory.orderLifetimeMs,
    ordersPerHourMax: directory.ordersPerHourMax,
    profile,
    certificateLifetimeSeconds: policy.maxLifetimeSeconds,
    checkIdentifier(identifier, field) {
      try {
        checkProvisionerPolicy(policy, { profile, sans: [identifier], lifetimeSeconds: policy.maxLifetimeSeconds });
      } catch (e) {
        if (!isPkiError(e, 'ERR_SAN_FORBIDDEN')) throw e;
        const rules = identifier.type === 'dns' ? policy.dnsSuffixes : policy.ipCidrs;
        throw new AcmeProblem('rejectedIdentifier', `${field}: ${identifier.value} is outside the policy of directory ${name} (allowed: ${rules.length === 0 ? 'none' : rules.join(', ')})`);
      }
    },
  };
}
