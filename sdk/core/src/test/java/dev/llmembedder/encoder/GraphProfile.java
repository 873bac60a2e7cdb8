package dev.llmembedder.encoder;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Not a test: a plain main that runs one text of {@code seq} tokens (or a batch of such texts: an optional fourth
 * argument) through a preset's graph as exported and as
 * {@link GraphRewrite} rewrites it, each in a single-threaded ONNX Runtime session at ALL_OPT with ONNX Runtime's
 * profiler on, and prints the share of each operator type in the node time of the runs after the first (the
 * figures in {@code benchmarks/README.md}). Run from {@code sdk/core} after {@code test-compile}:
 *
 * <pre>
 * java -cp target/test-classes:target/classes:$(cat cp.txt) dev.llmembedder.encoder.GraphProfile fp32 320 6
 * </pre>
 *
 * (cp.txt from {@code ../../mvnw -q -o dependency:build-classpath -Dmdep.outputFile=cp.txt}).
 */
final class GraphProfile {
  private GraphProfile() {}

  public static void main(String[] args) throws Exception {
    ModelPreset preset = args[0].equals("int8") ? ModelPreset.BGE_SMALL_EN_V15_INT8 : ModelPreset.BGE_SMALL_EN_V15;
    int seq = Integer.parseInt(args[1]);
    int runs = Integer.parseInt(args[2]);
    int batch = args.length > 3 ? Integer.parseInt(args[3]) : 1;
    byte[] exported;
    try (InputStream in = GraphProfile.class.getClassLoader().getResourceAsStream(preset.onnxResource())) {
      exported = in.readAllBytes();
    }
    GraphRewrite.Result rewritten = GraphRewrite.rewrite(exported, "last_hidden_state", true, preset.name())
        .orElseThrow();
    System.out.println(preset + ", " + batch + " text(s) of " + seq + " tokens, " + runs + " runs, 1 thread; rewrite: "
        + rewritten);
    profile("exported", exported, batch, seq, runs);
    profile("rewritten", rewritten.model(), batch, seq, runs);
  }

  private static void profile(String label, byte[] model, int batch, int seq, int runs) throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    Path dir = Files.createTempDirectory("ort-profile");
    String file;
    double[] millis = new double[runs];
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      o.setIntraOpNumThreads(1);
      o.enableProfiling(dir.resolve("profile").toString());
      try (OrtSession s = env.createSession(model, o)) {
        long[] ids = new long[batch * seq];
        long[] mask = new long[batch * seq];
        for (int b = 0; b < batch; b++) {
          for (int i = 0; i < seq; i++) {
            ids[b * seq + i] = 1000 + (i * 37 + b * 101) % 20000;
            mask[b * seq + i] = 1;
          }
          ids[b * seq] = 101;
          ids[b * seq + seq - 1] = 102;
        }
        long[] shape = {batch, seq};
        for (int r = 0; r < runs; r++) {
          Map<String, OnnxTensor> in = new HashMap<>();
          in.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape));
          in.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
          in.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(new long[batch * seq]), shape));
          long t0 = System.nanoTime();
          try (OrtSession.Result out = s.run(in)) {
            millis[r] = (System.nanoTime() - t0) / 1e6;
          } finally {
            in.values().forEach(OnnxTensor::close);
          }
        }
        file = s.endProfiling();
      }
    }
    // node events: {"cat":"Node","name":"<node>_kernel_time","dur":us,"args":{"op_name":...}}; skip the first run
    JsonNode events = new ObjectMapper().readTree(Path.of(file).toFile());
    Map<String, Long> byOp = new TreeMap<>();
    Map<String, Integer> nodes = new TreeMap<>();
    int run = -1;
    for (JsonNode e : events) {
      String name = e.path("name").asText();
      if (e.path("cat").asText().equals("Session") && name.equals("model_run")) {
        run++;
      }
      if (e.path("cat").asText().equals("Node") && name.endsWith("_kernel_time") && run != 0) {
        String op = e.path("args").path("op_name").asText();
        byOp.merge(op, e.path("dur").asLong(), Long::sum);
        nodes.merge(op, 1, Integer::sum);
      }
    }
    long total = byOp.values().stream().mapToLong(Long::longValue).sum();
    Map<String, Long> sorted = new LinkedHashMap<>();
    byOp.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .forEach(e -> sorted.put(e.getKey(), e.getValue()));
    double[] later = java.util.Arrays.copyOfRange(millis, 1, runs);
    java.util.Arrays.sort(later);
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%s: median run %.1f ms; node time:", label,
        later[later.length / 2]));
    int measured = Math.max(1, run);
    sorted.forEach((op, us) -> sb.append(String.format(Locale.ROOT, " %s %.1f%% (%d)", op, 100.0 * us / total,
        nodes.get(op) / measured)));
    System.out.println(sb);
    Files.deleteIfExists(Path.of(file));
  }
}
