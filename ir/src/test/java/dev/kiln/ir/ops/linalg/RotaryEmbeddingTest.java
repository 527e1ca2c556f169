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

/** RotaryEmbedding with angles of 90 and 0 degrees (cos/sin 0/1), so each rotated pair is worked out by hand. */
class RotaryEmbeddingTest {
    private static final Tensor X = f32(s(1, 1, 1, 4), 1, 2, 3, 4);
    // angle 0 rotates by 90 degrees, angle 1 by 0
    private static final Tensor COS = f32(s(1, 1, 2), 0, 1), SIN = f32(s(1, 1, 2), 1, 0);

    @Test void halvesRotate() {
        // pairs (x0,x2) = (1,3) -> (-3,1); (x1,x3) = (2,4) unchanged
        close(op1("RotaryEmbedding", Map.of(), X, COS, SIN), s(1, 1, 1, 4), 0, -3, 2, 1, 4);
    }

    @Test void interleavedPairsRotate() {
        // pairs (x0,x1) = (1,2) -> (-2,1); (x2,x3) unchanged
        close(op1("RotaryEmbedding", Map.of("interleaved", Attr.of(1)), X, COS, SIN), s(1, 1, 1, 4), 0, -2, 1, 3, 4);
    }

    @Test void partialRotationLeavesTheRest() {
        Tensor c = f32(s(1, 1, 1), 0), sn = f32(s(1, 1, 1), 1);
        close(op1("RotaryEmbedding", Map.of("rotary_embedding_dim", Attr.of(2)), X, c, sn), s(1, 1, 1, 4), 0, -2, 1, 3, 4);
    }

    @Test void positionIdsSelectCacheRows() {
        Tensor c = f32(s(3, 2), 1, 1, 9, 9, 0, 1), sn = f32(s(3, 2), 0, 0, 9, 9, 1, 0);
        Tensor pos = Tensor.ofLongs(DType.I64, s(1, 1), new long[] {2});
        close(op1("RotaryEmbedding", Map.of(), X, c, sn, pos), s(1, 1, 1, 4), 0, -3, 2, 1, 4);
    }

    @Test void threeDimensionalInputSplitsHeads() {
        Tensor c = f32(s(1, 1, 1), 0), sn = f32(s(1, 1, 1), 1);
        // two heads of size 2: (1,2) -> (-2,1), (3,4) -> (-4,3)
        close(op1("RotaryEmbedding", Map.of("num_heads", Attr.of(2)), f32(s(1, 1, 4), 1, 2, 3, 4), c, sn), s(1, 1, 4), 0, -2, 1, -4, 3);
    }

    @Test void shapeRuleKeepsTheInputType() {
        TensorType x = new TensorType(DType.F32, Shape.of(Dim.sym("B"), Dim.of(4), Dim.sym("S"), Dim.of(8)));
        assertEquals(x, Run.infer("RotaryEmbedding", Map.of(), 1, x, TensorType.of(DType.F32, 50, 4),
                TensorType.of(DType.F32, 50, 4), new TensorType(DType.I64, Shape.of(Dim.sym("B"), Dim.sym("S")))).get(0));
    }

    @Test void badInputsAreTypedErrors() {
        TensorType x3 = TensorType.of(DType.F32, 1, 1, 4), cache = TensorType.of(DType.F32, 1, 1, 2);
        assertThrows(ShapeException.class, () -> Run.infer("RotaryEmbedding", Map.of(), 1, x3, cache, cache));
        assertThrows(InvalidModelException.class, () -> Run.infer("RotaryEmbedding", Map.of("interleaved", Attr.of(2)), 1,
                X.type(), cache, cache));
        assertThrows(ShapeException.class, () -> op1("RotaryEmbedding", Map.of("rotary_embedding_dim", Attr.of(3)), X,
                f32(s(1, 1, 1), 0), f32(s(1, 1, 1), 1)));
    }
}
