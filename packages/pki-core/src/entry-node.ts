// @adrestia/pki-core/node: what a server hosting a PkiNode needs beyond the main entry — the node's
// key files and CSRs (made before the node starts, e.g. by a test registering a node by hand), and
// the pieces of the node-to-node protocol it carries (events inside peer requests, error codes on
// the wire). Only what is used outside this package is listed here.

// Node keys: the file names under the data directory, key generation, the node's two CSRs.
export { NODE_ICA_KEY_FILE, NODE_TLS_KEY_FILE, generateNodeKeys, makeNodeCsrs } from './node/ca/ca-node-keys.ts';
// Peer protocol: a PKI event as a `proposeGlobal` request carries it, and a code read off the wire.
export { encodeEvent } from './state/event-codec.ts';
export { asPkiCode } from './node/core/event-proposer.ts';
// A cluster founded on an offline root: its first AZ ICA prepared, to be signed out of band.
export { prepareOfflineAzIntermediate } from './node/founding/ca-offline-root.ts';
// KEK rotation: how many sealed keys of the state a KEK opens (docs/architecture.md §19.2).
export { sealedKeysOpenedBy } from './node/kek/index.ts';
