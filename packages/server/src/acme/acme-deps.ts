// What the ACME endpoints need: the API's dependencies (the node, routing, the logger), the
// `acme` configuration, and the challenge validator.
import type { ApiDeps } from '../api/deps.ts';
import type { NodeConfig } from '../config/load.ts';
import type { ChallengeValidator } from './challenge-validator.ts';

export interface AcmeDeps {
  api: ApiDeps;
  config: NodeConfig['acme'];
  validator: ChallengeValidator;
}
