/**
 * <b>Internal: not part of the SDK's API.</b> Java classes for ONNX's protobuf messages ({@code Onnx.ModelProto},
 * {@code GraphProto}, {@code NodeProto}, {@code TensorProto}, ...), generated at build time by protoc from ONNX's
 * official {@code onnx.proto} (IR version 10, Apache-2.0, from the {@code onnx/onnx} repository, kept in
 * {@code sdk/core/src/main/protobuf} with its licence header; the one change is the Java package). The SDK's modules
 * use them to read and rewrite model graphs; they may change or go away in any release.
 *
 * <p>Thread-safety: protobuf messages are immutable and thread-safe; their builders are not.
 */
package dev.llmembedder.internal.onnx;
