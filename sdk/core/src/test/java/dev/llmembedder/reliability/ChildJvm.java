package dev.llmembedder.reliability;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM running a {@code main} class of the test classpath, with the Vector API module like the test JVM, whose
 * stdout lines are queued for the test and whose stderr goes to a file (shown when a test fails). Not thread-safe.
 */
final class ChildJvm implements AutoCloseable {
  private static final String EOF = "\u0000EOF";

  private final Process process;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
  private final Path stderr;
  private final Thread reader;

  private ChildJvm(Process process, Path stderr) {
    this.process = process;
    this.stderr = stderr;
    this.reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
          StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) {
          lines.add(line);
        }
      } catch (IOException e) {
        // the child was killed mid-line: what was read is queued
      } finally {
        lines.add(EOF);
      }
    }, "child-jvm-stdout");
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts {@code main} with {@code args}; {@code jvmOptions} go before the class name (e.g. {@code -Xmx256m}). */
  static ChildJvm start(Class<?> main, List<String> jvmOptions, Path stderr, String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("--add-modules");
    command.add("jdk.incubator.vector");
    command.add("-XX:+UseSerialGC");
    command.addAll(jvmOptions);
    command.add(main.getName());
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectError(stderr.toFile());
    // the classpath through the environment: no limit on one argument's length
    builder.environment().put("CLASSPATH", System.getProperty("java.class.path"));
    return new ChildJvm(builder.start(), stderr);
  }

  /** The next stdout line, or null at end of output or after {@code timeoutMillis}. */
  String nextLine(long timeoutMillis) throws InterruptedException {
    String line = lines.poll(timeoutMillis, TimeUnit.MILLISECONDS);
    if (line == EOF) {
      lines.add(EOF); // stays at the end for later calls
      return null;
    }
    return line;
  }

  /** Waits for a line starting with {@code prefix}; fails with the child's stderr if it does not come. */
  String expectLine(String prefix, long timeoutMillis) throws InterruptedException, IOException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (System.nanoTime() < deadline) {
      String line = nextLine(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
      if (line == null) {
        break;
      }
      if (line.startsWith(prefix)) {
        return line;
      }
    }
    throw new AssertionError("child printed no line starting with '" + prefix + "' within " + timeoutMillis
        + " ms; its stderr:\n" + stderrText());
  }

  /** Every stdout line printed so far and not yet taken, without waiting. */
  List<String> drain() {
    List<String> out = new ArrayList<>();
    for (String line; (line = lines.poll()) != null; ) {
      if (line == EOF) {
        lines.add(EOF);
        break;
      }
      out.add(line);
    }
    return out;
  }

  Process process() {
    return process;
  }

  /**
   * SIGKILL on Linux ({@link Process#destroyForcibly()}), then waits until the process is gone and every line it
   * wrote has been queued (the pipe may still hold lines when the process exits).
   */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
    reader.join();
  }

  String stderrText() throws IOException {
    String text = java.nio.file.Files.readString(stderr, StandardCharsets.UTF_8);
    return text.length() > 8000 ? text.substring(text.length() - 8000) : text;
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      kill();
    }
  }
}
