// The public HTTP base URLs certificates name for their issuer's CRL and certificate
// (issuer-urls.ts): an AZ's local VIP, from the replicated AZ record, or the cluster VIP for the
// root. Undefined while the public HTTP port is not known (certificates then carry no URLs).
import type { PkiStateQueries } from '../../state/queries.ts';
import type { NodeContext } from '../core/context.ts';
import { httpBaseUrl } from './issuer-urls.ts';

export class PublicBaseUrls {
  constructor(
    private readonly ctx: Pick<NodeContext, 'publicHttpPort' | 'globalVip'>,
    private readonly state: () => PkiStateQueries,
  ) {}

  /** AZ `az`'s public HTTP base URL (its local VIP, from the state), when the HTTP port is known. */
  async ofAz(az: string): Promise<string | undefined> {
    const port = this.ctx.publicHttpPort;
    const record = port === undefined ? undefined : await this.state().getAz(az);
    return record === undefined || port === undefined ? undefined : httpBaseUrl(record.localVip, port);
  }

  /** The cluster VIP's public HTTP base URL (the root's CRL is in every AZ), when known. */
  ofCluster(): string | undefined {
    const port = this.ctx.publicHttpPort;
    const vip = this.ctx.globalVip;
    return port === undefined || !vip ? undefined : httpBaseUrl(vip, port);
  }
}
