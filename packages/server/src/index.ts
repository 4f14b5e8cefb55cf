// Public entry of @adrestia/server: run one node in a process of your own, as `adrestia-pki serve`
// does (cli/serve-command.ts): load and check a configuration, make the logger and metrics, serve,
// and stop on your own signal. The HTTP layer, mesh, routes and CLI are internals of this package.

// Configuration: JSON, YAML or TOML, with environment overrides; errors name the field.
export { ConfigError, loadConfig, type NodeConfig } from './config/load.ts';
// Logs and metrics handed to `serve`.
export { createLogger, type Logger, type LoggerOptions, type LogLevel } from './log/logger.ts';
export { createMetrics, type Metrics, type MetricsOptions } from './metrics/metrics.ts';
// The node's HTTP(S) listeners, mesh and PkiNode; `stop()` drains, releases the VIPs, closes storage.
export { serve, type ServeHandle, type ServeOptions } from './serve/runtime.ts';
// Expected failures of the server, with stable codes (PKI codes come from @adrestia/pki-core).
export { SERVER_ERROR_CODES, ServerError, isServerError, type ServerErrorCode } from './errors.ts';
