// The node's HTTP (public) and HTTPS listeners, on its own address and, in `bind` VIP mode, on
// each VIP it holds (docs/architecture.md §6: holding a VIP = listening on it; on loopback any
// 127/8 address can be bound). VIP listeners wait until the node serves: a VIP is acquired during
// start-up. /metrics is served on the HTTPS listeners to the admin token's holder, or on a
// listener of its own (config `metrics`), never on the public HTTP port.
import type { IncomingMessage } from 'node:http';
import type { NodeConfig } from '../config/load.ts';
import { HttpServer, type HttpLimits } from '../http/server.ts';
import { Router } from '../http/router.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { NodeTlsMaterial } from '../peer/https-peer-client.ts';
import { createVipHook } from '../vip/factory.ts';
import type { VipHook } from '../vip/hook.ts';
import type { VipListener } from '../vip/bind-hook.ts';
import { addNodeRoutes } from '../api/node-routes.ts';
import { addPublicRoutes } from '../api/public-routes.ts';
import { addAdminRoutes } from '../api/admin-routes.ts';
import { addCaLifecycleRoutes } from '../api/ca-lifecycle-routes.ts';
import { addAuditRoutes } from '../api/audit-routes.ts';
import { addProvisionerRoutes } from '../api/provisioner-routes.ts';
import { addSecureRoutes } from '../api/secure-routes.ts';
import type { ApiDeps } from '../api/deps.ts';
import { addDashboardRoutes, type DashboardDeps } from '../dashboard/routes.ts';
import { addAcmeDirectories } from '../acme/acme-routes.ts';
import { ChallengeValidator } from '../acme/challenge-validator.ts';
import { requireAdmin } from '../api/auth.ts';

interface Serving {
  deps: ApiDeps;
  /** Replaced by `setTls` when the node renews its TLS certificate. */
  tls: NodeTlsMaterial;
  dashboard: DashboardDeps;
}

export class Listeners {
  private readonly main: HttpServer[] = [];
  private readonly vips = new Set<HttpServer>();
  /** The HTTPS listeners among `main` and `vips`: those `setTls` updates. */
  private readonly secure = new Set<HttpServer>();
  private serving: Serving | null = null;
  private readonly waiters: (() => void)[] = [];

  constructor(
    private readonly config: NodeConfig,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  vipHook(): VipHook {
    return createVipHook(this.config.vip, { logger: this.logger, metrics: this.metrics, listenerFactory: (address) => this.listenVip(address) });
  }

  async start(deps: ApiDeps, tls: NodeTlsMaterial, dashboard: DashboardDeps): Promise<void> {
    this.serving = { deps, tls, dashboard };
    const [http, https] = this.servers(this.serving);
    await http.listen(this.config.http.port, this.config.http.host);
    await https.listen(this.config.https.port, this.config.https.host);
    this.main.push(http, https);
    this.secure.add(https);
    if (this.config.metrics.serve === 'listener') {
      const metricsOnly = new HttpServer({ router: new Router(), logger: this.logger, metrics: this.metrics, exposeMetrics: true });
      await metricsOnly.listen(this.config.metrics.port, this.config.metrics.host);
      this.main.push(metricsOnly);
    }
    for (const w of this.waiters.splice(0)) w();
  }

  /** A renewed key and certificate of this node: every HTTPS listener serves them from now on. */
  setTls(tls: NodeTlsMaterial): void {
    if (this.serving === null) throw new Error('assertion failed: TLS renewed before the listeners started');
    this.serving.tls = tls;
    for (const server of this.secure) server.setTls(tls);
  }

  async closeMain(deadlineMs: number): Promise<void> {
    await Promise.all(this.main.map((s) => s.close(deadlineMs)));
  }

  async closeVips(): Promise<void> {
    await Promise.all([...this.vips].map((s) => s.close(1_000)));
  }

  private servers(s: Serving): [HttpServer, HttpServer] {
    const limits: HttpLimits = {
      maxBodyBytes: this.config.limits.maxBodyBytes,
      maxHeaderBytes: this.config.limits.maxHeaderBytes,
      requestTimeoutMs: this.config.timeouts.requestMs,
      headersTimeoutMs: this.config.timeouts.headersMs,
      keepAliveTimeoutMs: this.config.timeouts.keepAliveMs,
      idleTimeoutMs: this.config.timeouts.idleMs,
      handshakeTimeoutMs: this.config.timeouts.handshakeMs,
      maxConnections: this.config.limits.maxConnections,
      maxConnectionsPerSource: this.config.limits.maxConnectionsPerSource,
    };
    const common = { logger: this.logger, metrics: this.metrics, limits, readiness: () => s.deps.node.status().ready };
    const metricsOnHttps = { exposeMetrics: this.config.metrics.serve === 'https', authorizeMetrics: (req: IncomingMessage) => requireAdmin({ req }, s.deps.adminToken) };
    const publicRouter = addDashboardRoutes(addPublicRoutes(new Router(), s.deps), s.dashboard);
    const secureRouter = addDashboardRoutes(addNodeRoutes(addAuditRoutes(addProvisionerRoutes(addCaLifecycleRoutes(addAdminRoutes(addSecureRoutes(addPublicRoutes(new Router(), s.deps), s.deps), s.deps), s.deps), s.deps), s.deps), s.deps, () => s.tls.cert), s.dashboard);
    addAcmeDirectories(secureRouter, s.deps, this.config.acme, new ChallengeValidator(this.config.acme));
    return [
      new HttpServer({ ...common, router: publicRouter }),
      new HttpServer({ ...common, ...metricsOnHttps, router: secureRouter, tls: { key: s.tls.key, cert: s.tls.cert, ca: s.tls.ca, requestClientCert: true } }),
    ];
  }

  private async listenVip(address: string): Promise<VipListener> {
    if (this.serving === null) await new Promise<void>((resolve) => this.waiters.push(resolve));
    const [http, https] = this.servers(this.serving as Serving);
    await http.listen(this.config.http.port, address);
    try {
      await https.listen(this.config.https.port, address);
    } catch (err) {
      await http.close(0);
      throw err;
    }
    this.vips.add(http).add(https);
    // A VIP taken while the node renewed: serve the current material.
    https.setTls((this.serving as Serving).tls);
    this.secure.add(https);
    return {
      close: async () => {
        this.vips.delete(http);
        this.vips.delete(https);
        this.secure.delete(https);
        await Promise.all([http.close(1_000), https.close(1_000)]);
      },
    };
  }
}
