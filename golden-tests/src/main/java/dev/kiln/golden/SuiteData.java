package dev.kiln.golden;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Where the ONNX suite lives: system property {@code kiln.onnx.tests}, else environment variable
 * {@code KILN_ONNX_TESTS}, else {@code ../shared/onnx-tests} beside the repository root.
 */
public final class SuiteData {
    public static final List<String> SUITES = List.of("node", "simple", "pytorch-converted", "pytorch-operator", "models");

    private SuiteData() {}

    public static Path root() {
        String p = System.getProperty("kiln.onnx.tests");
        if (p == null || p.isBlank()) p = System.getenv("KILN_ONNX_TESTS");
        if (p != null && !p.isBlank()) return Path.of(p).toAbsolutePath().normalize();
        return repoRoot().resolve("../shared/onnx-tests").normalize();
    }

    /** The repository root: the nearest folder upwards from the working directory holding {@code mvnw}. */
    public static Path repoRoot() {
        Path d = Path.of("").toAbsolutePath();
        for (Path p = d; p != null; p = p.getParent()) if (Files.exists(p.resolve("mvnw"))) return p;
        return d;
    }

    public static boolean available() { return Files.isDirectory(root().resolve("node")); }

    public static String missingMessage() {
        return "ONNX test data not found at " + root() + ": set -Dkiln.onnx.tests=PATH or KILN_ONNX_TESTS to the onnx-tests folder";
    }

    /** One case: its id ({@code suite/name}) and folder. */
    public record Case(String suite, String name, Path dir) {
        public String id() { return suite + "/" + name; }

        public List<Path> dataSets() throws IOException {
            try (Stream<Path> s = Files.list(dir)) {
                return s.filter(p -> p.getFileName().toString().startsWith("test_data_set_")).sorted().toList();
            }
        }
    }

    public static List<Case> cases() throws IOException {
        List<Case> out = new ArrayList<>();
        for (String suite : SUITES) {
            Path d = root().resolve(suite);
            if (!Files.isDirectory(d)) continue;
            try (Stream<Path> s = Files.list(d)) {
                s.filter(p -> Files.exists(p.resolve("model.onnx"))).sorted()
                        .forEach(p -> out.add(new Case(suite, p.getFileName().toString(), p)));
            }
        }
        return out;
    }

    /** {@code input_0.pb, input_1.pb, ...} (or output_) of a data set, by index. */
    public static List<Path> numbered(Path dataSet, String prefix) throws IOException {
        List<Path> out = new ArrayList<>();
        for (int k = 0; ; k++) {
            Path p = dataSet.resolve(prefix + "_" + k + ".pb");
            if (!Files.exists(p)) return out;
            out.add(p);
        }
    }
}
