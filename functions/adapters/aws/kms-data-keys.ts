/**
 * Envelope encryption for the instance read model: each document is sealed with AES-256-GCM under
 * a data key; the data key is stored beside it only in its KMS-wrapped form. A reader unwraps a
 * data key once (one kms:Decrypt) and keeps it for `maxAgeMs`, so KMS calls depend on the number
 * of Lambda environments and data keys, never on the number of events or stores.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { READ_MODEL } from '../../contract';
import { ReadThroughCache } from '../../core/read-through-cache';
import { errorText } from '../../core/ports';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export interface DataKey {
  readonly plaintext: Buffer;
  /** The KMS ciphertext of the key (stored with every item it sealed). */
  readonly wrapped: Uint8Array;
}

export interface KmsDataKeysOptions {
  readonly client: KMSClient;
  /** The key that wraps new data keys. Needed only to generate them (the sync function). */
  readonly keyId?: string;
  /**
   * How long an unwrapped data key is kept before KMS is asked again (so that a key disabled or a
   * grant revoked in KMS takes effect within this time).
   * @default 1 hour
   */
  readonly maxAgeMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** KMS could not unwrap or generate a data key. */
export class DataKeyUnavailableError extends Error {
  override readonly name = 'DataKeyUnavailableError';
}

export class KmsDataKeys {
  private readonly client: KMSClient;
  private readonly keyId: string | undefined;
  private readonly unwrapped: ReadThroughCache<Buffer>;
  /** KMS calls made, for benchmarks. */
  readonly calls = { decrypt: 0, generate: 0 };

  constructor(options: KmsDataKeysOptions) {
    this.client = options.client;
    this.keyId = options.keyId;
    const maxAgeMs = options.maxAgeMs ?? 3_600_000;
    this.unwrapped = new ReadThroughCache<Buffer>({
      maxAgeMs,
      notFoundMaxAgeMs: 0,
      // A KMS hiccup does not stop reads: a key unwrapped within the last 15 minutes past its age is still used.
      staleOnErrorMs: 900_000,
      errorBackoffMs: 5_000,
      // Only a handful of data keys exist at a time (one, two during a rotation).
      maxEntries: 16,
      now: options.now ?? (() => Date.now()),
    });
  }

  /** The plaintext of a wrapped data key (one kms:Decrypt per key per `maxAgeMs`, shared by concurrent callers). */
  async unwrap(wrapped: Uint8Array): Promise<Buffer> {
    const cacheKey = Buffer.from(wrapped).toString('base64');
    const key = await this.unwrapped.get(cacheKey, async () => {
      this.calls.decrypt++;
      try {
        const { Plaintext } = await this.client.send(
          new DecryptCommand({ CiphertextBlob: wrapped, EncryptionContext: { ...READ_MODEL.encryptionContext } }),
        );
        if (!Plaintext || Plaintext.length !== KEY_BYTES) throw new Error('KMS returned no 256-bit key');
        return Buffer.from(Plaintext);
      } catch (error) {
        throw new DataKeyUnavailableError(`KMS Decrypt of a read-model data key failed (${errorText(error)})`, { cause: error });
      }
    });
    if (!key) throw new DataKeyUnavailableError('KMS Decrypt of a read-model data key returned nothing');
    return key;
  }

  /** A new data key under `keyId`; its plaintext is also cached for unwrap(). */
  async generate(): Promise<DataKey> {
    if (!this.keyId) throw new DataKeyUnavailableError('no KMS key is configured to generate read-model data keys');
    this.calls.generate++;
    try {
      const { Plaintext, CiphertextBlob } = await this.client.send(
        new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: { ...READ_MODEL.encryptionContext } }),
      );
      if (!Plaintext || !CiphertextBlob || Plaintext.length !== KEY_BYTES) throw new Error('KMS returned no 256-bit key');
      const plaintext = Buffer.from(Plaintext);
      this.unwrapped.prime(Buffer.from(CiphertextBlob).toString('base64'), plaintext);
      return { plaintext, wrapped: CiphertextBlob };
    } catch (error) {
      throw new DataKeyUnavailableError(`KMS GenerateDataKey for the read model failed (${errorText(error)})`, { cause: error });
    }
  }
}

/**
 * AES-256-GCM: `iv (12) | tag (16) | ciphertext`. `context` is authenticated, not stored: a sealed
 * document opens only under the same context (the item it belongs to), so documents cannot be
 * swapped between items.
 */
export function seal(key: Buffer, plaintext: Buffer, context: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** Opens what seal() sealed; throws when the key, the context or a byte differs. */
export function open(key: Buffer, sealed: Uint8Array, context: string): Buffer {
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (bytes.length < IV_BYTES + TAG_BYTES) throw new Error('sealed value is too short');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}
