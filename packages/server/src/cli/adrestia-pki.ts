// The `adrestia-pki` binary: `serve`, `dev`, and the client commands `status`, `issue`, `revoke`, `cluster`.
import { parseArgs } from './args.ts';
import { serveCommand, UsageError } from './serve-command.ts';

const USAGE = `usage: adrestia-pki <command> [options]
  serve  --config FILE [--init]        run one node (--init: it may found a new cluster)
  init   --config FILE                 found a new cluster with this node (serve --init)
  join   --config FILE                 run a node that joins the cluster its config names (serve)
  dev    [--azs 3] [--nodes 3] [--dir DIR]   a local cluster of real processes on loopback
  status [--url http://127.0.10.1:8080]      the cluster as a node sees it
  issue  --url https://VIP:8443 --ca ROOT.pem --token-file F --profile P --out PREFIX
         (--csr FILE | --cn NAME) [--san dns:x]...   write PREFIX.crt, PREFIX.chain.pem (and PREFIX.key 0600)
  revoke --url https://VIP:8443 --ca ROOT.pem --token-file F --serial HEX [--reason R]
  renew  --url https://VIP:8443 --ca ROOT.pem --cert PREFIX.chain.pem --key PREFIX.key --out NEWPREFIX
         a new local key; authenticated by the current certificate (mTLS); same profile and SANs
  cluster map|remove-node ID|set-profile NAME FILE|remove-profile NAME|token --az AZ [--ttl S] [--node ID]
  cluster az add NAME --subnets CIDR[,CIDR] --vip IP | az remove NAME
         --url https://VIP:8443 --ca ROOT.pem --token-file F   admin operations, answered once committed`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { options } = parseArgs(rest, ['init']);
  switch (command) {
    case 'serve':
      return serveCommand(options);
    case 'init':
      return serveCommand(new Map([...options, ['init', 'true']]));
    case 'join':
      if (options.has('init')) throw new UsageError('join: --init founds a cluster; use init');
      return serveCommand(options);
    case 'renew': {
      const { renewCommand } = await import('./renew-command.ts');
      return renewCommand(rest);
    }
    case 'dev': {
      const { devCommand } = await import('../dev/dev-command.ts');
      return devCommand(options);
    }
    case 'status':
    case 'issue':
    case 'revoke': {
      const client = await import('./client-commands.ts');
      return client.run(command, rest);
    }
    case 'cluster': {
      const { clusterCommand } = await import('./cluster-command.ts');
      return clusterCommand(rest);
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    const e = err as { code?: string; message?: string };
    process.stderr.write(`adrestia-pki: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
