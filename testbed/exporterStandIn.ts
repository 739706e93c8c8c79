/**
 * A stand-in for redis_exporter's password handling in a pod (oliver006/redis_exporter v1.88.0):
 * it loads the password file at start (main.go, LoadPwdFile), again on `/-/reload`
 * (exporter/http.go, reloadPwdFile), and scrapes with the password the file gives its address
 * (exporter/redis.go, lookupPasswordInPasswordMap), here an AUTH whose reply `/scrape` returns.
 */
import { exporterAddress } from "../components/data/redisPods";
import { OBS_PORTS } from "../model/observability/config";
import type { Pod } from "./pods";
import type { Proc } from "./servers";

const STAND_IN = `
const fs = require("node:fs"), http = require("node:http"), net = require("node:net");
const [file, address, port] = process.argv.slice(1);
const load = () => JSON.parse(fs.readFileSync(file, "utf8"));
let passwords = load();
http.createServer((req, res) => {
  if (req.url === "/-/reload") {
    try { passwords = load(); res.end("ok"); } catch (err) { res.statusCode = 500; res.end(String(err)); }
    return;
  }
  const password = passwords[address] ?? "";
  const socket = net.connect(Number(port), "127.0.0.1", () =>
    socket.write("*2\\r\\n$4\\r\\nAUTH\\r\\n$" + Buffer.byteLength(password) + "\\r\\n" + password + "\\r\\n"));
  socket.once("data", (reply) => { res.end(reply.toString().trim()); socket.destroy(); });
  socket.on("error", (err) => res.end(String(err)));
}).listen(${OBS_PORTS.redisExporter});
`;

/** The stand-in beside the server on `port`, reading the password file at `file` in the pod. */
export function startExporterStandIn(pod: Pod, file: string, port: number): Promise<Proc> {
  return pod.start([process.execPath, "-e", STAND_IN, file, exporterAddress(port), String(port)], "exporter.log");
}

/** What the stand-in's AUTH with its current password got: `+OK`, or the refusal. */
export async function exporterAuth(pod: Pod): Promise<string> {
  const res = await fetch(`http://${pod.ip}:${OBS_PORTS.redisExporter}/scrape`);
  return res.text();
}
