package dev.kiln.golden;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/** The summary line and the JSON report of a suite run. */
public final class SuiteReport {
    private SuiteReport() {}

    /** {@code ONNX suite (reference): P passed, F failed, S skipped of N}; expected failures count as failed. */
    public static String summary(String backend, List<CaseResult> results) {
        long passed = results.stream().filter(r -> r.status() == CaseResult.Status.PASS || r.status() == CaseResult.Status.XPASS).count();
        long skipped = results.stream().filter(r -> r.status() == CaseResult.Status.SKIP).count();
        long failed = results.size() - passed - skipped;
        return "ONNX suite (" + backend + "): " + passed + " passed, " + failed + " failed, " + skipped + " skipped of " + results.size();
    }

    public static void writeJson(Path file, String backend, List<CaseResult> results) throws IOException {
        StringBuilder b = new StringBuilder("{\n  \"backend\": ").append(str(backend)).append(",\n  \"summary\": ")
                .append(str(summary(backend, results))).append(",\n  \"cases\": [\n");
        for (int i = 0; i < results.size(); i++) {
            CaseResult r = results.get(i);
            b.append("    {\"case\": ").append(str(r.id())).append(", \"status\": ").append(str(r.status().name()))
                    .append(", \"max_error\": ").append(Double.isNaN(r.maxError()) ? "null" : Double.toString(r.maxError()))
                    .append(", \"millis\": ").append(r.millis())
                    .append(", \"reason\": ").append(str(r.reason())).append('}').append(i + 1 < results.size() ? "," : "").append('\n');
        }
        b.append("  ]\n}\n");
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), ".report", ".json");
        Files.writeString(tmp, b, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    static String str(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                default -> { if (c < 0x20) b.append(String.format("\\u%04x", (int) c)); else b.append(c); }
            }
        }
        return b.append('"').toString();
    }
}
