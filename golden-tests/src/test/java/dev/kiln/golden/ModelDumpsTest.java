package dev.kiln.golden;

import dev.kiln.CompileOptions;
import dev.kiln.Kiln;
import dev.kiln.ir.Graph;
import dev.kiln.ir.text.IrParser;
import dev.kiln.ir.text.IrPrinter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What `kiln dump --after all` writes for each model of the suite: one IR file per pass, each parsing back to
 * a graph that prints identically, and every launch's .cu starting with the ONNX nodes it absorbed.
 */
class ModelDumpsTest {
    @TempDir Path tmp;

    @TestFactory
    Stream<DynamicTest> everyPassDumpParsesBack() throws IOException {
        Assumptions.assumeTrue(SuiteData.available(), SuiteData::missingMessage);
        return SuiteData.cases().stream().filter(c -> c.suite().equals("models")).map(c -> DynamicTest.dynamicTest(c.id(), () -> {
            Path dir = tmp.resolve(c.name());
            try (var m = Kiln.compile(c.dir().resolve("model.onnx"), CompileOptions.defaults().withArch("sm_90").withDumpDir(dir))) {
                List<Path> irs;
                try (Stream<Path> s = Files.list(dir)) { irs = s.filter(p -> p.toString().endsWith(".ir")).sorted().toList(); }
                assertTrue(irs.size() >= 15, "one dump per pass plus the input: " + irs);
                for (Path p : irs) {
                    String text = Files.readString(p);
                    Graph g = IrParser.parse(text, IrParser.PLACEHOLDERS); // weights are printed by reference
                    dev.kiln.ir.Verifier.verify(g);
                    assertEquals(text, IrPrinter.print(g), p + " does not print back identically");
                }
                List<Path> kernels;
                try (Stream<Path> s = Files.list(dir.resolve("kernels"))) { kernels = s.sorted().toList(); }
                assertEquals(m.plan().launches().size(), kernels.size(), "one .cu per launch");
                for (Path k : kernels) assertTrue(Files.readString(k).startsWith("// Kiln kernel for "), k.toString());
            }
        }));
    }
}
