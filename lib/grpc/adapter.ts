/**
 * Glue between protobuf-es generated services and @grpc/grpc-js: a service definition for the
 * server and a client constructor, both (de)serializing with the generated schemas.
 */
import {
  create,
  type DescMessage,
  type DescService,
  fromBinary,
  isMessage,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';

function serializer<D extends DescMessage>(schema: D) {
  return (msg: MessageShape<D> | MessageInitShape<D>): Buffer => {
    const m = isMessage(msg, schema) ? msg : create(schema, msg as MessageInitShape<D>);
    const u8 = toBinary(schema, m);
    return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
  };
}

function deserializer<D extends DescMessage>(schema: D) {
  return (buf: Buffer): MessageShape<D> => fromBinary(schema, buf);
}

export function toGrpcServiceDefinition(svc: DescService): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const m of svc.methods) {
    def[m.localName] = {
      path: `/${svc.typeName}/${m.name}`,
      originalName: m.name,
      requestStream: m.methodKind === 'client_streaming' || m.methodKind === 'bidi_streaming',
      responseStream: m.methodKind === 'server_streaming' || m.methodKind === 'bidi_streaming',
      requestSerialize: serializer(m.input) as (v: unknown) => Buffer,
      requestDeserialize: deserializer(m.input),
      responseSerialize: serializer(m.output) as (v: unknown) => Buffer,
      responseDeserialize: deserializer(m.output),
    };
  }
  return def;
}

export function makeClientConstructor(svc: DescService): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(toGrpcServiceDefinition(svc), svc.name);
}

/** Channel options shared by our servers and clients (message size limits are configurable). */
export function channelOptions(maxMessageBytes: number): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
  };
}
