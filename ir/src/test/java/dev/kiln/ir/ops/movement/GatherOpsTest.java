package dev.kiln.ir.ops.movement;

import dev.kiln.ir.DType;
import dev.kiln.ir.EvaluationException;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.kiln.ir.ops.movement.OpRun.*;
import static org.junit.jupiter.api.Assertions.*;

/** Gather, GatherElements, GatherND, ScatterElements, ScatterND, Compress. */
class GatherOpsTest {
    private static final Map<String, dev.kiln.ir.Attr> NONE = Map.of();
    private static final Tensor X32 = f32(s(3, 2), 1, 2, 3, 4, 5, 6);

    @Test void gather() {
        assertTensor(run1("Gather", NONE, X32, i64(s(2, 2), 0, 1, 1, 2)), s(2, 2, 2), 1, 2, 3, 4, 3, 4, 5, 6);
        assertTensor(run1("Gather", attrs("axis", 1), X32, i64(s(1), -1)), s(3, 1), 2, 4, 6);
        assertTensor(run1("Gather", NONE, X32, Tensor.scalarLong(DType.I32, 2)), s(2), 5, 6);
        assertEquals(parse("N,2,3"), infer("Gather", attrs("axis", 1), type(DType.F32, "N,4"), type(DType.I64, "2,3")).shape());
        var e = assertThrows(EvaluationException.class, () -> run1("Gather", NONE, X32, i64(s(1), 3)));
        assertEquals("Gather", e.op());
        assertThrows(KilnException.class, () -> infer("Gather", NONE, type(DType.F32, "4"), type(DType.F32, "2")));
    }

    @Test void gatherElements() {
        assertTensor(run1("GatherElements", attrs("axis", 1), f32(s(2, 2), 1, 2, 3, 4), i64(s(2, 2), 0, 0, 1, 0)), s(2, 2), 1, 1, 4, 3);
        Tensor x = f32(s(3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertTensor(run1("GatherElements", NONE, x, i64(s(2, 3), 1, 2, 0, 2, 0, 0)), s(2, 3), 4, 8, 3, 7, 2, 3);
        assertTensor(run1("GatherElements", NONE, x, i32(s(2, 3), -1, -2, 0, -2, 0, 0)), s(2, 3), 7, 5, 3, 4, 2, 3);
        assertThrows(KilnException.class, () -> infer("GatherElements", NONE, type(DType.F32, "3,3"), type(DType.I64, "3")));
    }

    @Test void gatherNd() {
        Tensor x = i32(s(2, 2), 0, 1, 2, 3);
        assertLongs(run1("GatherND", NONE, x, i64(s(2, 2), 0, 0, 1, 1)), DType.I32, s(2), 0, 3);
        assertLongs(run1("GatherND", NONE, x, i64(s(2, 1), 1, 0)), DType.I32, s(2, 2), 2, 3, 0, 1);
        Tensor y = i32(s(2, 2, 2), 0, 1, 2, 3, 4, 5, 6, 7);
        assertLongs(run1("GatherND", attrs("batch_dims", 1), y, i64(s(2, 1), 1, 0)), DType.I32, s(2, 2), 2, 3, 4, 5);
        assertLongs(run1("GatherND", NONE, y, i64(s(2, 1, 2), 0, 1, 1, 0)), DType.I32, s(2, 1, 2), 2, 3, 4, 5);
        assertEquals(parse("B,5"), infer("GatherND", attrs("batch_dims", 1), type(DType.F32, "B,4,5"), type(DType.I64, "B,1")).shape());
        assertThrows(KilnException.class, () -> infer("GatherND", NONE, type(DType.F32, "2,2"), type(DType.I64, "1,3")));
    }

    @Test void scatterElements() {
        assertTensor(run1("ScatterElements", attrs("axis", 1), f32(s(1, 5), 1, 2, 3, 4, 5), i64(s(1, 2), 1, 3), f32(s(1, 2), 1.5, 2.5)),
                s(1, 5), 1, 1.5, 3, 2.5, 5);
        assertTensor(run1("ScatterElements", attrs("axis", 1), f32(s(1, 5), 1, 2, 3, 4, 5), i64(s(1, 2), 1, -3), f32(s(1, 2), 1.5, 2.5)),
                s(1, 5), 1, 1.5, 2.5, 4, 5);
        Tensor data = i64(s(1, 5), 1, 2, 3, 4, 5), dup = i64(s(1, 2), 1, 1), upd = i64(s(1, 2), 10, 20);
        assertLongs(run1("ScatterElements", attrs("axis", 1, "reduction", "add"), data, dup, upd), DType.I64, s(1, 5), 1, 32, 3, 4, 5);
        assertLongs(run1("ScatterElements", attrs("axis", 1, "reduction", "mul"), data, dup, upd), DType.I64, s(1, 5), 1, 400, 3, 4, 5);
        assertLongs(run1("ScatterElements", attrs("axis", 1, "reduction", "max"), data, dup, i64(s(1, 2), 3, 1)), DType.I64, s(1, 5), 1, 3, 3, 4, 5);
        assertLongs(run1("ScatterElements", attrs("axis", 1, "reduction", "min"), data, dup, i64(s(1, 2), 3, 1)), DType.I64, s(1, 5), 1, 1, 3, 4, 5);
        // u64: max compares unsigned, so 2^64-1 beats 5
        Tensor u = Tensor.ofLongs(DType.U64, s(2), new long[] {5, 5});
        assertLongs(run1("ScatterElements", attrs("reduction", "max"), u, i64(s(1), 0), Tensor.ofLongs(DType.U64, s(1), new long[] {-1})),
                DType.U64, s(2), -1, 5);
        assertThrows(InvalidModelException.class, () -> infer("ScatterElements", attrs("reduction", "sum"),
                type(DType.F32, "2"), type(DType.I64, "1"), type(DType.F32, "1")));
        assertThrows(EvaluationException.class, () -> run1("ScatterElements", NONE, data, i64(s(1, 1), 5), i64(s(1, 1), 0)));
    }

    @Test void scatterNd() {
        assertTensor(run1("ScatterND", NONE, iota(8), i64(s(4, 1), 4, 3, 1, 7), f32(s(4), 9, 10, 11, 12)), s(8),
                0, 11, 2, 10, 9, 5, 6, 12);
        assertTensor(run1("ScatterND", NONE, iota(2, 2), i64(s(1, 1), 1), f32(s(1, 2), 5, 6)), s(2, 2), 0, 1, 5, 6);
        assertTensor(run1("ScatterND", attrs("reduction", "add"), iota(2, 2), i64(s(2, 1), 1, 1), f32(s(2, 2), 5, 6, 7, 8)),
                s(2, 2), 0, 1, 14, 17);
        assertTensor(run1("ScatterND", attrs("reduction", "mul"), iota(2, 2), i64(s(2, 2), 0, 1, 0, 1), f32(s(2), 3, 4)),
                s(2, 2), 0, 12, 2, 3);
        assertThrows(EvaluationException.class, () -> run1("ScatterND", NONE, iota(2, 2), i64(s(1, 1), 1), f32(s(1, 3), 5, 6, 7)));
    }

    @Test void compress() {
        Tensor c = Tensor.ofBools(s(3), new boolean[] {false, true, true});
        assertTensor(run1("Compress", attrs("axis", 0), X32, c), s(2, 2), 3, 4, 5, 6);
        assertTensor(run1("Compress", attrs("axis", 1), X32, Tensor.ofBools(s(1), new boolean[] {true})), s(3, 1), 1, 3, 5);
        assertTensor(run1("Compress", NONE, X32, Tensor.ofBools(s(5), new boolean[] {false, true, false, false, true})), s(2), 2, 5);
        assertEquals(parse("N,2"), infer("Compress", attrs("axis", 1), type(DType.F32, "N,4"), k(Tensor.ofBools(s(2), new boolean[] {true, true}))).shape());
        assertEquals(parse("?"), infer("Compress", NONE, type(DType.F32, "N,4"), type(DType.BOOL, "2")).shape());
        assertThrows(EvaluationException.class, () -> run1("Compress", attrs("axis", 1), X32, c));
    }
}
