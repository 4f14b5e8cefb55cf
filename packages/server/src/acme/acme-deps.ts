// What the ACME endpoints of one directory need: the API's dependencies (the node, routing, the
// logger), the `acme` configuration, the directory's name and path, and the challenge validator.
import type { ApiDeps } from '../api/deps.ts';
import type { NodeConfig } from '../config/load.ts';
import type { ChallengeValidator } from './challenge-validator.ts';

export interface AcmeDeps {
  api: ApiDeps;
  /** The directory these routes serve: null for `/acme/directory`, else a name of `acme.directories`. */
  directory: string | null;
  /** `/acme`, or `/acme/<directory>`: where its URLs live. */
  prefix: string;
  config: NodeConfig['acme'];
  validator: ChallengeValidator;
}
