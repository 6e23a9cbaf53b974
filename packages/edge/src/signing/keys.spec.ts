import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseSignature, signatureMatches } from '../app/signature-check.js';
import { generateSigningKeys, keyId, readPrivateKey, readPublicKey, signBytes } from './keys.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'modelport-keys-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('signing keys', () => {
  it('generates an ed25519 pair (private key 0600) and signs deterministically', async () => {
    const keys = await generateSigningKeys(work);
    expect((await stat(keys.privateKeyPath)).mode & 0o777).toBe(0o600);
    expect(await readFile(keys.publicKeyPath, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const privateKey = await readPrivateKey(keys.privateKeyPath);
    const publicKey = await readPublicKey(keys.publicKeyPath);
    expect(keyId(publicKey)).toBe(keys.keyId);
    const message = Buffer.from('{"files":[]}\n');
    const first = signBytes(privateKey, message);
    expect(signBytes(privateKey, message)).toEqual(first); // RFC 8032: same key, same bytes, same signature
    expect(first.keyId).toBe(keys.keyId);
    const parsed = parseSignature(Buffer.from(JSON.stringify(first)));
    expect(parsed).toEqual(first);
    expect(signatureMatches(publicKey, message, first)).toBe(true);
    expect(signatureMatches(publicKey, Buffer.from('{"files":[1]}\n'), first)).toBe(false);
  });

  it('never overwrites an existing key, and refuses keys that are not ed25519', async () => {
    await expect(generateSigningKeys(work)).rejects.toThrow(/already exists/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    await writeFile(join(work, 'rsa.key'), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await expect(readPrivateKey(join(work, 'rsa.key'))).rejects.toThrow(
      /rsa key; bundles are signed with ed25519/,
    );
    await writeFile(join(work, 'junk.pub'), 'not a key');
    await expect(readPublicKey(join(work, 'junk.pub'))).rejects.toThrow(/not a public key/);
    await expect(readPrivateKey(join(work, 'missing.key'))).rejects.toThrow(/cannot read the signing key/);
  });
});
