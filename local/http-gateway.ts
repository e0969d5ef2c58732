import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
} from 'aws-lambda';
import { INGEST_ROUTE, INSTANCE_ID_PARAMETER, INSTANCE_INGEST_ROUTE } from '../functions/contract';

/**
 * A stand-in for the stack's API Gateway HTTP API: turns HTTP requests into payload format 2.0
 * events for the ingest handler and its results back into HTTP responses, with the stack's
 * routes and API Gateway's own answers for everything the handler never sees.
 */

export type IngestHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;

/** The stack's routes (one Lambda integration behind both); the route is letters and slashes only. */
export const ROUTES = [
  { routeKey: `POST ${INGEST_ROUTE}`, method: 'POST', pattern: new RegExp(`^${INGEST_ROUTE}$`), parameter: undefined },
  {
    routeKey: `POST ${INSTANCE_INGEST_ROUTE}`,
    method: 'POST',
    pattern: new RegExp(`^${INGEST_ROUTE}/([^/]+)$`),
    parameter: INSTANCE_ID_PARAMETER,
  },
] as const;

/** API Gateway HTTP API's fixed payload quota; ingest enforces its own, smaller limit. */
export const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** API Gateway's integration timeout: past it the client gets a 503 whatever the function does. */
export const API_GATEWAY_INTEGRATION_TIMEOUT_MS = 30_000;

/**
 * Content types API Gateway passes as text; every other body (a missing Content-Type and
 * application/x-www-form-urlencoded included, so ION posts) arrives base64-encoded
 * with isBase64Encoded: true. Observed behaviour of HTTP APIs, not a documented list.
 */
const TEXT_CONTENT_TYPE = /^\s*(text\/[^;\s]+|application\/(json|xml|javascript))\s*(;.*)?$/i;

export type RouteMatch =
  | { readonly kind: 'route'; readonly routeKey: string; readonly pathParameters?: Record<string, string> }
  | { readonly kind: 'method-not-allowed' }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'bad-request' };

/** Which route a request takes, as API Gateway would decide it (path parameters URL-decoded). */
export function matchRoute(method: string, rawPath: string): RouteMatch {
  for (const route of ROUTES) {
    const match = route.pattern.exec(rawPath);
    if (!match) continue;
    if (method !== route.method) return { kind: 'method-not-allowed' };
    if (route.parameter === undefined) return { kind: 'route', routeKey: route.routeKey };
    let value: string;
    try {
      value = decodeURIComponent(match[1]);
    } catch {
      return { kind: 'bad-request' };
    }
    return { kind: 'route', routeKey: route.routeKey, pathParameters: { [route.parameter]: value } };
  }
  return { kind: 'not-found' };
}

export interface GatewayRequest {
  readonly method: string;
  /** Request target as received: path and query string. */
  readonly url: string;
  /** Header name -> every value received (node's `headersDistinct`). */
  readonly headers: Readonly<Record<string, readonly string[] | undefined>>;
  readonly sourceIp: string;
  readonly localPort: number;
  readonly body: Buffer;
}

export function isTextContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && TEXT_CONTENT_TYPE.test(contentType);
}

/** Builds the payload format 2.0 event API Gateway would send for this request and route. */
export function toApiGatewayEvent(
  request: GatewayRequest,
  route: Extract<RouteMatch, { kind: 'route' }>,
  now: Date = new Date(),
): APIGatewayProxyEventV2 {
  const queryIndex = request.url.indexOf('?');
  const rawPath = queryIndex === -1 ? request.url : request.url.slice(0, queryIndex);
  const rawQueryString = queryIndex === -1 ? '' : request.url.slice(queryIndex + 1);

  // Format 2.0: names lower-cased, repeated headers joined with commas, cookies apart.
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, values] of Object.entries(request.headers)) {
    if (values === undefined) continue;
    const key = name.toLowerCase();
    if (key === 'cookie') {
      cookies = values.flatMap((value) => value.split(';')).map((cookie) => cookie.trim()).filter(Boolean);
      continue;
    }
    headers[key] = values.join(',');
  }
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${request.sourceIp}` : request.sourceIp;
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = String(request.localPort);
  const requestId = randomBytes(12).toString('base64url');
  headers['x-amzn-trace-id'] = `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;

  let queryStringParameters: Record<string, string> | undefined;
  if (rawQueryString !== '') {
    queryStringParameters = {};
    for (const [name, value] of new URLSearchParams(rawQueryString)) {
      const seen = queryStringParameters[name];
      queryStringParameters[name] = seen === undefined ? value : `${seen},${value}`;
    }
  }

  const domainName = (headers.host ?? `127.0.0.1:${request.localPort}`).split(':')[0];
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath,
    rawQueryString,
    ...(cookies && cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName,
      domainPrefix: domainName.split('.')[0],
      http: {
        method: request.method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: route.routeKey,
      stage: '$default',
      time: apiGatewayTime(now),
      timeEpoch: now.getTime(),
    },
    ...(route.pathParameters ? { pathParameters: route.pathParameters } : {}),
    isBase64Encoded: false,
  };
  if (request.body.length > 0) {
    const asText = isTextContentType(headers['content-type']);
    event.body = asText ? request.body.toString('utf8') : request.body.toString('base64');
    event.isBase64Encoded = !asText;
  }
  return event;
}

/** What API Gateway answers for a format 2.0 result (a string or an object without statusCode is a 200 JSON body). */
export interface HttpAnswer {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

export function toHttpAnswer(result: APIGatewayProxyResultV2): HttpAnswer {
  if (typeof result === 'string') {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(result, 'utf8') };
  }
  if (result === null || typeof result !== 'object') return apiGatewayError(500, 'Internal Server Error');
  const structured = result as APIGatewayProxyStructuredResultV2;
  if (structured.statusCode === undefined) {
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(result), 'utf8'),
    };
  }
  if (!Number.isInteger(structured.statusCode) || structured.statusCode < 100 || structured.statusCode > 599) {
    return apiGatewayError(500, 'Internal Server Error');
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {})) headers[name.toLowerCase()] = String(value);
  if (structured.cookies && structured.cookies.length > 0) headers['set-cookie'] = [...structured.cookies];
  const text = structured.body ?? '';
  const body = structured.isBase64Encoded ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  return { statusCode: structured.statusCode, headers, body };
}

/** API Gateway's own error answers: `{"message":"Not Found"}` and friends. */
export function apiGatewayError(statusCode: number, message: string, extraHeaders: Record<string, string> = {}): HttpAnswer {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...extraHeaders },
    body: Buffer.from(JSON.stringify({ message }), 'utf8'),
  };
}

export interface HttpGatewayOptions {
  readonly handler: IngestHandler;
  /** @default API_GATEWAY_MAX_BODY_BYTES */
  readonly maxBodyBytes?: number;
  /** @default API_GATEWAY_INTEGRATION_TIMEOUT_MS */
  readonly integrationTimeoutMs?: number;
  /** Sees every routed event before the handler (the demo Ecwid API learns ION statuses here). */
  readonly onEvent?: (event: APIGatewayProxyEventV2) => void;
  /** One line per request: method, path, status, duration. */
  readonly log?: (line: string) => void;
  /** Told about a handler that threw (API Gateway turns it into a 500). */
  readonly onHandlerError?: (error: unknown) => void;
}

/** An http.Server (not yet listening) that behaves like the stack's HTTP API. */
export function createHttpGateway(options: HttpGatewayOptions): Server {
  const maxBodyBytes = options.maxBodyBytes ?? API_GATEWAY_MAX_BODY_BYTES;
  const timeoutMs = options.integrationTimeoutMs ?? API_GATEWAY_INTEGRATION_TIMEOUT_MS;

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = Date.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const rawPath = url.split('?')[0];
    const answer = await answerRequest(req, method, url, rawPath);
    if (!res.headersSent) {
      res.writeHead(answer.statusCode, { ...answer.headers, 'content-length': String(answer.body.length) });
      res.end(answer.body);
    }
    options.log?.(`${method} ${rawPath} -> ${answer.statusCode} (${Date.now() - started} ms)`);
  };

  const answerRequest = async (req: IncomingMessage, method: string, url: string, rawPath: string): Promise<HttpAnswer> => {
    const route = matchRoute(method, rawPath);
    if (route.kind === 'not-found') return drainThen(req, apiGatewayError(404, 'Not Found'));
    if (route.kind === 'method-not-allowed') {
      return drainThen(req, apiGatewayError(405, 'Method Not Allowed', { allow: 'POST' }));
    }
    if (route.kind === 'bad-request') return drainThen(req, apiGatewayError(400, 'Bad Request'));

    const body = await readBody(req, maxBodyBytes);
    if (body === undefined) return apiGatewayError(413, 'Request Entity Too Large', { connection: 'close' });

    const event = toApiGatewayEvent(
      {
        method,
        url,
        headers: req.headersDistinct,
        sourceIp: normalizeIp(req.socket.remoteAddress),
        localPort: req.socket.localPort ?? 0,
        body,
      },
      route,
    );
    try {
      options.onEvent?.(event);
    } catch {
      // An observer must never change what the client gets.
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        options.handler(event),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs);
        }),
      ]);
      if (result === 'timeout') return apiGatewayError(503, 'Service Unavailable');
      return toHttpAnswer(result);
    } catch (error) {
      options.onHandlerError?.(error);
      return apiGatewayError(500, 'Internal Server Error');
    } finally {
      clearTimeout(timer);
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    serve(req, res).catch((error: unknown) => {
      options.onHandlerError?.(error);
      if (!res.headersSent) {
        const answer = apiGatewayError(500, 'Internal Server Error');
        res.writeHead(answer.statusCode, answer.headers);
        res.end(answer.body);
      } else {
        res.destroy();
      }
    });
  };
  const server = createServer(onRequest);
  // `Expect: 100-continue` (curl does it for large bodies): refuse an oversize body before the
  // client sends it, instead of cutting the connection while it is still writing.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (Number(req.headers['content-length']) > maxBodyBytes) {
      const answer = apiGatewayError(413, 'Request Entity Too Large', { connection: 'close' });
      res.writeHead(answer.statusCode, { ...answer.headers, 'content-length': String(answer.body.length) });
      res.end(answer.body);
      options.log?.(`${req.method ?? 'POST'} ${(req.url ?? '/').split('?')[0]} -> 413 (before the body was sent)`);
      return;
    }
    res.writeContinue();
    onRequest(req, res);
  });
  return server;
}

/**
 * Reads the body, streaming: undefined as soon as it is known to exceed `limit` (from
 * Content-Length or while counting), without holding more than `limit` bytes.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume(); // let the 413 go out; the connection closes afterwards
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!tooLarge) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', reject);
  });
}

/** Discards a body nobody will read, then answers (keeps the connection usable). */
function drainThen(req: IncomingMessage, answer: HttpAnswer): HttpAnswer {
  req.resume();
  return answer;
}

function normalizeIp(address: string | undefined): string {
  if (!address) return '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** requestContext.time, e.g. "12/Mar/2020:19:03:58 +0000". */
export function apiGatewayTime(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}
