package dev.kiln.profile;

import dev.kiln.CompileOptions;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.TestModels;
import dev.kiln.bundle.BundleWriter;
import dev.kiln.exec.Kernels;
import dev.kiln.exec.LaunchNodes;
import dev.kiln.exec.PlanBuilder;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.ir.Node;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/** Every launch maps to the IR node that made it, from the compiler and again from a bundle's IR. */
class LaunchNodesTest {
    static final CompileOptions OPTS = CompileOptions.defaults().withArch("sm_90");

    static void checkEveryKernelLaunchHasItsNode(CompiledModel m) {
        List<String> nodes = m.launchNodes();
        assertEquals(m.plan().launches().size(), nodes.size());
        Map<String, Node> byOutput = m.graph().nodes().select(n -> !n.outputs().isEmpty()).toMap(n -> n.output(0).name(), n -> n);
        for (int i = 0; i < nodes.size(); i++) {
            var l = m.plan().launches().get(i);
            String entry = m.plan().kernels().get(l.kernel()).entry();
            if (entry.equals(PlanBuilder.CONST_COPY_ENTRY)) {
                assertEquals("", nodes.get(i));
                continue;
            }
            Node n = byOutput.get(nodes.get(i));
            assertNotNull(n, "launch " + i + " (" + entry + ") has no node");
            assertEquals(n.origin(), l.label(), "the launch's label is its node's origin");
        }
    }

    @Test void compiledModelsMapEveryLaunch() {
        for (String name : List.of("bert_tiny", "mobilenet_v2")) {
            for (var p : List.of(CompileOptions.Precision.FP32, CompileOptions.Precision.FP16)) {
                CompiledModel m = Kiln.compile(SharedModels.modelOrSkip(name), OPTS.withPrecision(p));
                checkEveryKernelLaunchHasItsNode(m);
                assertTrue(m.launchNodes().stream().distinct().count() > 10, name + " has many kernel nodes");
            }
        }
    }

    @Test void aLoadedBundleDerivesTheSameMapping(@TempDir Path dir) {
        for (var p : List.of(CompileOptions.Precision.FP32, CompileOptions.Precision.FP16)) {
            CompiledModel m = Kiln.compile(SharedModels.modelOrSkip("gpt2_tiny"), OPTS.withPrecision(p));
            Path f = dir.resolve("m-" + p.text() + ".kiln");
            BundleWriter.write(m, f, BundleWriter.Binaries.NONE);
            try (CompiledModel back = Kiln.load(f)) {
                assertEquals(m.launchNodes(), back.launchNodes());
            }
        }
    }

    @Test void kernelsThatDoNotMatchThePlanAreLeftUnmapped() {
        CompiledModel a = Kiln.compile(TestModels.chain(1), OPTS), b = Kiln.compile(TestModels.reluAdd(), OPTS);
        var fromOther = Kernels.codegen().generateByNode(b.graph(), new CodegenOptions(false, "sm_90"));
        assertEquals(List.of(""), LaunchNodes.match(fromOther, a.plan()));
        var own = Kernels.codegen().generateByNode(a.graph(), new CodegenOptions(false, "sm_90"));
        assertEquals(a.launchNodes(), LaunchNodes.match(own, a.plan()));
        assertEquals(1, a.launchNodes().stream().filter(s -> !s.isEmpty()).collect(Collectors.toSet()).size());
    }
}
