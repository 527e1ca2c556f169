package dev.kiln.cli;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LaunchTimeTest {
    private static final Instant NOW = Instant.ofEpochSecond(1_800_000_000L, 750_000_000L);
    private static final long NOW_NS = 1_800_000_000L * 1_000_000_000L + 750_000_000L;

    @Test void measuresFromTheLaunchersClockToTheMillisecond() {
        Map<String, String> env = Map.of(LaunchTime.VARIABLE, Long.toString(NOW_NS - 1_476_300_000L));
        assertEquals(1476.3, LaunchTime.millisSinceStart(env, NOW).orElseThrow(), 1e-9);
        String line = LaunchTime.firstOutputLine(env, NOW, 800, 200);
        assertEquals("first output 1476 ms after the command started (JVM start and CLI 476 ms, GPU check 200 ms)", line);
    }

    @Test void saysItDoesNotKnowRatherThanGuess() {
        for (Map<String, String> env : java.util.List.of(Map.<String, String>of(), Map.of(LaunchTime.VARIABLE, "1800000000N"),
                Map.of(LaunchTime.VARIABLE, Long.toString(NOW_NS + 5_000_000L)), Map.of(LaunchTime.VARIABLE, Long.toString(NOW_NS - 2 * 86_400_000_000_000L)))) {
            assertTrue(LaunchTime.millisSinceStart(env, NOW).isEmpty(), env.toString());
            assertTrue(LaunchTime.firstOutputLine(env, NOW, 800, 200).contains("unknown"), env.toString());
        }
    }
}
