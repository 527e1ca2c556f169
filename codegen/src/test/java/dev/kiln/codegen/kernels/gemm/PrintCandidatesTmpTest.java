package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CodegenOptions;
import dev.kiln.ir.DType;
import org.junit.jupiter.api.Test;

class PrintCandidatesTmpTest {
    @Test void print() {
        StringBuilder sb = new StringBuilder();
        for (long[] s : GemmCompileTest.SHAPES) {
            if (s[0] > 256) continue;
            GemmProblem p = GemmCompileTest.problem(DType.F16, CodegenOptions.defaults(), s, false);
            sb.append(s[0] + "x" + s[1] + "x" + s[2] + "  top5 " + GemmHeuristic.candidates(p, 5) + "\n");
            for (GemmConfig c : GemmHeuristic.candidates(p, 8))
                sb.append(String.format("   %-30s splits %2d blocks %4d cost %.2f occ %d smem %d%n", c.label(), c.splits(p), c.tiles(p) * c.splits(p), GemmHeuristic.cost(p, c), GemmHeuristic.occupancy(p, c), c.sharedBytes(p)));
        }
        try { java.nio.file.Files.writeString(java.nio.file.Path.of("/tmp/sm/cands.txt"), sb); } catch (Exception e) { throw new RuntimeException(e); }
    }
}
