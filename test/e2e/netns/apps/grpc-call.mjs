// An unmodified gRPC client: calls weft.test.Echo/Echo at TARGET (argv[2], e.g. api:50051) with the
// message argv[3], insecure, and prints the answer. It knows nothing of the mesh.
import { Buffer } from 'node:buffer';
import grpc from '@grpc/grpc-js';

const id = (b) => b;
const Client = grpc.makeGenericClientConstructor({
  Echo: { path: '/weft.test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
});
const client = new Client(process.argv[2], grpc.credentials.createInsecure());
client.Echo(Buffer.from(process.argv[3] ?? ''), { deadline: Date.now() + 15_000 }, (err, res) => {
  if (err) {
    console.error(`${err.code} ${err.details}`);
    process.exit(1);
  }
  process.stdout.write(res.toString());
  client.close();
});
