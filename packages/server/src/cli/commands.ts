// Every `adrestia-pki` command and subcommand: its options, positional arguments and usage lines,
// declared once for the parser and the usage texts (args.ts, usage-text.ts). The implementations
// are imported when their command runs, so `--help` and usage errors load none of them.
import { requiredOption, type CommandGroup, type LeafCommand, type OptionSpecs, type ParsedArgs } from './args.ts';
import { DEV_AZS_MAX, DEV_BASE_MAX, DEV_NODES_PER_AZ_MAX } from '../dev/layout.ts';
import { LOG_LEVELS } from '../log/logger.ts';

type Run = (args: ParsedArgs) => Promise<number>;

const FROM: OptionSpecs = { from: { type: 'string', value: 'ADDRESS', help: 'the local address to send from' } };

/** Where the cluster answers over HTTPS and the root it is trusted by. */
const CLUSTER_HTTPS: OptionSpecs = {
  url: { type: 'string', value: 'https://VIP:8443', required: true, help: "the cluster's HTTPS address" },
  ca: { type: 'string', value: 'ROOT.pem', required: true, help: 'the cluster root certificate; HTTPS trust is pinned to it' },
};

/** `issue`, `revoke` and every `cluster` subcommand: the cluster, and the token they present. */
const ADMIN_ACCESS: OptionSpecs = {
  ...CLUSTER_HTTPS,
  'token-file': { type: 'string', value: 'F', required: true, help: 'a file holding the API bearer token' },
};

function serveAs(mayFoundCluster: boolean): Run {
  return async (args) => (await import('./serve-command.ts')).serveCommand({ configPath: requiredOption(args, 'config'), mayFoundCluster });
}

const CONFIG: OptionSpecs = { config: { type: 'string', value: 'FILE', required: true, help: "the node's configuration file: JSON, YAML or TOML" } };

const serve: LeafCommand = {
  summary: 'run one node until SIGTERM/SIGINT (--init: it may found a new cluster)',
  options: { ...CONFIG, init: { type: 'boolean', help: 'this node may found a new cluster when discovery finds none (one node of a new cluster)' } },
  run: async (args) => serveAs(args.switches.has('init'))(args),
};

const dev: LeafCommand = {
  summary: 'a local cluster of real serve processes on loopback (AZ n on 127.n.0.0/16); Ctrl-C stops it',
  options: {
    azs: { type: 'string', value: 'N', default: '3', help: `how many AZs, 1..${DEV_AZS_MAX}` },
    nodes: { type: 'string', value: 'N', default: '3', help: `nodes per AZ, 1..${DEV_NODES_PER_AZ_MAX}` },
    dir: { type: 'string', value: 'DIR', help: 'where configs, data and logs go (a new temporary directory when not given)' },
    base: { type: 'string', value: 'B', default: '0', help: `put AZ n on 127.(B+n).0.0/16 and the global VIP on 127.B.10.1; 0..${DEV_BASE_MAX}` },
    'log-level': { type: 'string', value: 'LEVEL', default: 'info', help: `the nodes' log level: ${LOG_LEVELS.join(', ')}` },
    'join-tokens': { type: 'boolean', help: 'joiners register with a join token minted for each (and hold no PSK)' },
    'acme-http01-port': { type: 'string', value: 'PORT', help: 'the port ACME http-01 validation connects to (default 80)' },
    'acme-tls-alpn01-port': { type: 'string', value: 'PORT', help: 'the port ACME tls-alpn-01 validation connects to (default 443)' },
    'acme-resolver': { type: 'string', value: 'HOST:PORT', help: 'the DNS server ACME validation asks (default: the system resolver)' },
  },
  run: async (args) => (await import('../dev/dev-command.ts')).devCommand(args),
};

function client(command: 'status' | 'issue' | 'revoke'): Run {
  return async (args) => (await import('./client-commands.ts')).run(command, args);
}

const status: LeafCommand = {
  summary: "the cluster map and each AZ's local leader, as the cluster serves them",
  options: { url: { type: 'string', value: 'URL', default: 'http://127.0.10.1:8080', help: "a node's or a VIP's HTTP address" }, ...FROM },
  run: client('status'),
};

const issue: LeafCommand = {
  summary: 'issue a certificate: write PREFIX.crt, PREFIX.chain.pem (and PREFIX.key 0600)',
  options: {
    ...ADMIN_ACCESS,
    'token-file': { type: 'string', value: 'F', help: 'a file holding the admin bearer token (or give --token)' },
    token: { type: 'string', value: 'FILE|-', help: "a provisioner's one-time token (JWT) instead of the admin token, from FILE or stdin (-)" },
    profile: { type: 'string', value: 'P', required: true, help: 'the certificate profile' },
    out: { type: 'string', value: 'PREFIX', required: true, help: 'the files to write: PREFIX.crt, PREFIX.chain.pem, PREFIX.key' },
    csr: { type: 'string', value: 'FILE', help: 'send this CSR (else --cn: a new P-256 key is made here and never leaves this machine)' },
    cn: { type: 'string', value: 'NAME', help: 'the subject CN of the key made here (required without --csr)' },
    san: { type: 'string', value: 'dns:x', multiple: true, help: 'a subject alternative name: dns:, ip:, uri:, email: or a bare name' },
    lifetime: { type: 'string', value: 'N[s|m|h|d]', help: "the certificate's lifetime (seconds unless a unit is given; the profile's default when not given)" },
    ...FROM,
  },
  run: client('issue'),
};

const revoke: LeafCommand = {
  summary: 'revoke a certificate by serial number',
  options: {
    ...ADMIN_ACCESS,
    serial: { type: 'string', value: 'HEX', required: true, help: "the certificate's serial number in hex" },
    reason: { type: 'string', value: 'R', help: 'an RFC 5280 §5.3.1 reason name, e.g. keyCompromise, superseded (unspecified when not given)' },
    ...FROM,
  },
  run: client('revoke'),
};

const renew: LeafCommand = {
  summary: 'a new local key; authenticated by the current certificate (mTLS); same profile and SANs',
  options: {
    ...CLUSTER_HTTPS,
    cert: { type: 'string', value: 'PREFIX.chain.pem', required: true, help: 'the current certificate chain, as issue wrote it' },
    key: { type: 'string', value: 'PREFIX.key', required: true, help: "the current certificate's private key" },
    out: { type: 'string', value: 'NEWPREFIX', help: 'write NEWPREFIX.key (0600), NEWPREFIX.crt and NEWPREFIX.chain.pem (else --key and --cert are replaced)' },
    daemon: { type: 'boolean', help: 'keep renewing at 2/3 of each lifetime (less a jitter) until SIGTERM; SIGHUP renews at once' },
    exec: { type: 'string', value: 'CMD', help: 'after each renewal, run CMD with /bin/sh (ADRESTIA_CERT, ADRESTIA_KEY, ADRESTIA_SERIAL set)' },
    'pid-file': { type: 'string', value: 'F', help: 'after each renewal, signal the process whose id F holds' },
    signal: { type: 'string', value: 'SIG', help: 'the signal for --pid-file (default HUP)' },
    ...FROM,
  },
  run: async (args) => (await import('./renew-command.ts')).renewCommand(args),
};

const needsRenewal: LeafCommand = {
  summary: 'exit 0 if the certificate is past 2/3 of its lifetime (due for renewal), 1 if not (systemd ExecCondition=)',
  options: {},
  positionals: ['CERT'],
  run: async (args) => (await import('./needs-renewal-command.ts')).needsRenewalCommand(args),
};

/** Admin subcommands whose implementations `load` imports when one runs. */
function adminCommands<M>(load: () => Promise<M>) {
  return (summary: string, pick: (m: M) => Run, extra: { options?: OptionSpecs; positionals?: readonly string[] } = {}): LeafCommand => ({
    summary,
    options: { ...extra.options, ...ADMIN_ACCESS, ...FROM },
    ...(extra.positionals === undefined ? {} : { positionals: extra.positionals }),
    run: async (args) => pick(await load())(args),
  });
}

const admin = adminCommands(() => import('./cluster-command.ts'));
const lifecycle = adminCommands(() => import('./ca-lifecycle-command.ts'));
const provisionerCommand = adminCommands(() => import('./provisioner-command.ts'));

const cluster: CommandGroup = {
  summary: 'admin operations over HTTPS with the admin token, answered once committed',
  subcommands: {
    map: admin('print the cluster map as JSON', (m) => m.clusterMap),
    'remove-node': admin('remove a node from the cluster and revoke its certificates', (m) => m.removeNode, { positionals: ['ID'] }),
    'set-profile': admin('create or replace the certificate profile NAME from a JSON FILE', (m) => m.setProfile, { positionals: ['NAME', 'FILE'] }),
    'remove-profile': admin('remove the certificate profile NAME', (m) => m.removeProfile, { positionals: ['NAME'] }),
    'rotate-root': lifecycle('roll the root over: a new root, cross certificates both ways, AZ ICAs re-issued under it; prints them', (m) => m.rotateRoot, {
      options: {
        subject: { type: 'string', value: 'DN', help: 'the new root\'s subject, RFC 4514 (default "CN=Adrestia Root CA G<n>,OU=<cluster id>")' },
        pending: { type: 'string', value: 'FILE', help: 'offline root: where the rollover to sign is written (and FILE.tbs, the certificate to sign); with --signed, read back' },
        signed: { type: 'string', value: 'SIG', help: "offline root: the offline root's signature over FILE.tbs; completes the rollover in --pending" },
      },
    }),
    'rotate-kek': lifecycle('re-seal every wrapped key of the state under a new KEK, in one committed event', (m) => m.rotateKek, {
      options: {
        'old-kek': { type: 'string', value: 'FILE', required: true, help: 'the KEK the state is under now (mode 0600 or 0400)' },
        'new-kek': { type: 'string', value: 'FILE', required: true, help: 'the KEK to move to, already on every node as nextKekFile (mode 0600 or 0400)' },
      },
    }),
    backup: {
      summary: "write a backup of the cluster (every AZ's state, read at a linearizable point) to FILE, 0600",
      options: { out: { type: 'string', value: 'FILE', required: true, help: 'the backup file to write' }, ...ADMIN_ACCESS, ...FROM },
      run: async (args) => (await import('./backup-command.ts')).backupCommand(args),
    },
    restore: {
      summary: "run this node founding a new cluster (or its AZ, when the cluster is back) from a backup FILE; KEK and PSK from --config, as for init",
      options: CONFIG,
      positionals: ['FILE'],
      run: async (args) => (await import('./serve-command.ts')).serveCommand({ configPath: requiredOption(args, 'config'), mayFoundCluster: true, restorePath: args.positionals[0]! }),
    },
    token: admin('mint a join token for a node of an AZ (only the token goes to stdout)', (m) => m.joinToken, {
      options: {
        az: { type: 'string', value: 'AZ', required: true, help: 'the AZ the new node joins' },
        ttl: { type: 'string', value: 'S', help: "how long the token is valid, in seconds (the cluster's default when not given)" },
        node: { type: 'string', value: 'ID', help: 'the node ID the token is bound to' },
      },
    }),
    provisioner: {
      summary: 'issuing credentials narrower than the admin token: a key whose one-time tokens issue within a policy',
      subcommands: {
        add: provisionerCommand('add provisioner NAME: its public key, the names, profiles and lifetime it may issue, and its rate limits', (m) => m.addProvisioner, {
          positionals: ['NAME'],
          options: {
            key: { type: 'string', value: 'FILE', required: true, help: "the provisioner's public key: PEM or JWK, ES256 (P-256) or EdDSA (Ed25519)" },
            dns: { type: 'string', value: 'RULE', multiple: true, help: 'DNS names it may issue: a.example (that name), .a.example (every name below it)' },
            ip: { type: 'string', value: 'CIDR', multiple: true, help: 'an IP range its IP SANs must lie in' },
            uri: { type: 'string', value: 'PREFIX', multiple: true, help: 'a prefix its URI SANs must start with, e.g. spiffe://prod.example/' },
            profile: { type: 'string', value: 'P', multiple: true, help: 'a certificate profile it may issue under (at least one)' },
            'max-lifetime': { type: 'string', value: 'N[s|m|h|d]', required: true, help: 'the longest lifetime it may issue' },
            'rate-limit': { type: 'string', value: 'BURST,N/s|N/h', help: 'issuances with its tokens, whoever asks: at most BURST at once, N more a second or an hour (429 beyond); renewals of its certificates count apart, on each AZ\'s share' },
            'identity-rate-limit': { type: 'string', value: 'BURST,N/s|N/h', help: "issuances per requester (the token's subject; for a renewal, the certificate's CN), as --rate-limit" },
          },
        }),
        list: provisionerCommand('print the provisioners as JSON', (m) => m.listProvisioners),
        remove: provisionerCommand('remove provisioner NAME: its tokens issue nothing more', (m) => m.removeProvisioner, { positionals: ['NAME'] }),
      },
    },
    az: {
      summary: 'declare, decommission or re-found an AZ',
      subcommands: {
        add: admin('declare an AZ ahead of its nodes (its first node founds it)', (m) => m.addAz, {
          positionals: ['NAME'],
          options: {
            subnets: { type: 'string', value: 'CIDR[,CIDR]', required: true, help: "the AZ's subnets, comma-separated" },
            vip: { type: 'string', value: 'IP', required: true, help: "the AZ's local VIP" },
          },
        }),
        remove: admin('decommission an AZ: withdraw its nodes and revoke its AZ intermediate', (m) => m.removeAz, { positionals: ['NAME'] }),
        refound: admin('rebuild an AZ whose nodes are all gone (ask another AZ): its seat and nodes withdrawn, a new AZ intermediate; its next fresh node founds it', (m) => m.refoundAz, {
          positionals: ['NAME'],
          options: { force: { type: 'boolean', help: 'even if a node or the seat of the AZ seems to answer (only when they are gone for good)' } },
        }),
      },
    },
    acme: {
      summary: 'ACME server administration',
      subcommands: {
        eab: admin('issue an ACME external account binding key (prints KEY-ID HMAC-KEY)', (m) => m.acmeEab),
      },
    },
  },
};

const audit: CommandGroup = {
  summary: 'the tamper-evident history of the logs (hash chains and signed checkpoints)',
  subcommands: {
    verify: {
      summary: "recompute the node's audit chains (global, its AZ's local log) from genesis and check every signed checkpoint; exit 1 at the first divergence",
      options: { ...ADMIN_ACCESS, ...FROM },
      run: async (args) => (await import('./audit-command.ts')).verifyCommand(args),
    },
  },
};

const provisioner: CommandGroup = {
  summary: "a provisioner's side: mint one-time tokens with its private key",
  subcommands: {
    token: {
      summary: 'print a one-time token bound to a CN and SANs, signed with the provisioner key (for issue --token -)',
      options: {
        key: { type: 'string', value: 'KEY.pem', required: true, help: "the provisioner's private key (P-256 or Ed25519), mode 0600 or 0400" },
        name: { type: 'string', value: 'NAME', required: true, help: "the provisioner's name (the token's iss)" },
        'cluster-id': { type: 'string', value: 'ID', required: true, help: "the cluster's id (the token's aud)" },
        cn: { type: 'string', value: 'NAME', required: true, help: 'the subject CN the token is bound to' },
        san: { type: 'string', value: 'dns:x', multiple: true, help: 'a SAN the token is bound to: dns:, ip: or uri:' },
        ttl: { type: 'string', value: 'S', default: '300', help: 'seconds the token is valid, 1..600' },
      },
      run: async (args) => (await import('./provisioner-command.ts')).mintToken(args),
    },
  },
};

export const ADRESTIA_PKI: CommandGroup = {
  summary: 'a Raft-replicated certificate authority: run nodes, issue, renew and revoke certificates, administer the cluster',
  subcommands: {
    serve,
    init: { summary: 'found a new cluster with this node (serve --init)', options: CONFIG, run: serveAs(true) },
    join: { summary: 'run a node that joins the cluster its config names (serve)', options: CONFIG, run: serveAs(false) },
    dev,
    status,
    issue,
    revoke,
    renew,
    'needs-renewal': needsRenewal,
    cluster,
    audit,
    provisioner,
  },
};
