/**
 * A stateful fake of OpenText OTDS and Exstream (and the mount point of the Workflow Service
 * fake) on one HTTP server, built from the public API reference. README.md beside this file
 * lists what it does, what is fake-only, and how a module plugs in.
 *
 * Order of handling of a request: fault injection (as a gateway or the network would fail) →
 * counters → the fake-only control API (`/__fake/...`, when enabled) → token endpoints → bearer
 * authentication (401 for a missing, unknown or expired token) → the module of the path.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeDesign } from './exstream/design.js';
import { FakeOnDemand } from './exstream/ondemand.js';
import { FakeRuntime, type JobSpec } from './exstream/runtime.js';
import { FakeFaults, type FaultRule } from './faults.js';
import { FakeOtds, TOKEN_PATH, type FakeClient } from './otds.js';
import {
  FakeHttpError,
  json,
  springError,
  type FakeCaller,
  type FakeHandler,
  type FakeRequest,
  type FakeResponse,
} from './types.js';

export interface OpenTextFakeOptions {
  port?: number;
  host?: string;
  /** OAuth clients that may get tokens. */
  clients?: FakeClient[];
  /** Exstream domains to create (empty, unless seeded). */
  domains?: string[];
  /** Fake-only: the fake's clock (token expiry, dates); tests move it instead of sleeping. */
  now?: () => number;
  /** The Workflow Service module, served at `/workflow/v1/*` and `/workflow-history/v1/*`. */
  workflow?: FakeHandler;
  /** Fake-only: serve `/__fake/...` (faults, token expiry, runtime ticks) over HTTP. */
  controlApi?: boolean;
}

export interface RequestRecord {
  method: string;
  path: string;
  /** The injected fault that answered it, if one did. */
  fault?: FaultRule['kind'];
  /** Fake-only: requests to the same path being served when it arrived, itself included. */
  concurrent: number;
  /** The OAuth client whose (valid) bearer token it carried: which replica asked. */
  client?: string;
}

export class OpenTextFake {
  readonly otds: FakeOtds;
  readonly design: FakeDesign;
  readonly runtime: FakeRuntime;
  readonly ondemand: FakeOnDemand;
  readonly faults: FakeFaults;
  /** Every request received, in order (fake-only, for tests). */
  readonly requests: RequestRecord[] = [];
  /**
   * Fake-only: what an expired token gets on Exstream routes. 401 normally; 500 mirrors the
   * OpenText SDK README's caveat that an expired token may show up as a 500.
   */
  expiredTokenStatus: 401 | 500 = 401;
  workflow: FakeHandler | undefined;
  readonly #server: http.Server;
  readonly #controlApi: boolean;
  readonly #inFlight = new Map<string, number>();
  url = '';

  constructor(options: OpenTextFakeOptions = {}) {
    const now = options.now ?? Date.now;
    this.otds = new FakeOtds(now);
    this.design = new FakeDesign(now);
    this.runtime = new FakeRuntime(now, (d) => this.design.domain(d) !== undefined);
    this.ondemand = new FakeOnDemand(this.design, this.runtime);
    this.faults = new FakeFaults(now);
    for (const client of options.clients ?? []) this.otds.addClient(client);
    for (const domain of options.domains ?? []) this.design.addDomain({ id: domain });
    this.workflow = options.workflow;
    this.#controlApi = options.controlApi ?? false;
    this.#server = http.createServer((req, res) => {
      void this.#serve(req, res);
    });
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve());
    });
    const address = this.#server.address() as AddressInfo;
    this.url = `http://${host}:${address.port}`;
    return this;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Requests whose path matches (and method, when given), faulted ones included. */
  count(path: RegExp, method?: string): number {
    return this.requests.filter((r) => path.test(r.path) && (!method || r.method === method)).length;
  }

  /** Requests that reached a module (no injected fault answered them). */
  served(path: RegExp, method?: string): number {
    return this.requests.filter(
      (r) => (!r.fault || r.fault === 'slow') && path.test(r.path) && (!method || r.method === method),
    ).length;
  }

  /** The settings a CommsGraph process exports to use this fake (token form: OCP tenant JSON). */
  settings(client: { clientId: string; secret: string }, domain: string): Record<string, string> {
    const out: Record<string, string> = {
      GENERATION_BACKEND: 'exstream',
      OTDS_TOKEN_URL: `${this.url}/tenants/fake/oauth2/token`,
      OTDS_CLIENT_ID: client.clientId,
      OTDS_CLIENT_SECRET: client.secret,
      EXSTREAM_URL: this.url,
      EXSTREAM_DOMAIN: domain,
    };
    if (this.workflow) {
      out.WORKFLOW_BACKEND = 'otws';
      out.WORKFLOW_SERVICE_URL = `${this.url}/workflow/v1`;
      out.WORKFLOW_HISTORY_URL = `${this.url}/workflow-history/v1`;
    }
    return out;
  }

  /** Fake-only: the most requests to a matching path that were being served at once. */
  peakConcurrent(path: RegExp, method?: string): number {
    return Math.max(
      0,
      ...this.requests
        .filter((r) => path.test(r.path) && (!method || r.method === method))
        .map((r) => r.concurrent),
    );
  }

  async #serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const concurrent = (this.#inFlight.get(path) ?? 0) + 1;
    this.#inFlight.set(path, concurrent);
    try {
      await this.#serveOne(req, res, concurrent);
    } finally {
      this.#inFlight.set(path, (this.#inFlight.get(path) ?? 1) - 1);
    }
  }

  async #serveOne(req: http.IncomingMessage, res: http.ServerResponse, concurrent: number): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = Buffer.concat(chunks);
    const request: FakeRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      json: <T>() => {
        try {
          return JSON.parse(body.toString('utf8')) as T;
        } catch {
          throw new FakeHttpError(400, springError(400, 'Malformed JSON body', url.pathname).body);
        }
      },
    };
    const fault = this.faults.take(request.method, request.path);
    const bearer = this.otds.authenticate(firstHeader(req.headers.authorization));
    this.requests.push({
      method: request.method,
      path: request.path,
      concurrent,
      ...(fault ? { fault: fault.kind } : {}),
      ...(bearer.state === 'valid' ? { client: bearer.caller.clientId } : {}),
    });
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    // Unref'd: a held-back answer must not keep a test process alive after the fake closed.
    const delay = () => new Promise((r) => setTimeout(r, fault?.delayMs ?? 1000).unref());
    if (fault?.kind === 'slow' && fault.phase !== 'after') await delay();
    if (res.destroyed) return;
    let response: FakeResponse;
    if (fault?.kind === 'status') {
      response = json(fault.status ?? 503, fault.body ?? { message: 'injected fault' }, {
        ...(fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {}),
      });
    } else {
      try {
        response = await this.#route(request);
      } catch (err) {
        response =
          err instanceof FakeHttpError
            ? json(err.status, err.body)
            : springError(500, `fake failure: ${(err as Error).message}`, request.path);
      }
    }
    if (fault?.kind === 'slow' && fault.phase === 'after') await delay();
    if (res.destroyed) return;
    if (response.reset) {
      req.socket.destroy();
      return;
    }
    const headers = { ...response.headers };
    let payload: Buffer | string | undefined;
    if (response.body === undefined) payload = undefined;
    else if (Buffer.isBuffer(response.body) || typeof response.body === 'string') payload = response.body;
    else {
      payload = JSON.stringify(response.body);
      headers['content-type'] ??= 'application/json';
    }
    res.writeHead(response.status, headers);
    res.end(payload);
  }

  async #route(req: FakeRequest): Promise<FakeResponse> {
    if (this.#controlApi && req.path.startsWith('/__fake/')) return this.#control(req);
    if (TOKEN_PATH.test(req.path)) return this.otds.handleToken(req);
    const exstreamRoute = req.path.startsWith('/design/') || req.path.startsWith('/orchestration/');
    const auth = this.otds.authenticate(firstHeader(req.headers.authorization));
    if (auth.state !== 'valid') {
      if (exstreamRoute && auth.state === 'expired' && this.expiredTokenStatus === 500) {
        return springError(500, 'Internal Server Error', req.path);
      }
      if (exstreamRoute)
        return springError(401, 'Full authentication is required to access this resource', req.path);
      return json(401, {
        fault: { faultstring: 'Invalid access token', detail: { errorcode: 'oauth.v2.InvalidAccessToken' } },
      });
    }
    return this.#dispatch(req, auth.caller);
  }

  async #dispatch(req: FakeRequest, caller: FakeCaller): Promise<FakeResponse> {
    if (req.path.startsWith('/design/api/v1/')) return this.design.handle(req, caller);
    if (req.path.startsWith('/orchestration/api/v1/runtime/')) return this.runtime.handle(req);
    const generate = /^\/orchestration\/api\/v1\/inputs\/ondemand\/([^/]+)\/generate$/.exec(req.path);
    if (generate && req.method === 'POST') {
      const domain = decodeURIComponent(generate[1]!);
      if (!this.design.domain(domain)) return springError(404, `Domain not found: ${domain}`, req.path);
      return this.ondemand.handle(req, domain);
    }
    if (req.path.startsWith('/workflow/v1/') || req.path.startsWith('/workflow-history/v1/')) {
      if (!this.workflow) {
        return json(404, { message: 'Not found', exception: 'Workflow Service is not mounted in this fake' });
      }
      return this.workflow(req, caller);
    }
    return springError(404, 'Not found', req.path);
  }

  /** Fake-only HTTP control API (README.md, "Control API"). */
  #control(req: FakeRequest): FakeResponse {
    const route = `${req.method} ${req.path}`;
    const ok = json(200, { ok: true });
    switch (route) {
      case 'POST /__fake/tokens/expire':
        this.otds.expireAllTokens();
        return ok;
      case 'PUT /__fake/mode': {
        const body = req.json<{
          expiredTokenStatus?: 401 | 500;
          tokenFaultStyle?: 'oauth' | 'apigee';
          tokenExpiresIn?: number;
        }>();
        if (body.expiredTokenStatus) this.expiredTokenStatus = body.expiredTokenStatus;
        if (body.tokenFaultStyle) this.otds.faultStyle = body.tokenFaultStyle;
        if (body.tokenExpiresIn) this.otds.expiresInSec = body.tokenExpiresIn;
        return ok;
      }
      case 'POST /__fake/faults': {
        const rule = req.json<FaultRule>();
        this.faults.add(rule);
        return ok;
      }
      case 'DELETE /__fake/faults':
        this.faults.clear();
        return ok;
      case 'GET /__fake/requests':
        return json(200, { tokenRequests: this.otds.tokenRequests, requests: this.requests });
      case 'POST /__fake/runtime/tick':
        this.runtime.tick();
        return ok;
      case 'POST /__fake/runtime/settle':
        this.runtime.settle();
        return ok;
    }
    const job = /^POST \/__fake\/runtime\/([^/]+)\/jobs$/.exec(route);
    if (job) return json(201, { id: this.runtime.addJob(decodeURIComponent(job[1]!), req.json<JobSpec>()) });
    const content = /^PUT \/__fake\/design\/([^/]+)\/content$/.exec(route);
    if (content) {
      this.design.editContent(decodeURIComponent(content[1]!), req.body, 'designer@acme.example');
      return ok;
    }
    const templateError = /^PUT \/__fake\/ondemand\/([^/]+)\/template-error$/.exec(route);
    if (templateError) {
      this.ondemand.setTemplateError(
        decodeURIComponent(templateError[1]!),
        req.json<{ message: string | null }>().message,
      );
      return ok;
    }
    return json(404, { message: `no control route ${route}` });
  }
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Starts a fake on `port` (0: any free port). */
export async function startOpenTextFake(options: OpenTextFakeOptions = {}): Promise<OpenTextFake> {
  return new OpenTextFake(options).listen(options.port ?? 0, options.host ?? '127.0.0.1');
}
