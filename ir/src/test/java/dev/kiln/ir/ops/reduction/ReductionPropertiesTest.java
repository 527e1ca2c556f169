package dev.kiln.ir.ops.reduction;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Tensor;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

import java.util.List;
import java.util.Map;

import static dev.kiln.ir.ops.reduction.Harness.*;
import static org.junit.jupiter.api.Assertions.*;

/** Algebraic identities between the ops, on random f64 inputs (tolerance 1e-9 relative: double arithmetic). */
class ReductionPropertiesTest {

    private static Tensor t23(List<Double> v) {
        return Tensor.ofDoubles(DType.F64, s(2, 3), v.stream().mapToDouble(Double::doubleValue).toArray());
    }

    @Property(tries = 50)
    void sumOfPartialSumsIsTheTotal(@ForAll @Size(6) List<@DoubleRange(min = -100, max = 100) Double> v,
                                    @ForAll @IntRange(min = -2, max = 1) int axis) {
        Tensor x = t23(v);
        Tensor partial = run1("ReduceSum", Map.of(), x, Tensor.vector(axis));
        double total = run1("ReduceSum", Map.of(), partial).getDouble(0);
        assertEquals(v.stream().mapToDouble(Double::doubleValue).sum(), total, 1e-9 * (1 + Math.abs(total)));
    }

    @Property(tries = 50)
    void logSumExpIsLogOfSumOfExp(@ForAll @Size(6) List<@DoubleRange(min = -30, max = 30) Double> v) {
        Tensor x = t23(v);
        double lse = run1("ReduceLogSumExp", Map.of(), x).getDouble(0);
        double direct = Math.log(v.stream().mapToDouble(Math::exp).sum());
        assertEquals(direct, lse, 1e-9 * (1 + Math.abs(direct)));
    }

    @Property(tries = 50)
    void softmaxRowsSumToOneAndMatchExpOfLogSoftmax(@ForAll @Size(6) List<@DoubleRange(min = -50, max = 50) Double> v) {
        Tensor x = t23(v);
        double[] sm = run1("Softmax", Map.of(), x).toDoubles();
        double[] lsm = run1("LogSoftmax", Map.of(), x).toDoubles();
        for (int r = 0; r < 2; r++) assertEquals(1.0, sm[3 * r] + sm[3 * r + 1] + sm[3 * r + 2], 1e-12);
        for (int i = 0; i < 6; i++) assertEquals(sm[i], Math.exp(lsm[i]), 1e-12);
    }

    @Property(tries = 50)
    void fullTopKIsASortedPermutation(@ForAll @Size(6) List<@IntRange(min = -3, max = 3) Integer> v) {
        long[] l = v.stream().mapToLong(Integer::longValue).toArray();
        Tensor x = Tensor.ofLongs(DType.I32, s(6), l);
        List<Tensor> r = run("TopK", Map.of(), 2, x, Tensor.vector(6));
        long[] vals = r.get(0).toLongs(), idx = r.get(1).toLongs();
        boolean[] seen = new boolean[6];
        for (int i = 0; i < 6; i++) {
            assertEquals(l[(int) idx[i]], vals[i]);
            assertFalse(seen[(int) idx[i]]);
            seen[(int) idx[i]] = true;
            if (i > 0) {
                assertTrue(vals[i - 1] >= vals[i]);
                if (vals[i - 1] == vals[i]) assertTrue(idx[i - 1] < idx[i], "ties keep index order");
            }
        }
        assertEquals(idx[0], run1("ArgMax", Map.of(), x).getLong(0));
    }

    @Property(tries = 30)
    void reverseCumSumIsTotalMinusExclusiveForward(@ForAll @Size(5) List<@IntRange(min = -1000, max = 1000) Integer> v) {
        Tensor x = Tensor.ofLongs(DType.I64, s(5), v.stream().mapToLong(Integer::longValue).toArray());
        Tensor ax = Tensor.scalarLong(DType.I64, 0);
        long[] rev = run1("CumSum", Map.of("reverse", Attr.of(1)), x, ax).toLongs();
        long[] exc = run1("CumSum", Map.of("exclusive", Attr.of(1)), x, ax).toLongs();
        long total = v.stream().mapToLong(Integer::longValue).sum();
        for (int i = 0; i < 5; i++) assertEquals(total - exc[i], rev[i]);
    }
}
