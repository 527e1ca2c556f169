package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.kernels.gemm.GemmConfig;
import dev.kiln.codegen.kernels.gemm.GemmHeuristic;
import dev.kiln.codegen.kernels.gemm.GemmProblem;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Node;
import dev.kiln.ir.Value;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The channels-last kernels of ResNet-50, MobileNetV2, ConvNeXt and ResNeXt layers (f16, batch 1) compile for
 * sm_90 without spills: the heuristic's config and, for the engine convs the report names, its candidates (all eight for the stem and the three
 * shapes the issue names). Writes registers, candidates and estimated times to {@code codegen/target/nhwc-conv-registers.txt}, the
 * sources to {@code codegen/target/nhwc-kernels/}.
 */
class NhwcConvCompileTest {
    /** x NHWC, w [M,kh,kw,C/g], stride, pad, group; "name". */
    record Case(String name, String x, String w, long stride, long pad, long group, int candidates) {}

    static final List<Case> CASES = List.of(
            new Case("resnet stem 7x7/2 C=3", "1x224x224x3", "64x7x7x3", 2, 3, 1, 8),
            new Case("resnet stem, C padded to 8", "1x224x224x8", "64x7x7x8", 2, 3, 1, 1),
            new Case("resnet 3x3 64->64 56x56", "1x56x56x64", "64x3x3x64", 1, 1, 1, 8),
            new Case("resnet 1x1 64->256 56x56", "1x56x56x64", "256x1x1x64", 1, 0, 1, 1),
            new Case("resnet 3x3/2 128 56->28", "1x56x56x128", "128x3x3x128", 2, 1, 1, 1),
            new Case("resnet 3x3 512->512 7x7", "1x7x7x512", "512x3x3x512", 1, 1, 1, 8),
            new Case("resnet 1x1/2 1024->2048", "1x14x14x1024", "2048x1x1x1024", 2, 0, 1, 1),
            new Case("mobilenet 1x1 384->64 14x14", "1x14x14x384", "64x1x1x384", 1, 0, 1, 8),
            new Case("mobilenet dw 3x3/2 112x112x96", "1x112x112x96", "96x3x3x1", 2, 1, 96, 1),
            new Case("mobilenet dw 3x3 56x56x144", "1x56x56x144", "144x3x3x1", 1, 1, 144, 1),
            new Case("mobilenet dw 3x3 7x7x960", "1x7x7x960", "960x3x3x1", 1, 1, 960, 1),
            new Case("convnext dw 7x7 56x56x96", "1x56x56x96", "96x7x7x1", 1, 3, 96, 1),
            new Case("resnext 3x3 g32 128 56x56", "1x56x56x128", "128x3x3x4", 1, 1, 32, 1));

    @Test
    void modelLayersCompileWithoutSpills() throws IOException {
        StringBuilder table = new StringBuilder("layer | kernel | registers | spills | est us\n");
        CodegenOptions o = CodegenOptions.defaults();
        List<String> spills = new java.util.ArrayList<>();
        for (Case c : CASES) {
            GraphBuilder g = new GraphBuilder("body");
            Value x = g.input("x", Fixtures.type("f16", c.x())), w = g.input("w", Fixtures.type("f16", c.w()));
            Value b = g.input("b", Fixtures.type("f16", c.w().split("x")[0]));
            Value y = g.op("NhwcConv", Map.of("strides", Attr.ints(c.stride(), c.stride()), "group", Attr.of(c.group()),
                    "pads", Attr.ints(c.pad(), c.pad(), c.pad(), c.pad())), x, w, b);
            Graph body = g.output(g.op("Relu", y)).build();
            Graph outer = Fixtures.outer("conv", "conv,relu", body);
            Node f = Fixtures.fused(outer);
            GemmProblem p = ConvTemplate.problem(f, o);
            List<String> labels = p == null ? List.of("") : new ConvTemplate().candidates(f, outer, new CodegenContext(o));
            for (String l : labels.subList(0, Math.min(c.candidates(), labels.size()))) {
                GemmConfig cfg = l.isEmpty() ? null : GemmConfig.parse(l);
                KernelSpec k = new ConvTemplate().emit(f, o, "conv_k", cfg).get(0);
                PtxasUsage u = PtxasUsage.of(k.source());
                Path cu = Path.of("target", "nhwc-kernels", (c.name() + (cfg == null ? "" : " " + cfg.label())).replaceAll("[^A-Za-z0-9]+", "_") + ".cu");
                Files.createDirectories(cu.getParent());
                Files.writeString(cu, k.source());
                String what = k.source().lines().skip(1).findFirst().orElse("").replaceFirst("^// ", "");
                table.append(c.name()).append(" | ").append(what.substring(what.lastIndexOf(", ") + 2)).append(" | ").append(u.registers())
                        .append(" | ").append(u.spillStores() + u.spillLoads()).append(" | ")
                        .append(cfg == null ? "-" : String.format("%.1f", GemmHeuristic.cost(p, cfg)))
                        .append(" | grid ").append(k.grid()).append(" block ").append(k.block()).append('\n');
                if (u.spillStores() + u.spillLoads() > 0) spills.add(c.name() + " " + what);
            }
            if (p != null) assertTrue(c.x().endsWith("x3") != (p.asyncA()), c.name() + ": 16-byte loads exactly when C is a multiple of 8");
        }
        Path out = Path.of("target", "nhwc-conv-registers.txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, table.toString());
        assertEquals(List.of(), spills, "kernels that spill");
    }
}
