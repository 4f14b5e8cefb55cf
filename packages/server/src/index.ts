// Public entry of @adrestia/server: the server's foundations (errors, HTTP, config, logging,
// metrics, VIP hooks, node-to-node transport). The CLI and API routes build on these.
export {
  ERROR_CODES,
  HTTP_STATUS_BY_CODE,
  SERVER_ERROR_CODES,
  ServerError,
  isServerError,
  toErrorResponse,
  type ErrorBody,
  type ErrorCode,
  type ErrorResponse,
  type ServerErrorCode,
} from './errors.ts';

export { Router, type Handler, type HttpMethod, type RequestContext, type RouteMatch, type RouteOptions } from './http/router.ts';
export { HttpServer, DEFAULT_HTTP_LIMITS, type HttpLimits, type HttpServerOptions, type HttpsOptions } from './http/server.ts';
export { mediaType, pemToDer, readBody, readDerOrPem, readJson, requireMediaType } from './http/body.ts';
export { sendBytes, sendJson, sendRedirect } from './http/respond.ts';
export { normalizeRemoteAddr } from './http/remote-addr.ts';
export { sanUris, verifiedPeerCertificate } from './http/tls.ts';

export { createLogger, LOG_LEVELS, type Logger, type LoggerOptions, type LogLevel } from './log/logger.ts';
export { isSecretKey, REDACTED, sanitize } from './log/redact.ts';

export { countTransportEvents, createMetrics, type Metrics, type MetricsOptions } from './metrics/metrics.ts';

export { checkVip, NoneVipHook, type Vip, type VipHook } from './vip/hook.ts';
export { ExecVipHook, type ExecVipHookOptions } from './vip/exec-hook.ts';
export { BindVipHook, type VipListener, type VipListenerFactory } from './vip/bind-hook.ts';
export { instrumentVipHook } from './vip/instrumented.ts';
export { createVipHook, type VipHookSettings } from './vip/factory.ts';

export { MtlsMesh, type FrameHandler } from './transport/mesh.ts';
export { GroupTransport, type GroupTransportOptions } from './transport/group-transport.ts';
export { DEFAULT_MESH_LIMITS, type MtlsMeshOptions, type MtlsTlsMaterial, type PeerAddress, type TransportEvent } from './transport/types.ts';
export { checkPeer, DEFAULT_NODE_URI_PREFIX, localIdentity, nodeIdOf, spkiSha256, type LocalIdentity } from './transport/identity.ts';
export { encodeFrame, FrameDecoder, FRAME_HEADER_BYTES } from './transport/frame.ts';
export { backoffDelayMs, type BackoffOptions } from './transport/backoff.ts';

export { ConfigError, formatOf, loadConfig, parseConfigText, validateConfig, type ConfigFormat, type NodeConfig } from './config/load.ts';
export { CONFIG_SPEC, type AzConfig, type ConfigFile } from './config/schema.ts';
export { applyEnvOverrides, envName, ENV_PREFIX } from './config/env.ts';
export { Secret } from './config/secret.ts';
export { loadSecrets, readSecretFile, SECRET_DEFS, type Secrets } from './config/secrets.ts';
export { ensureNodeId, NODE_ID_FILE } from './config/node-id.ts';
export type { Issue } from './config/spec.ts';

// The server runtime: API routes over a PkiNodeApi, the `serve` assembly, the node-to-node peer
// client, and the dev cluster of real processes.
export { addPublicRoutes } from './api/public-routes.ts';
export { addAdminRoutes } from './api/admin-routes.ts';
export { addSecureRoutes } from './api/secure-routes.ts';
export { addNodeRoutes } from './api/node-routes.ts';
export { routeContextOf, routeRequest } from './api/route-guard.ts';
export type { ApiDeps } from './api/deps.ts';
export { serve, type ServeHandle, type ServeOptions } from './serve/runtime.ts';
export { bootstrapNode, type StartedNode, type StartInput } from './serve/start-node.ts';
export { HttpsPeerClient, type HttpsPeerClientOptions, type NodeTlsMaterial } from './peer/https-peer-client.ts';
export { BootstrapClient, type BootstrapOptions } from './peer/bootstrap-client.ts';
export { decodePeerRequest, decodePeerResponse, encodePeer, PEER_BODY_BYTES_MAX, PEER_PATH } from './peer/codec.ts';
export { httpCall, HttpCallError, type HttpCallOptions, type HttpCallResult } from './peer/http-request.ts';
export { startDevCluster, type DevCluster, type DevClusterOptions } from './dev/cluster.ts';
export { DEV_GLOBAL_VIP, DEV_PORTS, devAzs, devNodes, globalVipOf } from './dev/layout.ts';
