/**
 * <b>Internal: not part of the SDK's API.</b> Java classes for the ONNX model format's protobuf messages
 * ({@code Onnx.ModelProto}, {@code GraphProto}, {@code NodeProto}, {@code TensorProto}, ...), generated at build time
 * by protoc from {@code sdk/core/src/main/protobuf/onnx.proto}: the SDK's own declaration of the messages and fields
 * it reads and writes, with the ONNX IR's field numbers. Every other field of a model is kept by protobuf-java as an
 * unknown field and written back unchanged. The SDK's modules use these classes to read and rewrite model graphs;
 * they may change or go away in any release.
 *
 * <p>Thread-safety: protobuf messages are immutable and thread-safe; their builders are not.
 */
package dev.llmembedder.internal.onnx;
