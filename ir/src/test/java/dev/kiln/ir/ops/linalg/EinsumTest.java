package dev.kiln.ir.ops.linalg;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Shape;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.kiln.ir.ops.linalg.Run.*;
import static org.junit.jupiter.api.Assertions.*;

/** Einsum equations against hand-worked results (f64 exact on these small integers-valued inputs). */
class EinsumTest {
    private static Map<String, Attr> eq(String e) { return Map.of("equation", Attr.of(e)); }
    private static Tensor f64(long[] shape, double... v) { return Tensor.ofDoubles(DType.F64, shape, v); }

    @Test void explicitTranspose() {
        close(op1("Einsum", eq("ij->ji"), f64(s(2, 3), 1, 2, 3, 4, 5, 6)), s(3, 2), 0, 1, 4, 2, 5, 3, 6);
    }

    @Test void implicitOutputSortsSingleLabels() {
        // "ba" means output "ab": a transpose
        close(op1("Einsum", eq("ba"), f64(s(2, 3), 1, 2, 3, 4, 5, 6)), s(3, 2), 0, 1, 4, 2, 5, 3, 6);
        // "i,i": i is repeated, so it is summed: inner product 1*4+2*5+3*6
        close(op1("Einsum", eq("i, i"), f64(s(3), 1, 2, 3), f64(s(3), 4, 5, 6)), s(), 0, 32);
        // "ij,jk" is a matmul
        close(op1("Einsum", eq("ij,jk"), f64(s(2, 2), 1, 2, 3, 4), f64(s(2, 2), 5, 6, 7, 8)), s(2, 2), 0, 19, 22, 43, 50);
    }

    @Test void repeatedLabelReadsDiagonal() {
        close(op1("Einsum", eq("ii"), f64(s(2, 2), 1, 2, 3, 4)), s(), 0, 5); // trace
        close(op1("Einsum", eq("ii->i"), f64(s(2, 2), 1, 2, 3, 4)), s(2), 0, 1, 4);
        close(op1("Einsum", eq("...ii->...i"), f64(s(2, 2, 2), 1, 2, 3, 4, 5, 6, 7, 8)), s(2, 2), 0, 1, 4, 5, 8);
    }

    @Test void ellipsisBroadcastsAndReduces() {
        // row-wise dot products of [[1,2],[3,4]] with [1,10]
        close(op1("Einsum", eq("...i,...i->..."), f64(s(2, 2), 1, 2, 3, 4), f64(s(2), 1, 10)), s(2), 0, 21, 43);
        // batch matmul with a broadcast batch of 1
        Tensor a = f64(s(2, 1, 2), 1, 2, 3, 4), b = f64(s(1, 2, 1), 1, 1);
        close(op1("Einsum", eq("...ij,...jk->...ik"), a, b), s(2, 1, 1), 0, 3, 7);
        // scalar operand, empty equation terms
        close(op1("Einsum", eq("->"), f64(s(), 7)), s(), 0, 7);
    }

    @Test void integersAreExact() {
        long big = (1L << 53) + 1; // not representable in double
        Tensor t = Tensor.ofLongs(DType.I64, s(1, 2), new long[] {big, 2});
        assertEquals(big + 2, op1("Einsum", eq("ij->i"), t).getLong(0));
    }

    @Test void symbolicShapeRule() {
        TensorType a = new TensorType(DType.F32, Shape.of(Dim.sym("B"), Dim.of(2), Dim.of(3)));
        TensorType b = new TensorType(DType.F32, Shape.of(Dim.sym("B"), Dim.of(3), Dim.sym("K")));
        assertEquals(Shape.of(Dim.sym("B"), Dim.of(2), Dim.sym("K")), Run.infer("Einsum", eq("bij,bjk->bik"), 1, a, b).get(0).shape());
        TensorType u = new TensorType(DType.F32, Shape.UNRANKED);
        assertEquals(Shape.unknown(2), Run.infer("Einsum", eq("ij,jk->ik"), 1, u, b).get(0).shape());
    }

    @Test void badEquationsAreTypedErrors() {
        TensorType m = TensorType.of(DType.F32, 2, 3);
        assertThrows(InvalidModelException.class, () -> Run.infer("Einsum", eq("ij->k"), 1, m));
        assertThrows(InvalidModelException.class, () -> Run.infer("Einsum", eq("ij,jk->ik"), 1, m));
        assertThrows(InvalidModelException.class, () -> Run.infer("Einsum", eq("i.j"), 1, m));
        assertThrows(InvalidModelException.class, () -> Run.infer("Einsum", Map.of(), 1, m));
        assertThrows(ShapeException.class, () -> Run.infer("Einsum", eq("ijk"), 1, m));
        assertThrows(ShapeException.class, () -> Run.infer("Einsum", eq("ij,ij"), 1, m, TensorType.of(DType.F32, 3, 2)));
    }
}
