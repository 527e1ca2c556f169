package dev.kiln.golden;

import dev.kiln.frontend.ImportedModel;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.ref.Interpreter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every case of the ONNX suite through import and the reference interpreter. A case failing outside
 * {@code expected-failures-reference.txt} fails the build; the summary line and a JSON report
 * ({@code target/onnx-suite-reference.json}) are written at the end.
 */
class OnnxSuiteReferenceTest {
    static final Backend REFERENCE = new Backend() {
        public String name() { return "reference"; }
        public List<Tensor> run(ImportedModel m, List<Tensor> inputs) { return Interpreter.run(m.graph(), inputs); }
    };

    private static final List<CaseResult> results = Collections.synchronizedList(new ArrayList<>());

    @TestFactory
    Stream<DynamicTest> cases() throws IOException {
        Assumptions.assumeTrue(SuiteData.available(), SuiteData::missingMessage);
        ExpectedFailures expected = ExpectedFailures.load("/expected-failures-reference.txt");
        CaseRunner runner = new CaseRunner(REFERENCE, expected, 120);
        return SuiteData.cases().stream().map(c -> DynamicTest.dynamicTest(c.id(), () -> {
            CaseResult r = runner.run(c);
            results.add(r);
            if (r.breaksBuild()) fail(c.id() + " failed and is not in expected-failures-reference.txt: " + r.reason());
        }));
    }

    @AfterAll
    static void report() throws IOException {
        if (results.isEmpty()) return;
        for (CaseResult r : results)
            if (r.status() == CaseResult.Status.XPASS) System.out.println("UNEXPECTED PASS (remove from the list): " + r.id());
        System.out.println(SuiteReport.summary("reference", results));
        SuiteReport.writeJson(Path.of("target/onnx-suite-reference.json"), "reference", results);
    }
}
