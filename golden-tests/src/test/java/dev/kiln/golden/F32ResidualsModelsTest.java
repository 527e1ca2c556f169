package dev.kiln.golden;

import dev.kiln.frontend.ImportedModel;
import dev.kiln.frontend.OnnxImporter;
import dev.kiln.frontend.TensorCodec;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.ref.Interpreter;
import dev.kiln.passes.Pass;
import dev.kiln.passes.PassManager;
import dev.kiln.passes.Pipeline;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The suite's four real models in f16 through the reference interpreter (each op rounded to f16 as the IR says),
 * with the residual stream in f32 and without: the relative L2 error against the same pipeline in f32 is printed
 * for both and, with the stream in f32, is no worse (transformers; BERT is post-LN, so its stream was f32 already)
 * or the graph is unchanged (MobileNetV2, which has no normalization).
 */
class F32ResidualsModelsTest {
    static final List<String> MODELS = List.of("vit_tiny", "bert_tiny", "gpt2_tiny", "mobilenet_v2");

    /** The standard pipeline up to and including convert-precision. */
    static List<Pass> prefix(DType dt, boolean f32Residuals) {
        return Pipeline.before(Pipeline.standard(Map.of(), Map.of(), dt, true, true, f32Residuals), "fuse-epilogues");
    }

    static Graph lower(Graph g, DType dt, boolean f32Residuals) {
        return new PassManager(prefix(dt, f32Residuals), Set.of(), PassManager.Options.defaults(), Graph::toString).run(g);
    }

    /** The largest relative L2 error over the float outputs. */
    static double relL2(List<Tensor> want, List<Tensor> got) {
        double worst = 0;
        for (int k = 0; k < want.size(); k++) {
            Tensor w = want.get(k), g = got.get(k);
            if (!w.dtype().isFloat()) continue;
            double num = 0, den = 0;
            for (int i = 0; i < w.numel(); i++) {
                double d = w.getDouble(i) - g.getDouble(i);
                num += d * d;
                den += w.getDouble(i) * w.getDouble(i);
            }
            worst = Math.max(worst, Math.sqrt(num / den));
        }
        return worst;
    }

    @TestFactory
    Stream<DynamicTest> f16ErrorWithTheStreamInF32IsNoWorse() {
        Path root = SuiteData.root().resolve("models");
        Assumptions.assumeTrue(root.resolve("vit_tiny").toFile().isDirectory(), SuiteData::missingMessage);
        return MODELS.stream().map(name -> DynamicTest.dynamicTest(name, () -> {
            Path dir = root.resolve(name);
            ImportedModel m = new OnnxImporter().importModel(dir.resolve("model.onnx"));
            List<Tensor> in = new ArrayList<>();
            for (Path p : SuiteData.numbered(dir.resolve("test_data_set_0"), "input")) in.add(TensorCodec.readFile(p));
            Graph withStream = lower(m.graph(), DType.F16, true), without = lower(m.graph(), DType.F16, false);
            List<Tensor> want = Interpreter.run(lower(m.graph(), DType.F32, true), in);
            double on = relL2(want, Interpreter.run(withStream, in)), off = relL2(want, Interpreter.run(without, in));
            System.out.printf("f32-residuals %-13s f16 relative L2 vs f32: stream f32 %.3e, stream f16 %.3e%n", name, on, off);
            if (name.equals("mobilenet_v2")) {
                // no normalization, so no stream: the same graph (its outputs, near 1e-9, are below f16's range anyway)
                assertEquals(without.toString(), withStream.toString());
                return;
            }
            assertTrue(on > 0, "f16 changes the result");
            assertTrue(on <= off, name + ": " + on + " with the stream in f32, " + off + " without");
        }));
    }
}
