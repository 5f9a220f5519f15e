// A plain HTTP server for the netns suite (no mesh awareness): it answers every request with who
// called (the weft-client-id header the inbound proxy adds for a verified mesh peer), from where,
// and the request's query. Listens on every port in PORTS (comma-separated) on :: (v4 and v6).
import http from 'node:http';

const ports = (process.env.PORTS ?? process.env.PORT ?? '8080').split(',').map(Number);
for (const port of ports) {
  http
    .createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ port, clientId: req.headers['weft-client-id'] ?? null, from: req.socket.remoteAddress, url: req.url }));
    })
    .listen({ host: '::', port });
}
