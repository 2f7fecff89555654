// tls-front.mjs — terminates TLS for one lab domain and passes the bytes on, unchanged, to a
// plain-TCP upstream (an msmd listening for HTTP), so the Fedify peers can reach msmd at
// https://DOMAIN/ as they would reach any server. HTTP itself is not touched.
//
// Usage: node tls-front.mjs --bind IP --port 443 --cert D.pem --key D.key --upstream HOST:PORT
// Prints `ready` on stdout once it listens.
import { createServer } from "node:tls";
import { connect } from "node:net";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

/** How long a connection may stay idle before both sides are closed. */
const IDLE_MS = 120_000;

const { values: opt } = parseArgs({
  options: {
    bind: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "443" },
    cert: { type: "string" },
    key: { type: "string" },
    upstream: { type: "string" },
  },
});
for (const k of ["cert", "key", "upstream"]) {
  if (!opt[k]) {
    process.stderr.write(`tls-front: --${k} is required\n`);
    process.exit(2);
  }
}
const [host, port] = opt.upstream.split(/:(?=\d+$)/);

const server = createServer(
  { cert: readFileSync(opt.cert), key: readFileSync(opt.key) },
  (client) => {
    const up = connect(Number(port), host);
    for (const s of [client, up]) {
      s.setTimeout(IDLE_MS, () => s.destroy());
      s.on("error", () => {
        client.destroy();
        up.destroy();
      });
    }
    client.pipe(up);
    up.pipe(client);
  },
);
server.on("tlsClientError", () => {});
server.listen(Number(opt.port), opt.bind, () => process.stdout.write("ready\n"));
