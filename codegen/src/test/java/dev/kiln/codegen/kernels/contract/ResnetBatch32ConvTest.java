package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.codegen.kernels.gemm.GemmConfig;
import dev.kiln.codegen.kernels.gemm.GemmHeuristic;
import dev.kiln.codegen.kernels.gemm.GemmProblem;
import dev.kiln.ir.Attr;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Node;
import dev.kiln.ir.Value;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ResNet-50's compute-bound convs at batch 32 (f16, channels-last; issue 8): thousands of output pixels by
 * 64-512 channels. The candidates the autotuner times include tall mma.sync tiles and wgmma tiles, the
 * heuristic's default is a big tile while the grid still fills the SMs several times, and every candidate
 * compiles for sm_90a without spills. Writes the candidates (label, estimate, registers, shared memory, grid)
 * to {@code codegen/target/resnet-b32-convs.txt}, the sources to {@code codegen/target/resnet-b32-kernels/}.
 */
class ResnetBatch32ConvTest {
    /** x NHWC, w [M,kh,kw,C], stride, pad. */
    record Case(String name, String x, String w, long stride, long pad) {}

    static final List<Case> CASES = List.of(
            new Case("stem 7x7/2 C=8", "32x224x224x8", "64x7x7x8", 2, 3),
            new Case("3x3 64 56x56", "32x56x56x64", "64x3x3x64", 1, 1),
            new Case("3x3/2 128 56->28", "32x56x56x128", "128x3x3x128", 2, 1),
            new Case("3x3 128 28x28", "32x28x28x128", "128x3x3x128", 1, 1),
            new Case("3x3 256 14x14", "32x14x14x256", "256x3x3x256", 1, 1),
            new Case("3x3 512 7x7", "32x7x7x512", "512x3x3x512", 1, 1),
            new Case("1x1 256->64 56x56", "32x56x56x256", "64x1x1x256", 1, 0));

    static final CodegenOptions O = CodegenOptions.defaults();

    static Graph outer(Case c) {
        GraphBuilder g = new GraphBuilder("body");
        Value x = g.input("x", Fixtures.type("f16", c.x())), w = g.input("w", Fixtures.type("f16", c.w()));
        Value b = g.input("b", Fixtures.type("f16", c.w().split("x")[0]));
        Value y = g.op("NhwcConv", Map.of("strides", Attr.ints(c.stride(), c.stride()), "pads", Attr.ints(c.pad(), c.pad(), c.pad(), c.pad())), x, w, b);
        return Fixtures.outer("conv", "conv,relu", g.output(g.op("Relu", y)).build());
    }

    static List<String> candidates(Graph outer) { return new ConvTemplate().candidates(Fixtures.fused(outer), outer, new CodegenContext(O)); }

    @Test
    void largeMapsOfferTallAndWgmmaTilesAndDefaultToABigTile() {
        for (Case c : CASES) {
            Graph outer = outer(c);
            GemmProblem p = ConvTemplate.problem(Fixtures.fused(outer), O);
            assertTrue(p.asyncA() && p.asyncB(), c.name() + ": 16-byte runs of both operands");
            List<GemmConfig> cands = candidates(outer).stream().map(GemmConfig::parse).toList();
            GemmConfig def = ConvTuning.choose(p);
            assertTrue(cands.get(0).equals(def), "the default comes first");
            if (p.m() * p.n() >= 2048L * 128 * 128) { // the grid of 128x128 tiles fills 132 SMs many times over
                assertTrue((long) def.bm() * def.bn() >= 128 * 64, c.name() + ": a big default tile, not " + def.label());
                assertTrue(cands.stream().anyMatch(g -> g.path() == GemmConfig.Path.WGMMA), c.name() + ": a wgmma candidate in " + cands);
                assertTrue(cands.stream().anyMatch(g -> g.path() == GemmConfig.Path.MMA && g.bm() >= 128), c.name() + ": a tall mma.sync candidate in " + cands);
            }
        }
    }

    @Test
    void everyCandidateCompilesWithoutSpills() throws IOException {
        // one nvcc run for all kernels (sm_90a: the wgmma ones need the arch-specific target), each under its own entry
        List<String> sources = new ArrayList<>(), rows = new ArrayList<>(), entries = new ArrayList<>();
        StringBuilder head = new StringBuilder();
        for (Case c : CASES) {
            Graph outer = outer(c);
            Node f = Fixtures.fused(outer);
            GemmProblem p = ConvTemplate.problem(f, O);
            head.append(c.name()).append(": M=").append(p.m()).append(" N=").append(p.n()).append(" K=").append(p.k()).append(", default ")
                    .append(ConvTuning.choose(p).label()).append('\n');
            for (String l : candidates(outer)) {
                GemmConfig cfg = GemmConfig.parse(l);
                String entry = "conv_k" + sources.size();
                KernelSpec k = new ConvTemplate().emit(f, O, entry, cfg).get(0);
                sources.add(k.source());
                Path cu = Path.of("target", "resnet-b32-kernels", (c.name() + " " + l).replaceAll("[^A-Za-z0-9]+", "_") + ".cu");
                Files.createDirectories(cu.getParent());
                Files.writeString(cu, k.source());
                entries.add(entry);
                rows.add(c.name() + " | " + l + " | " + String.format("%.1f", GemmHeuristic.cost(p, cfg)) + " | %s | %s | " + cfg.sharedBytes(p) + " | "
                        + k.grid() + " x " + k.block());
            }
        }
        Map<String, NvccPtx.Resources> res = NvccPtx.resources(sources, "sm_90a");
        StringBuilder table = new StringBuilder(head).append("\nlayer | candidate | est us | registers | spill bytes | smem bytes | grid x block\n");
        List<String> spills = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            NvccPtx.Resources r = res.get(entries.get(i));
            assertTrue(r != null, "ptxas reported " + entries.get(i));
            table.append(String.format(rows.get(i), r.registers(), r.spillStores() + r.spillLoads())).append('\n');
            if (r.spillStores() + r.spillLoads() > 0) spills.add(rows.get(i));
        }
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target", "resnet-b32-convs.txt"), table);
        assertTrue(spills.isEmpty(), "spills: " + spills + "\n" + table);
    }
}
