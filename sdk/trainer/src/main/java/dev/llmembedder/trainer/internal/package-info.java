/** Internals shared by the trainer's packages; not API, may change without notice. */
package dev.llmembedder.trainer.internal;
