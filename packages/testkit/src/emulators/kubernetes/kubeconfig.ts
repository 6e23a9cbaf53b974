import { writeFile } from 'node:fs/promises';

/** A kubeconfig for the fake API server (token auth, plain HTTP): what kubectl and client-node read. */
export function kubeconfigYaml(
  server: string,
  token: string,
  namespace = 'default',
  context = 'fake',
): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${context}`,
    '  cluster:',
    `    server: ${server}`,
    // client-node 1.x refuses plain HTTP unless TLS verification is off for the cluster.
    '    insecure-skip-tls-verify: true',
    'users:',
    `- name: ${context}-user`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    `- name: ${context}`,
    '  context:',
    `    cluster: ${context}`,
    `    user: ${context}-user`,
    `    namespace: ${namespace}`,
    `current-context: ${context}`,
    '',
  ].join('\n');
}

export async function writeKubeconfig(
  path: string,
  server: string,
  token: string,
  namespace = 'default',
  context = 'fake',
): Promise<string> {
  await writeFile(path, kubeconfigYaml(server, token, namespace, context), { mode: 0o600 });
  return path;
}
