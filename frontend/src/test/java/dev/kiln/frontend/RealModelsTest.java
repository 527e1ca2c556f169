package dev.kiln.frontend;

import dev.kiln.ir.KilnException;
import dev.kiln.ir.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every model and .pb file of the ONNX test data (when present) parses; models either import with the test
 * op registry or fail with a KilnException (most ops are not in that registry). Skipped without the data.
 */
class RealModelsTest {
    @Test void everyModelImportsOrFailsTyped() throws IOException {
        Path root = MutatedModelProperties.testData();
        Assumptions.assumeTrue(Files.isDirectory(root), "no ONNX test data at " + root.toAbsolutePath());
        List<Path> models;
        try (Stream<Path> s = Files.walk(root, 3)) {
            models = s.filter(p -> p.getFileName().toString().equals("model.onnx")).sorted().toList();
        }
        assertFalse(models.isEmpty());
        TreeMap<String, Integer> failures = new TreeMap<>();
        List<String> internal = new ArrayList<>();
        int imported = 0;
        for (Path m : models) {
            try {
                new OnnxImporter(TestOps.REGISTRY).importModel(m);
                imported++;
            } catch (KilnException e) {
                failures.merge(e.getClass().getSimpleName(), 1, Integer::sum);
                if (!e.getMessage().contains("no definition of op")) internal.add(m.getParent().getFileName() + ": " + e.getMessage());
                assertNotNull(e.model(), e.getMessage());
            }
        }
        System.out.println("imported " + imported + " of " + models.size() + " models; failures " + failures);
        internal.forEach(System.out::println); // for the log: failures that are not just missing test ops
        try (Stream<Path> s = Files.walk(root, 4)) {
            for (Path pb : s.filter(p -> p.toString().endsWith(".pb")).toList()) {
                String c = pb.getParent().getParent().getFileName().toString();
                if (c.equals("test_identity_sequence") || c.equals("test_identity_opt")) continue; // not TensorProtos
                Tensor t = TensorCodec.readFile(pb);
                assertEquals(t, TensorCodec.decode(TensorCodec.encode(t, "x")), pb.toString());
            }
        }
    }
}
