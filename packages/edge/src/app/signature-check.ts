import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';

import type { BundleSignature } from './bundle-format.js';

export function keyIdOf(publicKey: KeyObject): string {
  return `sha256:${createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')}`;
}

export function publicKeyFromPem(pem: string | Buffer): KeyObject | undefined {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === 'ed25519' ? key : undefined;
  } catch {
    return undefined;
  }
}

export function parseSignature(bytes: Uint8Array): BundleSignature | undefined {
  try {
    const value = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<BundleSignature>;
    if (
      value.algorithm !== 'ed25519' ||
      typeof value.keyId !== 'string' ||
      typeof value.signature !== 'string'
    ) {
      return undefined;
    }
    return { algorithm: value.algorithm, keyId: value.keyId, signature: value.signature };
  } catch {
    return undefined;
  }
}

export function signatureMatches(
  publicKey: KeyObject,
  bytes: Uint8Array,
  signature: BundleSignature,
): boolean {
  try {
    return verify(null, bytes, publicKey, Buffer.from(signature.signature, 'base64'));
  } catch {
    return false;
  }
}
