package dev.kiln.golden;

import dev.kiln.CompileOptions;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.exec.ShapeInputs;
import dev.kiln.frontend.ImportedModel;
import dev.kiln.ir.Tensor;
import dev.kiln.runtime.Cuda;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every case of the ONNX suite compiled for the GPU (fp32) and run there, compared with the expected outputs
 * under the same tolerances as the reference run. Cases failing on the reference path are skipped here; GPU
 * failures outside {@code expected-failures-gpu.txt} fail the build. Writes the summary line and
 * {@code target/onnx-suite-gpu.json} (or {@code $KILN_REPORT_DIR/onnx-suite-gpu.json}).
 */
@Tag("gpu")
class OnnxSuiteGpuTest {
    static final Backend GPU = new Backend() {
        public String name() { return "gpu"; }
        public List<Tensor> run(ImportedModel m, List<Tensor> inputs) {
            // shape tensors among the inputs are specialized on their values (see ShapeInputs)
            var bound = ShapeInputs.select(m.graph(), inputs);
            try (CompiledModel c = Kiln.compile(m.graph(), CompileOptions.defaults(), bound)) {
                return c.run(ShapeInputs.remaining(m.graph(), inputs, bound));
            }
        }
    };

    private static final List<CaseResult> results = Collections.synchronizedList(new ArrayList<>());

    @TestFactory
    Stream<DynamicTest> cases() throws IOException {
        Assumptions.assumeTrue(Cuda.available(), "no usable GPU: run `kiln doctor` to see why");
        Assumptions.assumeTrue(SuiteData.available(), SuiteData::missingMessage);
        ExpectedFailures reference = ExpectedFailures.load("/expected-failures-reference.txt");
        ExpectedFailures expected = ExpectedFailures.load("/expected-failures-gpu.txt");
        CaseRunner runner = new CaseRunner(GPU, expected, 60);
        return SuiteData.cases().stream().filter(c -> !reference.contains(c.id())).map(c -> DynamicTest.dynamicTest(c.id(), () -> {
            CaseResult r = runner.run(c);
            results.add(r);
            if (r.breaksBuild()) fail(c.id() + " failed on the GPU and is not in expected-failures-gpu.txt: " + r.reason());
        }));
    }

    @AfterAll
    static void report() throws IOException {
        if (results.isEmpty()) return;
        for (CaseResult r : results)
            if (r.status() == CaseResult.Status.XPASS) System.out.println("UNEXPECTED PASS (remove from the list): " + r.id());
        System.out.println(SuiteReport.summary("gpu", results));
        String dir = System.getenv().getOrDefault("KILN_REPORT_DIR", "target");
        SuiteReport.writeJson(Path.of(dir, "onnx-suite-gpu.json"), "gpu", results);
    }
}
