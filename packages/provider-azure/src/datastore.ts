import type { ContainerClient } from '@azure/storage-blob';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import type { AzureClients } from './client-factory.js';
import { call } from './errors.js';
import type { AzureSettings } from './settings.js';

const containers = new WeakMap<AzureClients, Map<string, Promise<ContainerClient>>>();

/**
 * The blob container behind the deployment's datastore (default `workspaceblobstore`), as Azure ML's own
 * SDK reaches it: the datastore says account and container; an account-key datastore gives its key through
 * listSecrets, an identity-based one is reached with the caller's own credential.
 */
export function datastoreContainer(clients: AzureClients, s: AzureSettings): Promise<ContainerClient> {
  let byStore = containers.get(clients);
  if (byStore === undefined) {
    byStore = new Map();
    containers.set(clients, byStore);
  }
  const key = `${s.resourceGroup}/${s.workspace}/${s.datastore}`;
  let found = byStore.get(key);
  if (found === undefined) {
    found = resolve(clients, s);
    byStore.set(key, found);
    found.catch(() => byStore?.delete(key));
  }
  return found;
}

async function resolve(clients: AzureClients, s: AzureSettings): Promise<ContainerClient> {
  const store = await call(`read datastore ${s.datastore}`, () =>
    clients.ml.datastores.get(s.resourceGroup, s.workspace, s.datastore),
  );
  const props = store.properties as {
    datastoreType?: string;
    accountName?: string;
    containerName?: string;
    endpoint?: string;
    protocol?: string;
    credentials?: { credentialsType?: string };
  };
  if (
    props.datastoreType !== 'AzureBlob' ||
    props.accountName === undefined ||
    props.containerName === undefined
  ) {
    throw new Error(`datastore ${s.datastore} is not an Azure Blob datastore`);
  }
  const url =
    clients.blobEndpoint ??
    `${props.protocol ?? 'https'}://${props.accountName}.blob.${props.endpoint ?? 'core.windows.net'}`;
  if (props.credentials?.credentialsType === 'AccountKey') {
    const secrets = (await call(`read the key of datastore ${s.datastore}`, () =>
      clients.ml.datastores.listSecrets(s.resourceGroup, s.workspace, s.datastore),
    )) as { key?: string };
    if (secrets.key !== undefined) {
      const credential = new StorageSharedKeyCredential(props.accountName, secrets.key);
      return new BlobServiceClient(url, credential).getContainerClient(props.containerName);
    }
  }
  return new BlobServiceClient(url, clients.credential).getContainerClient(props.containerName);
}

/** Deletes every blob under a prefix (a model version's folder, a job's data). */
export async function deletePrefix(container: ContainerClient, prefix: string): Promise<void> {
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix })) names.push(blob.name);
  await Promise.all(names.map((name) => container.deleteBlob(name, { deleteSnapshots: 'include' })));
}
