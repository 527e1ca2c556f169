package dev.kiln.exec;

import dev.kiln.CompileOptions;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.bundle.BundleReader;
import dev.kiln.bundle.BundleWriter;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.runtime.TensorMap;
import dev.kiln.runtime.plan.ExecutionPlan;
import dev.kiln.runtime.plan.ExecutionPlan.Arg;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * A TMA GEMM's plan (no GPU needed): under {@code -Dkiln.tma=true} the MatMul launch ends with a tensor maps
 * argument whose two maps sit over the launch's A and B pointers (the graph inputs' arena slots) with their
 * geometry, and the plan survives a bundle. Without the property no plan has maps.
 */
class TmaPlanTest {
    static final CompileOptions OPTS = CompileOptions.defaults().withArch("sm_90").withTune(CompileOptions.Tune.NONE).withPlanCache(false);

    static Graph matmul(long m, long k, long n) {
        GraphBuilder g = new GraphBuilder("tma");
        Value x = g.input("x", TensorType.of(DType.F16, m, k)), w = g.input("w", TensorType.of(DType.F16, k, n));
        return g.output(g.op("MatMul", x, w)).build();
    }

    @AfterEach void clear() { System.clearProperty("kiln.tma"); }

    @Test void theMatMulLaunchCarriesMapsOverItsOperands(@TempDir Path dir) {
        System.setProperty("kiln.tma", "true");
        try (CompiledModel m = Kiln.compile(matmul(1030, 520, 1048), OPTS)) {
            ExecutionPlan p = m.plan();
            ExecutionPlan.Launch gemm = p.launches().stream().filter(l -> l.args().getLast() instanceof Arg.TensorMaps).findFirst().orElseThrow();
            List<Arg.TensorMaps.Over> maps = ((Arg.TensorMaps) gemm.args().getLast()).maps();
            assertEquals(2, maps.size());
            long x = p.inputs().get(0).offset(), w = p.inputs().get(1).offset();
            assertEquals(new Arg.ArenaPtr(x), gemm.args().get(maps.get(0).arg()), "A's map over x");
            assertEquals(new Arg.ArenaPtr(w), gemm.args().get(maps.get(1).arg()), "B's map over w");
            // A [M, K] row-major: K-major, box 64 k x the tile's rows; B [K, N] row-major: MN-major, 64 x 64 boxes
            TensorMap a = maps.get(0).map(), b = maps.get(1).map();
            assertEquals(List.of(520L, 1030L), a.dims());
            assertEquals(List.of(1040L), a.strideBytes());
            assertEquals(64, a.box().get(0));
            assertEquals(List.of(1048L, 520L), b.dims());
            assertEquals(List.of(2096L), b.strideBytes());
            assertEquals(List.of(64, 64), b.box());
            assertEquals(TensorMap.Element.F16, a.element());
            assertEquals(TensorMap.Swizzle.B128, b.swizzle());
            Path f = dir.resolve("tma.kiln");
            BundleWriter.write(m, f, BundleWriter.Binaries.NONE);
            try (CompiledModel back = BundleReader.read(f).model()) {
                assertEquals(p, back.plan());
            }
        }
    }

    @Test void turnedOffNoPlanHasMaps() {
        System.setProperty("kiln.tma", "false");
        try (CompiledModel m = Kiln.compile(matmul(1030, 520, 1048), OPTS)) {
            assertFalse(m.plan().launches().stream().anyMatch(l -> l.args().stream().anyMatch(a -> a instanceof Arg.TensorMaps)));
        }
    }
}
