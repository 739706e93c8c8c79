/**
 * nginx in front of Prometheus that passes instant and range queries (GET only) and refuses
 * everything else: the status page reads availability without being able to reach Prometheus's
 * lifecycle (/-/quit, /-/reload), admin or write endpoints. Runs unprivileged with a read-only root.
 */

/** Where nginx keeps its pid and temp files: the pod's only writable path. */
export const WRITABLE_DIR = "/tmp";
/** The read-only query paths, matched exactly. */
export const READ_PATHS = ["/api/v1/query", "/api/v1/query_range"] as const;
export const HEALTH_PATH = "/healthz";
const CONNECT_TIMEOUT = "2s";
const READ_TIMEOUT = "10s";

export interface ReadonlyProxyConf {
  listenPort: number;
  /** host:port of Prometheus. */
  upstream: string;
}

export function readonlyNginxConf(c: ReadonlyProxyConf): string {
  const tmp = WRITABLE_DIR;
  const reads = READ_PATHS.map(
    (path) => `    location = ${path} {
      limit_except GET { deny all; }
      proxy_pass http://prometheus;
    }`,
  ).join("\n");
  return `worker_processes 1;
pid ${tmp}/nginx.pid;
error_log /dev/stderr warn;
events {
  worker_connections 256;
}
http {
  access_log off;
  server_tokens off;
  client_body_temp_path ${tmp}/client_body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  # A query is a URL; a body is only ever a write, so none is accepted.
  client_max_body_size 1k;
  # A hung Prometheus costs the status page ${READ_TIMEOUT}, not nginx's default minute.
  proxy_connect_timeout ${CONNECT_TIMEOUT};
  proxy_read_timeout ${READ_TIMEOUT};
  upstream prometheus {
    server ${c.upstream};
  }
  server {
    listen ${c.listenPort};
${reads}
    location = ${HEALTH_PATH} {
      return 200 "ok\\n";
    }
    location / {
      return 403;
    }
  }
}
`;
}
