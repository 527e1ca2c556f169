package dev.kiln.passes;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** fold-batchnorm against the reference: random Conv/Gemm/MatMul + BN; f32 rtol 1e-5, atol 1e-5 (weights rounded once). */
class FoldBatchNormPassTest {
    private static final DType F = DType.F32;

    private static Value c(Random r, GraphBuilder b, double lo, double hi, long... s) { return b.constant(RefCheck.random(r, F, s, lo, hi)); }

    private static Value bn(Random r, GraphBuilder b, Value x, long ch) {
        return b.op("BatchNormalization", Map.of("epsilon", Attr.of(1e-3)), x, c(r, b, -2, 2, ch), c(r, b, -2, 2, ch),
                c(r, b, -1, 1, ch), c(r, b, 0.1, 2, ch));
    }

    @Property(tries = 100)
    void foldedGraphComputesTheSameAndHasNoBatchNorm(@ForAll long seed, @ForAll @IntRange(min = 0, max = 2) int kind) {
        Random r = new Random(seed);
        GraphBuilder b = new GraphBuilder("g");
        long m = 1 + r.nextInt(3), k = 1 + r.nextInt(3), n = 1 + r.nextInt(4);
        Value y = switch (kind) {
            case 0 -> { // Conv, with or without bias, grouped or not
                long groups = r.nextBoolean() ? 1 : k;
                Value x = b.input("x", TensorType.of(F, 1, k, 3, 3));
                long out = groups * n;
                Value w = c(r, b, -1, 1, out, k / groups, 2, 2);
                Value conv = r.nextBoolean() ? b.op("Conv", Map.of("group", Attr.of(groups)), x, w)
                        : b.op("Conv", Map.of("group", Attr.of(groups)), x, w, c(r, b, -1, 1, out));
                yield bn(r, b, conv, out);
            }
            case 1 -> {
                boolean tb = r.nextBoolean();
                Value a = b.input("a", TensorType.of(F, m, k));
                Value w = c(r, b, -1, 1, tb ? n : k, tb ? k : n);
                Value gemm = r.nextBoolean()
                        ? b.op("Gemm", Map.of("transB", Attr.of(tb ? 1 : 0), "alpha", Attr.of(0.5)), a, w)
                        : b.op("Gemm", Map.of("transB", Attr.of(tb ? 1 : 0), "beta", Attr.of(2.0)), a, w,
                                c(r, b, -1, 1, r.nextBoolean() ? new long[] {n} : new long[] {m, n}));
                yield bn(r, b, gemm, n);
            }
            default -> bn(r, b, b.op("MatMul", b.input("a", TensorType.of(F, m, k)), c(r, b, -1, 1, k, n)), n);
        };
        Graph g = b.output(y).build();
        PassContext ctx = new PassContext();
        Graph f = RefCheck.run(new FoldBatchNorm().run(g, ctx), new EliminateDeadCode());
        assertEquals(0, RefCheck.count(f, "BatchNormalization"));
        assertEquals(1, ctx.counters().size(), ctx.summary());
        RefCheck.assertSameSemantics(g, f, RefCheck.inputs(g, r), 1e-5);
    }

    @Property(tries = 20)
    void sharedProducerIsLeftAlone(@ForAll long seed) {
        Random r = new Random(seed);
        GraphBuilder b = new GraphBuilder("g");
        Value mm = b.op("MatMul", b.input("a", TensorType.of(F, 2, 3)), c(r, b, -1, 1, 3, 2));
        Value y = bn(r, b, mm, 2);
        Graph g = b.output(y).output(mm).build(); // the MatMul result is also a graph output
        assertEquals(g, new FoldBatchNorm().run(g, new PassContext()));
    }
}
