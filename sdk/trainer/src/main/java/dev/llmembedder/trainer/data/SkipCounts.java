package dev.llmembedder.trainer.data;

import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/** What {@link TrainingData.Read} and {@link Miner.Mined} share: examples plus skip counts per reason. */
final class SkipCounts {
  private SkipCounts() {}

  /** An unmodifiable copy of {@code skipped} with every reason of {@code type} as a key (0 when missing). */
  static <E extends Enum<E>> Map<E, Integer> complete(Class<E> type, Map<E, Integer> skipped) {
    Objects.requireNonNull(skipped, "skipped");
    Map<E, Integer> counts = new EnumMap<>(type);
    for (E reason : type.getEnumConstants()) {
      counts.put(reason, skipped.getOrDefault(reason, 0));
    }
    return Collections.unmodifiableMap(counts);
  }

  /** The sum over all reasons. */
  static int total(Map<?, Integer> skipped) {
    return skipped.values().stream().mapToInt(Integer::intValue).sum();
  }

  /** A summary such as {@code "8 examples, 2 skipped (NO_POSITIVE 2)"}. */
  static String summary(List<TrainingExample> examples, Map<?, Integer> skipped) {
    String reasons = skipped.entrySet().stream().filter(e -> e.getValue() > 0)
        .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "));
    return examples.size() + " examples, " + total(skipped) + " skipped" + (reasons.isEmpty() ? ""
        : " (" + reasons + ")");
  }
}
