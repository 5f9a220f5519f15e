// The HTTP/1.1 cases of proxy-http1.test.ts again, with WEFT_PROXY_HTTP1_ENGINE=node: node:http's
// server and client on both proxies, the path taken when the lean one is turned off (or when a Node
// version's llhttp binding fails the proxy's self-test).
export {};
process.env['WEFT_TEST_HTTP1_ENGINE'] = 'node';
await import('./proxy-http1.test');
