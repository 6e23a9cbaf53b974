/**
 * Regions of the clouds that stand for the same place, as data. One row per place with exactly one
 * region per cloud, so a round trip (aws → gcp → azure → aws) comes back to the region it started from;
 * `also` lists other regions of a cloud that map to the row one way.
 */
interface RegionRow {
  aws: string;
  azure: string;
  gcp: string;
  place: string;
  also?: readonly string[];
}

const ROWS: readonly RegionRow[] = [
  { place: 'US East (Virginia)', aws: 'us-east-1', azure: 'eastus', gcp: 'us-east1', also: ['us-east4'] },
  { place: 'US East (Ohio)', aws: 'us-east-2', azure: 'eastus2', gcp: 'us-east5' },
  { place: 'US Central', aws: 'us-east-2', azure: 'centralus', gcp: 'us-central1' },
  { place: 'US West (Oregon)', aws: 'us-west-2', azure: 'westus2', gcp: 'us-west1', also: ['westus3'] },
  { place: 'US West (California)', aws: 'us-west-1', azure: 'westus', gcp: 'us-west2' },
  { place: 'Canada', aws: 'ca-central-1', azure: 'canadacentral', gcp: 'northamerica-northeast1' },
  { place: 'Brazil', aws: 'sa-east-1', azure: 'brazilsouth', gcp: 'southamerica-east1' },
  {
    place: 'Ireland / Benelux',
    aws: 'eu-west-1',
    azure: 'northeurope',
    gcp: 'europe-west1',
    also: ['westeurope', 'europe-west4'],
  },
  { place: 'London', aws: 'eu-west-2', azure: 'uksouth', gcp: 'europe-west2' },
  { place: 'Frankfurt', aws: 'eu-central-1', azure: 'germanywestcentral', gcp: 'europe-west3' },
  { place: 'Paris', aws: 'eu-west-3', azure: 'francecentral', gcp: 'europe-west9' },
  { place: 'Nordics', aws: 'eu-north-1', azure: 'swedencentral', gcp: 'europe-north1' },
  { place: 'Tokyo', aws: 'ap-northeast-1', azure: 'japaneast', gcp: 'asia-northeast1' },
  { place: 'Seoul', aws: 'ap-northeast-2', azure: 'koreacentral', gcp: 'asia-northeast3' },
  { place: 'Singapore', aws: 'ap-southeast-1', azure: 'southeastasia', gcp: 'asia-southeast1' },
  { place: 'Sydney', aws: 'ap-southeast-2', azure: 'australiaeast', gcp: 'australia-southeast1' },
  { place: 'Mumbai', aws: 'ap-south-1', azure: 'centralindia', gcp: 'asia-south1' },
];

type Cloud = 'aws' | 'azure' | 'gcp';
const CLOUDS: readonly string[] = ['aws', 'azure', 'gcp'];

/**
 * The region of `to` in the same place as `region` of `from`, with the place's name; undefined when the
 * table does not know the region or either provider is not one of the three clouds. The first row of a
 * region wins, so us-east-2 goes to Ohio's rows, never to US Central.
 */
export function equivalentRegion(
  from: string,
  region: string,
  to: string,
): { region: string; place: string } | undefined {
  if (!CLOUDS.includes(from) || !CLOUDS.includes(to)) return undefined;
  const row =
    ROWS.find((r) => r[from as Cloud] === region) ?? ROWS.find((r) => r.also?.includes(region) === true);
  return row === undefined ? undefined : { region: row[to as Cloud], place: row.place };
}
