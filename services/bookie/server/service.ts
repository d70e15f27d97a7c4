/** The BookieService implementation for grpc-js (method names as protobuf-es lowerCamelCases them). */
import type * as grpc from '@grpc/grpc-js';
import { BookieService } from '../../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';
import { toGrpcServiceDefinition } from '../../../lib/grpc/adapter.ts';
import { decodeAddStreamRequest } from './add-codec.ts';
import { handleAddStream } from './add-stream.ts';
import type { ServerContext } from './context.ts';
import { unaryHandlers } from './handlers.ts';

export function bookieServiceImpl(ctx: ServerContext): grpc.UntypedServiceImplementation {
  return {
    addStream: ((call: grpc.ServerDuplexStream<unknown, unknown>) =>
      handleAddStream(ctx, call as never)) as grpc.handleBidiStreamingCall<unknown, unknown>,
    ...(unaryHandlers(ctx) as unknown as grpc.UntypedServiceImplementation),
  };
}

/** The service definition, with the hand-written codec on the AddStream hot path (add-codec.ts). */
export function bookieServiceDefinition(): grpc.ServiceDefinition {
  const def = toGrpcServiceDefinition(BookieService) as Record<
    string,
    grpc.MethodDefinition<unknown, unknown>
  >;
  def.addStream = {
    ...def.addStream,
    requestDeserialize: decodeAddStreamRequest,
    responseSerialize: (b: unknown) => b as Buffer,
  };
  return def;
}
