package dev.llmembedder.index;

/**
 * A data file of one saved generation, as listed in {@code manifest.json}.
 *
 * @param name   file name inside the index directory, e.g. {@code vectors-3.bin}
 * @param size   length in bytes
 * @param crc32c CRC32C of the whole file
 */
record FileEntry(String name, long size, long crc32c) {
}
