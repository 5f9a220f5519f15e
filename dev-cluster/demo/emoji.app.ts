/**
 * The demo's `emoji` service (gRPC): ListAll and FindByShortcode over the catalogue in emojis.ts.
 * An unknown shortcode is NOT_FOUND.
 */
import * as grpc from '@grpc/grpc-js';
import { demoServices, type EmojiServiceImpl } from './demo-grpc';
import { EMOJIS, findByShortcode } from './emojis';

export function emojiImplementation(): EmojiServiceImpl {
  return {
    listAll: (_call, cb) => cb(null, { list: [...EMOJIS] }),
    findByShortcode: (call, cb) => {
      const emoji = findByShortcode(call.request.shortcode);
      if (emoji) cb(null, { emoji });
      else cb({ code: grpc.status.NOT_FOUND, details: `no emoji with shortcode "${call.request.shortcode}"` });
    },
  };
}

export function createEmojiServer(): grpc.Server {
  const server = new grpc.Server();
  server.addService(demoServices().EmojiService.service, emojiImplementation());
  return server;
}
