package dev.kiln.golden;

import dev.kiln.CompileOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.exec.ModelCompiler;
import dev.kiln.frontend.OnnxImporter;
import dev.kiln.ir.Node;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.runtime.plan.ExecutionPlan;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Repeated layers compile to the same kernels: in each model of the suite, launches whose absorbed ONNX nodes
 * differ only in the layer number ({@code layer.0/...} and {@code layer.1/...}) and whose arguments have the
 * same types run one kernel, so the plan holds fewer kernels than launches and NVRTC compiles each once.
 * (Types may differ at the ends: with fp16, the last layer may write the f32 that the final LayerNorm reads.)
 */
class SharedKernelsTest {
    /** {@code /m/encoder/layer.1/attention/...} -> {@code /m/encoder/layer.#/attention/...} (BERT, GPT-2, ViT naming). */
    static String layerless(String label) { return label.replaceAll("\\b(layer|layers|h|block|blocks)\\.\\d+", "$1.#"); }

    @TestFactory
    Stream<DynamicTest> launchesOfRepeatedLayersShareKernels() throws IOException {
        Assumptions.assumeTrue(SuiteData.available(), SuiteData::missingMessage);
        return SuiteData.cases().stream().filter(c -> c.suite().equals("models")).flatMap(c -> Stream.of(CompileOptions.Precision.FP32,
                CompileOptions.Precision.FP16).map(p -> DynamicTest.dynamicTest(c.name() + " " + p.text(), () -> {
            var imported = new OnnxImporter().importModel(c.dir().resolve("model.onnx")).graph();
            var r = ModelCompiler.compile(imported, CompileOptions.defaults().withPrecision(p), "sm_90");
            ExecutionPlan plan = r.plan();
            Map<String, TensorType> types = new HashMap<>();
            for (Value v : r.graph().inputs()) types.put(v.name(), v.type());
            for (Node n : r.graph().nodes()) for (Value v : n.outputs()) if (!v.isNone()) types.put(v.name(), v.type());
            // the n-th launch for some nodes of layer 0 against the n-th for the same nodes of layer 1 (a node may
            // take several launches: a Split one per output, attention two), when their arguments' types agree
            Map<String, Set<Integer>> kernelsOf = new HashMap<>();
            Map<String, Integer> seen = new HashMap<>();
            int numbered = 0;
            for (int i = 0; i < r.kernels().size(); i++) {
                KernelSpec k = r.kernels().get(i);
                ExecutionPlan.Launch l = plan.launches().get(i);
                assertEquals(String.join(",", k.origins()), l.label());
                if (!layerless(l.label()).equals(l.label())) numbered++;
                List<String> signature = new ArrayList<>();
                for (KernelSpec.Param q : k.params()) signature.add(q instanceof KernelSpec.Param.Buffer b ? types.get(b.value()).toString() : q.toString());
                int nth = seen.merge(l.label(), 1, Integer::sum);
                kernelsOf.computeIfAbsent(layerless(l.label()) + " (launch " + nth + ") " + signature, x -> new TreeSet<>()).add(l.kernel());
            }
            System.out.printf("%s %s: %s (%d launches in numbered layers)%n", c.name(), p.text(), r.report().kernelSummary(), numbered);
            kernelsOf.forEach((group, ks) -> assertEquals(1, ks.size(), "launches of " + group + " in different layers run kernels " + ks));
            if (numbered > 0) assertTrue(plan.kernels().size() < plan.launches().size(), r.report().kernelSummary());
            List<String> sources = plan.kernels().stream().map(ExecutionPlan.KernelSource::source).toList();
            assertEquals(sources.size(), Set.copyOf(sources).size(), "the plan holds each kernel source once");
        })));
    }
}
