/**
 * One stand-in for the AWS calls the functions make on their hot path (AWS JSON protocols):
 * SSM GetParameter over a map of names, SQS SendMessageBatch / SendMessage (with the body MD5 the
 * SDK checks), ChangeMessageVisibility(Batch), DeleteMessage(Batch), and DynamoDB PutItem (always
 * accepted: the ledger's record on ingest's hot path, for timing), and KMS GenerateDataKey / Decrypt of
 * the instance read model's data keys (a key decrypts only with the encryption context it was
 * generated with, as in KMS). It answers in-process (an SDK request
 * handler: every client middleware runs, only the network does not) or over HTTP on 127.0.0.1
 * (for code whose clients are built from AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL_SQS).
 * Semantics that matter (FIFO groups, receive counts, visibility) are tested against moto instead.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { readBody, rawServer, type RawServer } from './servers';

export const STAND_IN_REGION = 'us-east-1';
export const STAND_IN_ACCOUNT = '123456789012';

/** One AWS API call as the stand-in saw it: `SSM.GetParameter`, `SQS.SendMessageBatch`, ... */
export interface AwsCall {
  readonly service: string;
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

/** Answers one call with the output object (JSON), or throws an AwsFault. */
export type AwsResponder = (call: AwsCall) => Record<string, unknown>;

export class AwsFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

interface WireAnswer {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

export class AwsStandIn {
  /** The calls themselves, while `recordCalls` is on (off for timing: a growing log is GC work). */
  readonly calls: AwsCall[] = [];
  recordCalls = true;
  /** Parameter name -> value (SecureString when the name contains /instances/). */
  readonly parameters = new Map<string, string>();
  private readonly counts = new Map<string, number>();
  private sequence = 0;
  /** KMS data keys generated here: wrapped form (base64) -> the key and its encryption context. */
  private readonly dataKeys = new Map<string, { plaintext: Buffer; context: string }>();

  /** Calls answered so far, of one service (and operation). */
  count(service: string, operation?: string): number {
    let total = 0;
    for (const [key, value] of this.counts) {
      const [callService, callOperation] = key.split('.');
      if (callService === service && (operation === undefined || callOperation === operation)) total += value;
    }
    return total;
  }

  readonly respond: AwsResponder = (call) => {
    const key = `${call.service}.${call.operation}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.sequence += 1;
    if (this.recordCalls) this.calls.push(call);
    const { service, operation, input } = call;
    if (service === 'SSM' && operation === 'GetParameter') {
      const name = String(input.Name);
      const value = this.parameters.get(name);
      if (value === undefined) throw new AwsFault('ParameterNotFound', `Parameter ${name} not found.`);
      return {
        Parameter: {
          Name: name,
          Type: name.includes('/instances/') ? 'SecureString' : 'String',
          Value: value,
          Version: 1,
          LastModifiedDate: 1709294400,
          ARN: `arn:aws:ssm:${STAND_IN_REGION}:${STAND_IN_ACCOUNT}:parameter${name}`,
          DataType: 'text',
        },
      };
    }
    if (service === 'SQS' && operation === 'SendMessageBatch') {
      const entries = (input.Entries as Array<{ Id: string; MessageBody: string }>) ?? [];
      return {
        Successful: entries.map((entry, index) => ({
          Id: entry.Id,
          MessageId: `00000000-0000-4000-9000-${String(this.sequence * 10 + index).padStart(12, '0')}`,
          MD5OfMessageBody: createHash('md5').update(entry.MessageBody).digest('hex'),
          SequenceNumber: String(18_000_000_000_000_000_000 + this.sequence),
        })),
        Failed: [],
      };
    }
    if (service === 'SQS' && operation === 'SendMessage') {
      const body = String(input.MessageBody ?? '');
      return {
        MessageId: `00000000-0000-4000-a000-${String(this.sequence).padStart(12, '0')}`,
        MD5OfMessageBody: createHash('md5').update(body).digest('hex'),
      };
    }
    if (service === 'SQS' && (operation === 'ChangeMessageVisibility' || operation === 'DeleteMessage')) return {};
    if (service === 'SQS' && (operation === 'DeleteMessageBatch' || operation === 'ChangeMessageVisibilityBatch')) {
      const entries = (input.Entries as Array<{ Id: string }>) ?? [];
      return { Successful: entries.map((entry) => ({ Id: entry.Id })), Failed: [] };
    }
    // KMS (target prefix `TrentService`): blobs are base64 in JSON.
    if (service === 'TrentService' && operation === 'GenerateDataKey') {
      const plaintext = randomBytes(32);
      const wrapped = Buffer.concat([Buffer.from('stand-in-data-key:'), randomBytes(32)]).toString('base64');
      this.dataKeys.set(wrapped, { plaintext, context: JSON.stringify(input.EncryptionContext ?? {}) });
      return { KeyId: String(input.KeyId), Plaintext: plaintext.toString('base64'), CiphertextBlob: wrapped };
    }
    if (service === 'TrentService' && operation === 'Decrypt') {
      const key = this.dataKeys.get(String(input.CiphertextBlob));
      if (!key || key.context !== JSON.stringify(input.EncryptionContext ?? {})) throw new AwsFault('InvalidCiphertextException', 'not a data key of this stand-in');
      return { KeyId: 'stand-in-key', Plaintext: key.plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    }
    // Conditions are not evaluated: a timing stand-in for new events (conditions are tested on moto and dynalite).
    if (service === 'DynamoDB' && operation === 'PutItem') return {};
    throw new AwsFault('InvalidAction', `${service}.${operation} is not answered by the AWS stand-in`);
  };

  /** One call on the wire: `X-Amz-Target` and the JSON body in, the status, headers and JSON body out. */
  answer(target: string | undefined, text: string): WireAnswer {
    const [prefix = '', operation = ''] = (target ?? '').split('.');
    // `AmazonSQS`, `AmazonSSM`, `DynamoDB_20120810`: the service's name alone.
    const service = prefix.replace(/^Amazon/, '').replace(/_\d{8}$/, '') || 'unknown';
    const headers = {
      'content-type': service === 'SQS' || service === 'DynamoDB' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1',
      'x-amzn-requestid': 'stand-in-request',
    };
    try {
      const output = this.respond({ service, operation, input: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
      return { statusCode: 200, headers, body: Buffer.from(JSON.stringify(output)) };
    } catch (error) {
      const fault = error instanceof AwsFault ? error : new AwsFault('InternalError', String(error), 500);
      return {
        statusCode: fault.status,
        headers: { ...headers, 'x-amzn-errortype': fault.code },
        body: Buffer.from(JSON.stringify({ __type: fault.code, message: fault.message })),
      };
    }
  }

  /** Whether an HTTP request is an AWS JSON-protocol call (for servers that also play other parts). */
  static isAwsCall(request: http.IncomingMessage): boolean {
    return typeof request.headers['x-amz-target'] === 'string';
  }

  /** Answers an AWS JSON-protocol call that arrived over HTTP. */
  handleHttp(request: http.IncomingMessage, response: http.ServerResponse): void {
    void readBody(request).then((text) => {
      const answer = this.answer(request.headers['x-amz-target'] as string | undefined, text);
      response.writeHead(answer.statusCode, answer.headers).end(answer.body);
    });
  }

  /** Serves the stand-in on 127.0.0.1 (any free port); point AWS_ENDPOINT_URL_SSM/SQS at `origin`. */
  listen(): Promise<RawServer> {
    return rawServer((request, response) => this.handleHttp(request, response));
  }

  /** An SDK v3 request handler that answers in-process. */
  requestHandler(): InProcessRequestHandler {
    return new InProcessRequestHandler(this);
  }

  /** SDK client options that route every call of a client to the stand-in, in-process. */
  clientConfig() {
    return {
      region: STAND_IN_REGION,
      credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'stand-in-secret-not-real' },
      requestHandler: this.requestHandler(),
    };
  }
}

/** An AWS stand-in served over HTTP (origin, parameters, calls, close). */
export type ServedAwsStandIn = AwsStandIn & { readonly origin: string; close(): Promise<void> };

/** Starts an AwsStandIn on 127.0.0.1 (any free port). */
export async function startAwsStandIn(): Promise<ServedAwsStandIn> {
  const standIn = new AwsStandIn();
  const server = await standIn.listen();
  return Object.assign(standIn, { origin: server.origin, close: () => server.close() });
}

interface SdkHttpRequest {
  headers: Record<string, string>;
  body?: unknown;
}

const utf8 = new TextDecoder();

/** Implements the SDK's HttpHandler interface (handle + config hooks) without a socket. */
export class InProcessRequestHandler {
  constructor(private readonly standIn: AwsStandIn) {}

  async handle(request: SdkHttpRequest): Promise<{ response: WireAnswer }> {
    const target = request.headers['x-amz-target'] ?? request.headers['X-Amz-Target'];
    // The SDK's JSON body is a Uint8Array subclass; decode its bytes without calling its string methods.
    const text = typeof request.body === 'string' ? request.body : utf8.decode((request.body as Uint8Array | undefined) ?? new Uint8Array());
    return { response: this.standIn.answer(target, text) };
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, unknown> {
    return {};
  }

  destroy(): void {}
}
