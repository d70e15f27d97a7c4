/** The BookieService implementation for grpc-js (method names as protobuf-es lowerCamelCases them). */
import type * as grpc from '@grpc/grpc-js';
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
