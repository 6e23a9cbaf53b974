import { createHmac } from 'node:crypto';
import { request } from 'node:http';

export interface BlobAccount {
  /** Path-style service URL (azurite): `http://127.0.0.1:<port>/<account>`. */
  blobEndpoint: string;
  accountName: string;
  accountKey: string;
}

const VERSION = '2021-10-04';

/**
 * The few Blob REST calls the emulator itself makes (what the Azure ML backend does with the workspace's
 * storage): create the datastore's container, read a model, list and read batch inputs, write batch outputs.
 * Requests are signed with SharedKey as the storage SDK signs them (testkit does not depend on that SDK).
 */
export class BlobRest {
  constructor(private readonly account: BlobAccount) {}

  async createContainer(container: string): Promise<void> {
    const res = await this.call('PUT', `/${container}`, { restype: 'container' });
    if (res.status !== 201 && res.status !== 409) throw blobError('create container', container, res);
  }

  async get(container: string, path: string): Promise<Buffer | undefined> {
    const res = await this.call('GET', `/${container}/${encodePath(path)}`, {});
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw blobError('read', `${container}/${path}`, res);
    return res.body;
  }

  async put(container: string, path: string, body: Buffer, contentType: string): Promise<void> {
    const res = await this.call('PUT', `/${container}/${encodePath(path)}`, {}, body, {
      'content-type': contentType,
      'x-ms-blob-type': 'BlockBlob',
    });
    if (res.status !== 201) throw blobError('write', `${container}/${path}`, res);
  }

  /** Blob names under a prefix (one page is enough for test data). */
  async list(container: string, prefix: string): Promise<string[]> {
    const res = await this.call('GET', `/${container}`, {
      restype: 'container',
      comp: 'list',
      prefix,
      maxresults: '5000',
    });
    if (res.status !== 200) throw blobError('list', `${container}/${prefix}`, res);
    return [...res.body.toString('utf8').matchAll(/<Name>([^<]*)<\/Name>/g)].map((m) =>
      unescapeXml(m[1] ?? ''),
    );
  }

  private call(
    method: 'GET' | 'PUT',
    path: string,
    query: Record<string, string>,
    body: Buffer = Buffer.alloc(0),
    extra: Record<string, string> = {},
  ): Promise<{ status: number; body: Buffer }> {
    const base = new URL(this.account.blobEndpoint);
    const fullPath = `${base.pathname.replace(/\/$/, '')}${path}`;
    const headers: Record<string, string> = {
      'x-ms-date': new Date().toUTCString(),
      'x-ms-version': VERSION,
      ...extra,
    };
    if (method === 'PUT') headers['content-length'] = String(body.length);
    headers['authorization'] =
      `SharedKey ${this.account.accountName}:${this.sign(method, fullPath, query, headers)}`;
    const search = new URLSearchParams(query).toString();
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: base.hostname,
          port: base.port,
          method,
          path: `${fullPath}${search === '' ? '' : `?${search}`}`,
          headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode ?? 500, body: Buffer.concat(chunks) }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** SharedKey string-to-sign (versions since 2015-02-21): standard headers, x-ms-* headers, resource. */
  private sign(
    method: string,
    path: string,
    query: Record<string, string>,
    headers: Record<string, string>,
  ): string {
    const length = headers['content-length'];
    const standard = [
      method,
      '',
      '',
      length === undefined || length === '0' ? '' : length,
      '',
      headers['content-type'] ?? '',
      '',
      '',
      '',
      '',
      '',
      '',
    ];
    const msHeaders = Object.keys(headers)
      .filter((h) => h.startsWith('x-ms-'))
      .sort()
      .map((h) => `${h}:${headers[h]}\n`)
      .join('');
    const resource =
      `/${this.account.accountName}${path}` +
      Object.keys(query)
        .sort()
        .map((k) => `\n${k}:${query[k]}`)
        .join('');
    const toSign = `${standard.join('\n')}\n${msHeaders}${resource}`;
    return createHmac('sha256', Buffer.from(this.account.accountKey, 'base64'))
      .update(toSign, 'utf8')
      .digest('base64');
  }
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function blobError(what: string, name: string, res: { status: number; body: Buffer }): Error {
  return new Error(`blob ${what} ${name} failed: ${res.status} ${res.body.toString('utf8').slice(0, 300)}`);
}
