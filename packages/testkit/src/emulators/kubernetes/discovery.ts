// Discovery documents in the shapes kubectl and client-node accept (APIVersions, APIGroupList,
// APIResourceList). Aggregated discovery (v2) is not offered: kubectl falls back to these.

export const VERSION_INFO = {
  major: '1',
  minor: '30',
  gitVersion: 'v1.30.0-modelport-fake',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.22.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export const API_VERSIONS = {
  kind: 'APIVersions',
  versions: ['v1'],
  serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }],
};

export const CORE_RESOURCE_LIST = { kind: 'APIResourceList', groupVersion: 'v1', resources: [] };

export const API_GROUP_LIST = {
  kind: 'APIGroupList',
  apiVersion: 'v1',
  groups: [
    {
      name: 'serving.kserve.io',
      versions: [{ groupVersion: 'serving.kserve.io/v1beta1', version: 'v1beta1' }],
      preferredVersion: { groupVersion: 'serving.kserve.io/v1beta1', version: 'v1beta1' },
    },
  ],
};

export const API_RESOURCE_LIST = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: 'serving.kserve.io/v1beta1',
  resources: [
    {
      name: 'inferenceservices',
      singularName: 'inferenceservice',
      namespaced: true,
      kind: 'InferenceService',
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update'],
      shortNames: ['isvc'],
      categories: ['all'],
    },
  ],
};
