import { randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DataKeyUnavailableError, KmsDataKeys, open, seal } from '../../../functions/adapters/aws/kms-data-keys';

const kms = mockClient(KMSClient);
const CONTEXT = { 'ecwid-events:purpose': 'instance-read-model' };
const KEY = randomBytes(32);
const WRAPPED = Uint8Array.from([1, 2, 3, 4]);

beforeEach(() => kms.reset());

describe('seal / open', () => {
  test('round-trips, and refuses another context, another key or a changed byte', () => {
    const sealed = seal(KEY, Buffer.from('{"secret":"s3cr3t"}'), 'item-a');
    expect(sealed.toString('utf8')).not.toContain('s3cr3t');
    expect(open(KEY, sealed, 'item-a').toString()).toBe('{"secret":"s3cr3t"}');
    expect(() => open(KEY, sealed, 'item-b')).toThrow();
    expect(() => open(randomBytes(32), sealed, 'item-a')).toThrow();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] ^= 1;
    expect(() => open(KEY, tampered, 'item-a')).toThrow();
  });

  test('two seals of the same text differ (random IV)', () => {
    expect(seal(KEY, Buffer.from('x'), 'c').equals(seal(KEY, Buffer.from('x'), 'c'))).toBe(false);
  });
});

describe('KmsDataKeys', () => {
  test('unwrap: one kms:Decrypt with the read model context for many concurrent callers, cached for maxAgeMs', async () => {
    kms.on(DecryptCommand).resolves({ Plaintext: KEY });
    const clock = { now: 0 };
    const keys = new KmsDataKeys({ client: new KMSClient({ region: 'us-east-1' }), maxAgeMs: 60_000, now: () => clock.now });
    const answers = await Promise.all(Array.from({ length: 20 }, () => keys.unwrap(WRAPPED)));
    expect(answers.every((key) => key.equals(KEY))).toBe(true);
    expect(kms).toHaveReceivedCommandTimes(DecryptCommand, 1);
    expect(kms).toHaveReceivedCommandWith(DecryptCommand, { CiphertextBlob: WRAPPED, EncryptionContext: CONTEXT });
    clock.now = 60_000;
    await keys.unwrap(WRAPPED);
    expect(kms).toHaveReceivedCommandTimes(DecryptCommand, 2);
    expect(keys.calls.decrypt).toBe(2);
  });

  test('a KMS failure is a DataKeyUnavailableError naming the AWS error; a key unwrapped before keeps serving for a while', async () => {
    const clock = { now: 0 };
    const keys = new KmsDataKeys({ client: new KMSClient({ region: 'us-east-1' }), maxAgeMs: 60_000, now: () => clock.now });
    kms.on(DecryptCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const error = await keys.unwrap(WRAPPED).catch((e: Error) => e);
    expect(error).toBeInstanceOf(DataKeyUnavailableError);
    expect((error as Error).message).toBe('KMS Decrypt of a read-model data key failed (ThrottlingException: Rate exceeded)');
    kms.on(DecryptCommand).resolves({ Plaintext: KEY });
    await keys.unwrap(WRAPPED);
    kms.on(DecryptCommand).rejects(new Error('KMS down'));
    clock.now = 61_000;
    await expect(keys.unwrap(WRAPPED)).resolves.toEqual(KEY);
  });

  test('generate: GenerateDataKey AES_256 under the key id with the context; its plaintext then unwraps without KMS', async () => {
    kms.on(GenerateDataKeyCommand).resolves({ Plaintext: KEY, CiphertextBlob: WRAPPED });
    const keys = new KmsDataKeys({ client: new KMSClient({ region: 'us-east-1' }), keyId: 'arn:aws:kms:us-east-1:1:key/k' });
    const created = await keys.generate();
    expect(created.plaintext.equals(KEY)).toBe(true);
    expect(kms).toHaveReceivedCommandWith(GenerateDataKeyCommand, { KeyId: 'arn:aws:kms:us-east-1:1:key/k', KeySpec: 'AES_256', EncryptionContext: CONTEXT });
    await expect(keys.unwrap(WRAPPED)).resolves.toEqual(KEY);
    expect(kms).toHaveReceivedCommandTimes(DecryptCommand, 0);
  });

  test('generate without a key id says so', async () => {
    const keys = new KmsDataKeys({ client: new KMSClient({ region: 'us-east-1' }) });
    await expect(keys.generate()).rejects.toThrow('no KMS key is configured to generate read-model data keys');
  });
});
