package dev.kiln.golden;

import dev.kiln.exec.ShapeInputs;
import dev.kiln.frontend.OnnxImporter;
import dev.kiln.frontend.TensorCodec;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.ref.Interpreter;
import dev.kiln.passes.PassManager;
import dev.kiln.passes.Pipeline;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The passes behind {@code CompileOptions.fuseViews} (merge-parallel-matmuls, fuse-operand-views) on every
 * ONNX suite case they change: the final IR, Fused bodies with their views run node by node on the reference
 * interpreter, still gives the case's expected outputs. Needs no GPU; codegen is not involved (today's
 * templates refuse strided operands, which is why the option is off).
 */
class FuseViewsSuiteTest {
    private static final Set<String> VIEW_PASSES = Set.of("merge-parallel-matmuls", "fuse-operand-views");

    @Test
    void suiteCasesTheViewPassesChangeKeepTheirOutputs() throws IOException {
        Assumptions.assumeTrue(SuiteData.available(), SuiteData::missingMessage);
        ExpectedFailures reference = ExpectedFailures.load("/expected-failures-reference.txt");
        List<String> wrong = new ArrayList<>();
        int changed = 0;
        for (SuiteData.Case c : SuiteData.cases()) {
            if (reference.contains(c.id()) || c.dataSets().isEmpty()) continue;
            List<Tensor> in = new ArrayList<>();
            for (Path p : SuiteData.numbered(c.dataSets().get(0), "input")) in.add(TensorCodec.readFile(p));
            Graph imported, fused;
            Map<String, Tensor> bound;
            PassManager pm;
            try {
                imported = new OnnxImporter().importModel(c.dir().resolve("model.onnx")).graph();
                bound = ShapeInputs.select(imported, in);
                pm = new PassManager(Pipeline.standard(Map.of(), bound, DType.F32, true), Set.of(), PassManager.Options.defaults(), Graph::toString);
                fused = pm.run(imported);
            } catch (KilnException e) {
                continue; // cases the compiler refuses are CompiledSuiteTest's to count
            }
            if (pm.records().stream().noneMatch(r -> VIEW_PASSES.contains(r.pass()) && !r.counters().isEmpty())) continue;
            changed++;
            List<Tensor> got = Interpreter.run(fused, ShapeInputs.remaining(imported, in, bound));
            List<Path> outs = SuiteData.numbered(c.dataSets().get(0), "output");
            for (int k = 0; k < outs.size(); k++) {
                Tensor want = TensorCodec.readFile(outs.get(k));
                Tolerance tol = c.suite().equals("models") ? Tolerance.forModel(want.dtype()) : Tolerance.forCase(want.dtype());
                Comparison cmp = Comparison.compare(got.get(k), want, tol);
                if (!cmp.passed()) wrong.add(c.id() + " output " + k + ": " + cmp.reason());
            }
        }
        System.out.printf("fuse-views: %d suite cases changed by the view passes, %d wrong%n", changed, wrong.size());
        assertTrue(changed >= 3, "the three transformer models at least: " + changed);
        if (!wrong.isEmpty()) fail("the view passes changed results:\n" + String.join("\n", wrong));
    }
}
