// The node's ACME options (pki-core node/acme/acme.ts AcmeOptions) from the `acme` configuration.
import { DEFAULT_ACME_OPTIONS, type AcmeOptions } from '@adrestia/pki-core';
import type { NodeConfig } from '../config/load.ts';

export function acmeOptionsOf(config: NodeConfig['acme']): AcmeOptions {
  return {
    ...DEFAULT_ACME_OPTIONS,
    certificateLifetimeSeconds: config.certificateLifetimeSeconds,
    profile: config.profile,
    ordersPerHourMax: config.ordersPerHourMax,
    policy: {
      dnsSuffixes: config.dnsSuffixes ?? DEFAULT_ACME_OPTIONS.policy.dnsSuffixes,
      ipCidrs: config.ipCidrs ?? DEFAULT_ACME_OPTIONS.policy.ipCidrs,
    },
    directories: Object.fromEntries(
      config.directories.map((d) => [d.name, { policy: d.policy, orderLifetimeMs: d.orderLifetimeSeconds * 1000, ordersPerHourMax: d.ordersPerHourMax }]),
    ),
  };
}
