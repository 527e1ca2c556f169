package dev.kiln.runtime;

/**
 * Where long steps report how far they are ({@code NVRTC 37/170}). Called from any thread, often; an
 * implementation must be thread-safe and cheap (the CLI's redraws one terminal line at most every 100 ms).
 */
public interface Progress {
    /** {@code step} has finished {@code done} of {@code total} units. */
    void update(String step, int done, int total);

    /** The current step ended; a terminal line clears itself. */
    default void clear() {}

    /** Reports nothing. */
    Progress NONE = (step, done, total) -> {};
}
