/**
 * A local HTTP server that answers the two AWS JSON-protocol calls the relay's functions make on
 * their hot path, for tests that run a handler module with its real SDK clients
 * (AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL_SQS pointed here): SSM GetParameter and SQS
 * SendMessageBatch (with the body MD5 the SDK checks). Other operations answer 400.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { closeServer, listenOnLoopback, LOOPBACK } from '../../local/servers';

export interface AwsCall {
  readonly service: string;
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

export interface AwsJsonStandIn {
  readonly origin: string;
  /** Parameter name -> value (SecureString when the name contains /instances/). */
  readonly parameters: Map<string, string>;
  readonly calls: AwsCall[];
  close(): Promise<void>;
}

export async function startAwsJsonStandIn(): Promise<AwsJsonStandIn> {
  const parameters = new Map<string, string>();
  const calls: AwsCall[] = [];
  let sequence = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const [prefix = '', operation = ''] = String(req.headers['x-amz-target'] ?? '').split('.');
      const service = prefix.replace(/^Amazon/, '');
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      calls.push({ service, operation, input });
      const contentType = service === 'SQS' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1';
      const answer = (status: number, body: unknown, errorType?: string): void => {
        res.writeHead(status, { 'content-type': contentType, ...(errorType ? { 'x-amzn-errortype': errorType } : {}) });
        res.end(JSON.stringify(body));
      };
      if (service === 'SSM' && operation === 'GetParameter') {
        const name = String(input.Name);
        const value = parameters.get(name);
        if (value === undefined) return answer(400, { __type: 'ParameterNotFound', message: `Parameter ${name} not found.` }, 'ParameterNotFound');
        const type = name.includes('/instances/') ? 'SecureString' : 'String';
        return answer(200, { Parameter: { Name: name, Type: type, Value: value, Version: 1, DataType: 'text' } });
      }
      if (service === 'SQS' && operation === 'SendMessageBatch') {
        const entries = (input.Entries as Array<{ Id: string; MessageBody: string }>) ?? [];
        return answer(200, {
          Successful: entries.map((entry) => ({
            Id: entry.Id,
            MessageId: `00000000-0000-4000-8000-${String(++sequence).padStart(12, '0')}`,
            MD5OfMessageBody: createHash('md5').update(entry.MessageBody).digest('hex'),
          })),
          Failed: [],
        });
      }
      return answer(400, { __type: 'InvalidAction', message: `${service}.${operation} is not answered here` }, 'InvalidAction');
    });
  });
  const port = await listenOnLoopback(server);
  return { origin: `http://${LOOPBACK}:${port}`, parameters, calls, close: () => closeServer(server, 0) };
}
