import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ModelportError } from '@modelport/core';

import type { BundleSignature } from '../app/bundle-format.js';
import { keyIdOf } from '../app/signature-check.js';

export { keyIdOf as keyId } from '../app/signature-check.js';
export type { BundleSignature } from '../app/bundle-format.js';

export function parsePrivateKey(pem: string | Buffer, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new ModelportError('invalidInput', `${source} is not a private key in PEM form`, {
      cause: error,
      hint: 'create one with `modelport edge keygen --out <dir>`',
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ModelportError(
      'invalidInput',
      `${source} is a ${key.asymmetricKeyType ?? 'unknown'} key; bundles are signed with ed25519`,
      {
        hint: 'create one with `modelport edge keygen --out <dir>`',
      },
    );
  }
  return key;
}

export function parsePublicKey(pem: string | Buffer, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new ModelportError('invalidInput', `${source} is not a public key in PEM form`, { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ModelportError(
      'invalidInput',
      `${source} is a ${key.asymmetricKeyType ?? 'unknown'} key, not ed25519`,
    );
  }
  return key;
}

export async function readPrivateKey(path: string): Promise<KeyObject> {
  let pem: Buffer;
  try {
    pem = await readFile(path);
  } catch (error) {
    throw new ModelportError('notFound', `cannot read the signing key ${path}`, { cause: error });
  }
  return parsePrivateKey(pem, path);
}

export async function readPublicKey(path: string): Promise<KeyObject> {
  let pem: Buffer;
  try {
    pem = await readFile(path);
  } catch (error) {
    throw new ModelportError('notFound', `cannot read the public key ${path}`, { cause: error });
  }
  return parsePublicKey(pem, path);
}

export function publicKeyPem(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/** ed25519 (RFC 8032) is deterministic: the same key and bytes always give the same signature. */
export function signBytes(privateKey: KeyObject, bytes: Uint8Array): BundleSignature {
  return {
    algorithm: 'ed25519',
    keyId: keyIdOf(createPublicKey(privateKey)),
    signature: sign(null, bytes, privateKey).toString('base64'),
  };
}

export interface GeneratedKeys {
  privateKeyPath: string;
  publicKeyPath: string;
  keyId: string;
}

/** Writes a new ed25519 key pair: `<name>.key` (PKCS#8 PEM, mode 0600) and `<name>.pub` (SPKI PEM). */
export async function generateSigningKeys(dir: string, name = 'modelport-signing'): Promise<GeneratedKeys> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await mkdir(dir, { recursive: true });
  const privateKeyPath = join(dir, `${name}.key`);
  const publicKeyPath = join(dir, `${name}.pub`);
  try {
    // 'wx': never overwrite a key someone may already have distributed the public half of.
    await writeFile(privateKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      flag: 'wx',
      mode: 0o600,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ModelportError('conflict', `${privateKeyPath} already exists`, {
        hint: 'choose another --out folder, or remove the old key on purpose',
      });
    }
    throw error;
  }
  await chmod(privateKeyPath, 0o600);
  await writeFile(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKeyPath, publicKeyPath, keyId: keyIdOf(publicKey) };
}
