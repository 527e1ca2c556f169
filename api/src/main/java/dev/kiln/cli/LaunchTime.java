package dev.kiln.cli;

import java.time.Instant;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * When the {@code kiln} command started, as its launcher saw it: {@code $KILN_START_NS}, the wall clock in
 * nanoseconds since the epoch ({@code date +%s%N}) that bin/ scripts set just before starting the JVM. The
 * JVM's own idea of its process start ({@code ProcessHandle...startInstant()}) is no substitute: on Linux it is
 * derived from the boot time in whole seconds, so it can be off by up to a second. Without the variable (the
 * CLI started some other way) the time is unknown and the CLI says so rather than print a wrong number.
 */
final class LaunchTime {
    static final String VARIABLE = "KILN_START_NS";

    private LaunchTime() {}

    /** Milliseconds from the launcher's start to {@code now}, if the launcher said when it started. */
    static OptionalDouble millisSinceStart(Map<String, String> env, Instant now) {
        String s = env.get(VARIABLE);
        if (s == null || s.isBlank()) return OptionalDouble.empty();
        long start;
        try {
            start = Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return OptionalDouble.empty();
        }
        long nowNanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
        long d = nowNanos - start;
        // a value from the future, or one a day old (inherited from some earlier shell), is not this command's start
        if (start <= 0 || d < 0 || d > 86_400_000_000_000L) return OptionalDouble.empty();
        return OptionalDouble.of(d / 1e6);
    }

    /**
     * {@code first output 1234 ms after the command started (JVM start and CLI 300 ms, GPU check 200 ms)}, or the
     * same without the start when it is unknown.
     */
    static String firstOutputLine(Map<String, String> env, Instant now, double firstOutputMillis, double doctorMillis) {
        OptionalDouble since = millisSinceStart(env, now);
        if (since.isEmpty())
            return String.format(java.util.Locale.ROOT, "first output: time since the command started unknown (no $%s: not started by the "
                    + "kiln launcher), GPU check %.0f ms", VARIABLE, doctorMillis);
        return String.format(java.util.Locale.ROOT, "first output %.0f ms after the command started (JVM start and CLI %.0f ms, GPU check %.0f ms)",
                since.getAsDouble(), since.getAsDouble() - firstOutputMillis - doctorMillis, doctorMillis);
    }
}
