/** Instance documents as the CLI stores them, for tests: fresh, valid, with overrides for what the test is about. */
import { CONFIG_KEYS, type ConfigValue, type InstanceDocument } from '../functions/core/instance';

export interface InstanceDocumentOptions {
  readonly storeId?: string;
  readonly callbackUrl?: string;
  readonly enabled?: boolean | string;
  /** The Ecwid app client_secret (verifies X-Ecwid-Webhook-Signature). */
  readonly clientSecret?: string;
  readonly name?: string;
  readonly tags?: readonly string[];
  /** Any other configuration keys (they win over the options above). */
  readonly configuration?: Readonly<Record<string, ConfigValue>>;
}

/** An instance document shaped like the Open Connectors instance JSON (docs/instances.md, "The instance document"). */
export function instanceDocument(opts: InstanceDocumentOptions = {}): InstanceDocument {
  const configuration: Record<string, ConfigValue> = {
    [CONFIG_KEYS.orderKey]: 'test-order-key',
    [CONFIG_KEYS.productKey]: 'test-product-key',
    [CONFIG_KEYS.storeId]: opts.storeId ?? '1003',
    [CONFIG_KEYS.enabled]: opts.enabled ?? 'true',
    [CONFIG_KEYS.callbackUrl]: opts.callbackUrl ?? 'https://callback.example.com/ecwid',
    ...(opts.clientSecret === undefined ? {} : { [CONFIG_KEYS.clientSecret]: opts.clientSecret }),
    ...opts.configuration,
  };
  return {
    element: { key: 'ecwid' },
    configuration,
    tags: [...(opts.tags ?? ['test'])],
    name: opts.name ?? 'test instance',
  };
}
