/**
 * `version-observer cluster` (npm run cluster): starts the embedded local control plane,
 * prints how to reach it, and keeps it running until Ctrl-C, then cleans up everything.
 */
import { startCluster } from './cluster.ts';

export async function run(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log('usage: version-observer cluster\n\nStarts etcd, kube-apiserver, kube-controller-manager, the process kubelet and the\nservice proxy on loopback; prints the KUBECONFIG line; Ctrl-C stops and cleans up.');
    return;
  }
  const cluster = await startCluster();
  console.log(`\nThe local cluster is up (${cluster.server}). In another shell:\n`);
  console.log(`  export KUBECONFIG=${cluster.kubeconfigPath}`);
  console.log('  kubectl get nodes,pods -A\n');
  console.log('Ctrl-C stops it and removes every process and file it made.');
  await new Promise(() => {});
}
