package dev.kiln.profile;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** The four real models in ../shared/onnx-tests/models (or -Dkiln.onnx.tests); tests skip without them. */
final class SharedModels {
    private SharedModels() {}

    static Path modelOrSkip(String name) {
        String p = System.getProperty("kiln.onnx.tests", System.getenv("KILN_ONNX_TESTS"));
        Path root = p != null && !p.isBlank() ? Path.of(p) : repoRoot().resolve("../shared/onnx-tests");
        Path f = root.resolve("models").resolve(name).resolve("model.onnx").normalize();
        Assumptions.assumeTrue(Files.isRegularFile(f), () -> "shared model not found: " + f);
        return f;
    }

    private static Path repoRoot() {
        Path d = Path.of("").toAbsolutePath();
        for (Path q = d; q != null; q = q.getParent()) if (Files.exists(q.resolve("mvnw"))) return q;
        return d;
    }
}
