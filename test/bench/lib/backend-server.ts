/**
 * The benchmark's backend: a tiny HTTP/1.1 server (keep-alive, a 2-byte body with Content-Length), run
 * as its own process by forkScript. Answers { type: 'ready', port } over IPC; exits with its parent.
 */
import * as http from 'node:http';

const BODY = Buffer.from('ok');

if (process.send) {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  });
  server.keepAliveTimeout = 600_000;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    process.send!({ type: 'ready', port: typeof addr === 'object' && addr ? addr.port : 0 });
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}
