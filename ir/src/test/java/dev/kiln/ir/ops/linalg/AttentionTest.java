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

import java.util.List;
import java.util.Map;

import static dev.kiln.ir.ops.linalg.Run.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Attention on one-feature heads, where scores are easy by hand: with q = 1 and keys [0, ln 3] the softmax
 * weights are [1/4, 3/4], so values [4, 8] give 7. f32 tolerance 1e-6.
 */
class AttentionTest {
    private static final double LN3 = Math.log(3);
    private static final Tensor K = f32(s(1, 1, 2, 1), 0, LN3), V = f32(s(1, 1, 2, 1), 4, 8);

    private static Tensor q(double... v) { return f32(s(1, 1, v.length, 1), v); }

    @Test void weightsFollowTheSoftmaxOfScores() {
        close(op1("Attention", Map.of(), q(1), K, V), s(1, 1, 1, 1), 1e-6, 7);
        // scale 0 makes every score 0: the plain mean of V
        close(op1("Attention", Map.of("scale", Attr.of(0.0)), q(1), K, V), s(1, 1, 1, 1), 1e-6, 6);
    }

    @Test void causalMaskHidesLaterKeys() {
        // row 0 sees key 0 only; row 1 sees both
        close(op1("Attention", Map.of("is_causal", Attr.of(1)), q(1, 1), K, V), s(1, 1, 2, 1), 1e-6, 4, 7);
    }

    @Test void boolAndFloatMasks() {
        Tensor keepSecond = Tensor.ofBools(s(1, 2), new boolean[] {false, true});
        close(op1("Attention", Map.of(), q(1), K, V, keepSecond), s(1, 1, 1, 1), 1e-6, 8);
        // adding ln 3 to key 0 equalizes the scores
        close(op1("Attention", Map.of(), q(1), K, V, f32(s(1, 2), LN3, 0)), s(1, 1, 1, 1), 1e-6, 6);
        // a mask shorter than the keys leaves the uncovered keys masked
        close(op1("Attention", Map.of(), q(1), K, V, f32(s(1, 1), 0)), s(1, 1, 1, 1), 1e-6, 4);
    }

    @Test void fullyMaskedRowGivesZeros() {
        Tensor none = Tensor.ofBools(s(1, 2), new boolean[] {false, false});
        List<Tensor> r = op("Attention", Map.of("qk_matmul_output_mode", Attr.of(3)), 4, q(1), K, V, none);
        close(r.get(0), s(1, 1, 1, 1), 0, 0);
        close(r.get(3), s(1, 1, 1, 2), 0, 0, 0);
    }

    @Test void softcapSquashesScores() {
        // scores [0, 100] -> tanh -> [0, 1]: weights [1, e] / (1 + e)
        Tensor k = f32(s(1, 1, 2, 1), 0, 100);
        double e = Math.E;
        close(op1("Attention", Map.of("softcap", Attr.of(1.0)), q(1), k, V), s(1, 1, 1, 1), 1e-5, (4 + 8 * e) / (1 + e));
    }

    @Test void qkOutputModes() {
        Tensor mask = f32(s(1, 2), 1, 0);
        close(op("Attention", Map.of(), 4, q(1), K, V, mask).get(3), s(1, 1, 1, 2), 1e-6, 0, LN3); // raw scores
        close(op("Attention", Map.of("qk_matmul_output_mode", Attr.of(1), "softcap", Attr.of(1.0)), 4, q(1), K, V, mask).get(3),
                s(1, 1, 1, 2), 1e-6, 0, Math.tanh(LN3)); // after softcap, before the mask
        close(op("Attention", Map.of("qk_matmul_output_mode", Attr.of(2)), 4, q(1), K, V, mask).get(3),
                s(1, 1, 1, 2), 1e-6, 1, LN3); // after the mask
        close(op("Attention", Map.of("qk_matmul_output_mode", Attr.of(3)), 4, q(1), K, V).get(3),
                s(1, 1, 1, 2), 1e-6, 0.25, 0.75); // after softmax
    }

    @Test void groupedQueryHeadsShareKvHeads() {
        // two query heads over one kv head: q 1 -> 7, q 0 -> mean 6
        close(op1("Attention", Map.of(), f32(s(1, 2, 1, 1), 1, 0), K, V), s(1, 2, 1, 1), 1e-6, 7, 6);
        // the same in 3-D form [B,S,heads*D]
        Map<String, Attr> heads = Map.of("q_num_heads", Attr.of(2), "kv_num_heads", Attr.of(1));
        close(op1("Attention", heads, f32(s(1, 1, 2), 1, 0), f32(s(1, 2, 1), 0, LN3), f32(s(1, 2, 1), 4, 8)), s(1, 1, 2), 1e-6, 7, 6);
    }

    @Test void pastIsPrependedAndReturned() {
        Tensor k1 = f32(s(1, 1, 1, 1), LN3), v1 = f32(s(1, 1, 1, 1), 8);
        Tensor pk = f32(s(1, 1, 1, 1), 0), pv = f32(s(1, 1, 1, 1), 4);
        // causal with one past step: the single query sees the past key and its own
        List<Tensor> r = op("Attention", Map.of("is_causal", Attr.of(1)), 3, q(1), k1, v1, null, pk, pv);
        close(r.get(0), s(1, 1, 1, 1), 1e-6, 7);
        close(r.get(1), s(1, 1, 2, 1), 1e-6, 0, LN3);
        close(r.get(2), s(1, 1, 2, 1), 1e-6, 4, 8);
    }

    @Test void nonpadSeqlenMasksPadding() {
        Tensor len = Tensor.ofLongs(DType.I64, s(1), new long[] {1});
        close(op1("Attention", Map.of(), q(1), K, V, null, null, null, len), s(1, 1, 1, 1), 1e-6, 4);
    }

    @Test void float16RoundsOnce() {
        Tensor q = Tensor.ofDoubles(DType.F16, s(1, 1, 1, 1), new double[] {1});
        Tensor k = Tensor.ofDoubles(DType.F16, s(1, 1, 2, 1), new double[] {0, 0});
        Tensor v = Tensor.ofDoubles(DType.F16, s(1, 1, 2, 1), new double[] {4, 8});
        Tensor y = op1("Attention", Map.of(), q, k, v);
        assertEquals(DType.F16, y.dtype());
        assertEquals(6.0, y.getDouble(0));
    }

    @Test void symbolicShapes() {
        Dim b = Dim.sym("B"), sq = Dim.sym("S"), t = Dim.sym("T");
        TensorType q = new TensorType(DType.F32, Shape.of(b, Dim.of(8), sq, Dim.of(64)));
        TensorType k = new TensorType(DType.F32, Shape.of(b, Dim.of(2), t, Dim.of(64)));
        TensorType v = new TensorType(DType.F32, Shape.of(b, Dim.of(2), t, Dim.of(32)));
        TensorType past = new TensorType(DType.F32, Shape.of(b, Dim.of(2), Dim.of(5), Dim.of(64)));
        TensorType pastV = new TensorType(DType.F32, Shape.of(b, Dim.of(2), Dim.of(5), Dim.of(32)));
        List<TensorType> r = Run.infer("Attention", Map.of(), 4, q, k, v, null, past, pastV);
        assertEquals(Shape.of(b, Dim.of(8), sq, Dim.of(32)), r.get(0).shape());
        assertEquals(Shape.of(b, Dim.of(2), Dim.UNKNOWN, Dim.of(64)), r.get(1).shape());
        assertEquals(Shape.of(b, Dim.of(2), Dim.UNKNOWN, Dim.of(32)), r.get(2).shape());
        assertEquals(Shape.of(b, Dim.of(8), sq, Dim.UNKNOWN), r.get(3).shape());
        Map<String, Attr> heads = Map.of("q_num_heads", Attr.of(8), "kv_num_heads", Attr.of(2));
        List<TensorType> r3 = Run.infer("Attention", heads, 2, new TensorType(DType.F32, Shape.of(b, sq, Dim.of(512))),
                new TensorType(DType.F32, Shape.of(b, t, Dim.of(128))), new TensorType(DType.F32, Shape.of(b, t, Dim.of(64))));
        assertEquals(Shape.of(b, sq, Dim.of(256)), r3.get(0).shape());
        assertEquals(Shape.of(b, Dim.of(2), t, Dim.of(64)), r3.get(1).shape());
    }

    @Test void badAttributesAndShapesAreTypedErrors() {
        TensorType q = TensorType.of(DType.F32, 1, 3, 2, 4), k = TensorType.of(DType.F32, 1, 2, 2, 4);
        assertThrows(InvalidModelException.class, () -> Run.infer("Attention", Map.of("qk_matmul_output_mode", Attr.of(4)), 1, q, q, q));
        assertThrows(ShapeException.class, () -> Run.infer("Attention", Map.of(), 1, q, k, k));
        TensorType q3 = TensorType.of(DType.F32, 1, 2, 8);
        assertThrows(ShapeException.class, () -> Run.infer("Attention", Map.of(), 1, q3, q3, q3));
        assertThrows(InvalidModelException.class, () -> Run.infer("Attention", Map.of(), 1, q, q, q, null, q));
        assertThrows(ShapeException.class, () -> Run.infer("Attention", Map.of(), 1, TensorType.of(DType.I32, 1, 1, 1, 1),
                TensorType.of(DType.I32, 1, 1, 1, 1), TensorType.of(DType.I32, 1, 1, 1, 1)));
    }
}
