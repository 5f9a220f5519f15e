// A plain gRPC server (@grpc/grpc-js, insecure) for the netns suite: weft.test.Echo/Echo answers with
// the caller's mesh identity (weft-client-id metadata, added by the inbound proxy) and the request.
import { Buffer } from 'node:buffer';
import grpc from '@grpc/grpc-js';

const id = (b) => b;
const service = {
  Echo: { path: '/weft.test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
};
const server = new grpc.Server();
server.addService(service, {
  Echo: (call, cb) => cb(null, Buffer.from(JSON.stringify({ clientId: call.metadata.get('weft-client-id')[0] ?? null, peer: call.getPeer(), message: call.request.toString() }))),
});
server.bindAsync(`[::]:${process.env.PORT ?? 50051}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }
});
