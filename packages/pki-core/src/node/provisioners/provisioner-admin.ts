// Admin operations on provisioners: add (a name, a public JWK and a policy, each validated as the
// log's decoder will), list, remove. Each change is a global event (every AZ enforces the same
// policy) committed before the answer.
import { PkiError, ignorePkiCode, isPkiError } from '../../errors.ts';
import type { PkiEvent } from '../../state/events.ts';
import { PROVISIONER_NAME } from '../../state/provisioner-codec.ts';
import type { ProvisionerSpec } from '../../state/provisioner-events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import { validateProvisionerPolicy } from './provisioner-policy.ts';
import { validateProvisionerJwk } from './provisioner-token.ts';

export interface ProvisionerView extends ProvisionerSpec {
  readonly addedBy: string;
  readonly addedAt: number;
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || !PROVISIONER_NAME.test(name)) {
    throw new PkiError('ERR_INPUT_INVALID', 'name: a provisioner name, 1..64 letters, digits, ., _ or -, starting with a letter or digit', { field: 'name' });
  }
  return name;
}

export class ProvisionerAdmin {
  constructor(
    private readonly nowMs: () => number,
    private readonly state: () => PkiStateQueries,
    private readonly commit: (event: PkiEvent) => Promise<unknown>,
  ) {}

  /** ERR_INPUT_INVALID naming the field at fault; ERR_ALREADY_EXISTS for a name in use. */
  async add(input: { name: unknown; publicKey: unknown; policy: unknown }, requestedBy: string): Promise<ProvisionerView> {
    const provisioner: ProvisionerSpec = {
      name: checkName(input.name),
      publicKey: validateProvisionerJwk(input.publicKey),
      policy: validateProvisionerPolicy(input.policy),
    };
    if ((await this.state().getProvisioner(provisioner.name)) !== undefined) {
      throw new PkiError('ERR_ALREADY_EXISTS', `provisioner ${provisioner.name} already exists: remove it first`, { field: 'name' });
    }
    const at = this.nowMs();
    await this.commit({ type: 'ProvisionerAdded', provisioner, requestedBy, at }).catch(async (e: unknown) => {
      // A retried commit (commitOk retries transient failures) may meet the first attempt's entry.
      const stored = isPkiError(e, 'ERR_ALREADY_EXISTS') ? await this.state().getProvisioner(provisioner.name) : undefined;
      if (stored?.addedAt !== at || stored.addedBy !== requestedBy) throw e;
    });
    return { ...provisioner, addedBy: requestedBy, addedAt: at };
  }

  async list(): Promise<ProvisionerView[]> {
    return (await this.state().provisioners()).map(({ name, publicKey, policy, addedBy, addedAt }) => ({ name, publicKey, policy, addedBy, addedAt }));
  }

  /** ERR_NOT_FOUND when there is no such provisioner. */
  async remove(name: string, requestedBy: string): Promise<void> {
    checkName(name);
    if ((await this.state().getProvisioner(name)) === undefined) throw new PkiError('ERR_NOT_FOUND', `no provisioner ${JSON.stringify(name)}`, { field: 'name' });
    // A retried commit that finds it gone was committed by the first attempt: the goal is reached.
    await this.commit({ type: 'ProvisionerRemoved', name, requestedBy, at: this.nowMs() }).catch((e: unknown) => ignorePkiCode(e, 'ERR_NOT_FOUND'));
  }
}
