// The stand-in for an InferenceService's route (Knative Route + the cluster's ingress): one loopback listener
// per InferenceService whose URL stays the same across revisions (as status.url does), splitting requests
// between revisions by the traffic percentages (canaryTrafficPercent: that share to the latest ready
// revision, the rest to the previous one) and cutting a request that gets no answer within the revision's
// timeout (predictor.timeout → the Knative revision's timeoutSeconds, 300 s when unset; Knative answers
// 504 Gateway Timeout — guess from Knative's queue-proxy behaviour, verify on a cluster).
//
// Not modelled: the external host name (status.url is an example.com host behind the ingress IP, audit M10),
// the activator, retries.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  /** The revision's name (<isvc>-predictor-<generation>). */
  revision: string;
  /** The pod's own (mapped) address. */
  target: string;
  percent: number;
}

/** The default revision timeout of Knative Serving (config-defaults revision-timeout-seconds). */
export const DEFAULT_REVISION_TIMEOUT_S = 300;

export class Ingress {
  private server: Server | undefined;
  private routes: Route[] = [];
  private timeoutMs = DEFAULT_REVISION_TIMEOUT_S * 1000;
  /** Smooth weighted round robin state (deterministic split: 20/80 sends every fifth request to the canary). */
  private current = new Map<string, number>();
  /** Requests answered per revision, for tests. */
  readonly served = new Map<string, number>();
  url = '';

  private started: Promise<string> | undefined;

  /** Listens (once; later calls wait for the same listener). */
  start(): Promise<string> {
    this.started ??= new Promise<string>((resolve) => {
      const server = createServer((req, res) => this.forward(req, res));
      this.server = server;
      server.listen(0, '127.0.0.1', () => {
        this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        resolve(this.url);
      });
    });
    return this.started;
  }

  route(routes: Route[], timeoutSeconds: number | undefined): void {
    this.routes = routes.filter((r) => r.percent > 0);
    this.timeoutMs = (timeoutSeconds ?? DEFAULT_REVISION_TIMEOUT_S) * 1000;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private pick(): Route | undefined {
    let best: Route | undefined;
    for (const route of this.routes) {
      const value = (this.current.get(route.revision) ?? 0) + route.percent;
      this.current.set(route.revision, value);
      if (best === undefined || value > (this.current.get(best.revision) ?? 0)) best = route;
    }
    if (best !== undefined) {
      const total = this.routes.reduce((sum, r) => sum + r.percent, 0);
      this.current.set(best.revision, (this.current.get(best.revision) ?? 0) - total);
    }
    return best;
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const route = this.pick();
    if (route === undefined) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('no ready revision');
      return;
    }
    this.served.set(route.revision, (this.served.get(route.revision) ?? 0) + 1);
    const upstream = request(
      new URL(req.url ?? '/', route.target),
      { method: req.method, headers: req.headers, agent: false },
      (answer) => {
        clearTimeout(timer);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    const timer = setTimeout(() => {
      upstream.destroy();
      if (!res.headersSent) res.writeHead(504, { 'content-type': 'text/plain' }).end('request timeout');
    }, this.timeoutMs);
    upstream.once('error', () => {
      clearTimeout(timer);
      if (!res.headersSent)
        res.writeHead(502, { 'content-type': 'text/plain' }).end('upstream connect error');
    });
    req.pipe(upstream);
  }
}
