import { DeleteParameterCommand, GetParameterCommand, SSMClient, paginateGetParametersByPath } from '@aws-sdk/client-ssm';
import { INSTANCE_ID_PATTERN } from '../../core/instance';

/**
 * The Parameter Store calls the instance repository and the poller's checkpoint store share:
 * "not found" is an answer, not an error, and a listing yields only the parameters we wrote.
 */

// By name rather than instanceof: robust to several copies of the SDK in node_modules.
export const isParameterNotFound = (error: unknown): boolean => error instanceof Error && error.name === 'ParameterNotFound';

/** The parameter's value, or undefined when it does not exist. `decrypt` is sent only when given. */
export async function readParameter(client: SSMClient, name: string, decrypt?: boolean): Promise<string | undefined> {
  try {
    const result = await client.send(new GetParameterCommand(decrypt === undefined ? { Name: name } : { Name: name, WithDecryption: decrypt }));
    return result.Parameter?.Value;
  } catch (error) {
    if (isParameterNotFound(error)) return undefined;
    throw error;
  }
}

export async function deleteParameterIfExists(client: SSMClient, name: string): Promise<void> {
  try {
    await client.send(new DeleteParameterCommand({ Name: name }));
  } catch (error) {
    if (!isParameterNotFound(error)) throw error;
  }
}

export interface InstanceParameter {
  readonly id: string;
  /** The full parameter name, for messages. */
  readonly name: string;
  readonly value: string;
}

/**
 * Every parameter named `<base><instanceId>` (`base` ends with "/", e.g. `ssmInstanceName(prefix, '')`).
 * Anything else under the path was not written by us: it is left alone.
 */
export async function* parametersByInstanceId(
  client: SSMClient,
  base: string,
  options: { readonly recursive: boolean; readonly decrypt?: boolean },
): AsyncGenerator<InstanceParameter> {
  const path = base.replace(/\/$/, '');
  const input = options.decrypt === undefined
    ? { Path: path, Recursive: options.recursive }
    : { Path: path, Recursive: options.recursive, WithDecryption: options.decrypt };
  for await (const page of paginateGetParametersByPath({ client }, input)) {
    for (const parameter of page.Parameters ?? []) {
      const name = parameter.Name ?? '';
      const id = name.slice(base.length);
      if (!name.startsWith(base) || !INSTANCE_ID_PATTERN.test(id) || parameter.Value === undefined) continue;
      yield { id, name, value: parameter.Value };
    }
  }
}
