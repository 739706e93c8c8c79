/**
 * The part of autocannon that automation/control/loadtest.ts uses, as 9.0.0 (pinned in
 * package.json) has it: lib/init.js (the callback form), lib/run.js (`stop`, `setupClient`) and
 * lib/httpClient.js (each connection's events). autocannon ships no types, and @types/autocannon
 * describes 7.x.
 */
declare module "autocannon" {
  import type { EventEmitter } from "node:events";

  namespace autocannon {
    /** One connection. `opts.origin` is its URL's `protocol//host`. */
    interface Client extends EventEmitter {
      readonly opts: { readonly origin: string };
      /** An answer: its status, its size, and the ms from writing the request to the answer's end. */
      on(event: "response", listener: (statusCode: number, resBytes: number, responseTimeMs: number) => void): this;
      /** The connection failed (refused, reset, a name that does not resolve); the client reconnects. */
      on(event: "connError", listener: (error: Error) => void): this;
      /** No answer within `timeout` seconds; the client reconnects. */
      on(event: "timeout", listener: () => void): this;
    }
    interface Options {
      /** Several URLs share the connections round-robin. */
      url: string | string[];
      connections: number;
      /** Requests a second across all connections, spread over them; autocannon opens no more connections than this. */
      overallRate: number;
      /** Seconds. */
      duration: number;
      /** Seconds without an answer before a request counts as timed out (default 10). */
      timeout?: number;
      /** Called as each connection is made, before its first request. */
      setupClient?: (client: Client) => void;
    }
    interface Instance extends EventEmitter {
      /** Ends the run at its next one-second tick; the callback is called then. */
      stop(): void;
    }
  }

  function autocannon(opts: autocannon.Options, callback: (err: Error | null) => void): autocannon.Instance;
  export = autocannon;
}
