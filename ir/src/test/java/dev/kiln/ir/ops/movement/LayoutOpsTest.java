package dev.kiln.ir.ops.movement;

import dev.kiln.ir.DType;
import dev.kiln.ir.EvaluationException;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.kiln.ir.ops.movement.OpRun.*;
import static org.junit.jupiter.api.Assertions.*;

/** Transpose, Concat, Split, Tile, DepthToSpace, SpaceToDepth, Trilu, ReverseSequence. */
class LayoutOpsTest {
    private static final Map<String, dev.kiln.ir.Attr> NONE = Map.of();

    @Test void transposeMovesTheSameBytesAsTheIndexMapForEveryWidthAndPerm() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(7);
        for (DType t : List.of(DType.F32, DType.F16, DType.I64, DType.U8, DType.U4))
            for (int[] perm : List.of(new int[] {0, 2, 3, 1}, new int[] {3, 1, 0, 2}, new int[] {0, 1, 2, 3}, new int[] {2, 0, 3, 1})) {
                long[] shape = {2, 3, 4, 5};
                Tensor x = Tensor.ofBytes(t, shape, randomBytes(r, 120 * t.storageBytes()));
                long[] st = dev.kiln.ir.op.Shapes.strides(shape), out = new long[4], ps = new long[4];
                for (int i = 0; i < 4; i++) { out[i] = shape[perm[i]]; ps[i] = st[perm[i]]; }
                Tensor want = Indexing.take(x, out, Indexing.map(out, o -> Indexing.linear(o, ps)));
                Tensor got = LayoutOps.transpose(x, perm);
                assertArrayEquals(want.shape(), got.shape());
                assertArrayEquals(want.storage(), got.storage(), t + " " + java.util.Arrays.toString(perm));
            }
    }

    private static byte[] randomBytes(java.util.SplittableRandom r, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) r.nextInt();
        return b;
    }

    @Test void transpose() {
        assertTensor(run1("Transpose", NONE, iota(2, 3)), s(3, 2), 0, 3, 1, 4, 2, 5);
        Tensor t = run1("Transpose", attrs("perm", s(1, 2, 0)), iota(2, 3, 4));
        assertArrayEquals(s(3, 4, 2), t.shape());
        // out[1,2,1] = in[1,1,2] = 12 + 4 + 2; its linear index in [3,4,2] is 8 + 4 + 1
        assertEquals(18, t.getDouble(13));
        assertEquals(parse("4,N"), infer("Transpose", NONE, type(DType.F32, "N,4")).shape());
        assertThrows(InvalidModelException.class, () -> infer("Transpose", attrs("perm", s(0, 0)), type(DType.F32, "2,2")));
        assertThrows(KilnException.class, () -> infer("Transpose", attrs("perm", s(1, 0)), type(DType.F32, "2,2,2")));
    }

    @Test void concat() {
        assertTensor(run1("Concat", attrs("axis", 1), f32(s(2, 2), 1, 2, 3, 4), f32(s(2, 1), 5, 6)), s(2, 3), 1, 2, 5, 3, 4, 6);
        assertTensor(run1("Concat", attrs("axis", -2), f32(s(1, 2), 1, 2), f32(s(2, 2), 3, 4, 5, 6)), s(3, 2), 1, 2, 3, 4, 5, 6);
        assertTensor(run1("Concat", attrs("axis", 0), f32(s(0, 2)), f32(s(1, 2), 7, 8)), s(1, 2), 7, 8);
        assertEquals(parse("?,2"), infer("Concat", attrs("axis", 0), type(DType.F32, "N,2"), type(DType.F32, "M,2")).shape());
        assertEquals(parse("N,5"), infer("Concat", attrs("axis", 1), type(DType.F32, "N,2"), type(DType.F32, "N,3")).shape());
        assertEquals(parse("N,5"), infer("Concat", attrs("axis", 1), type(DType.F32, "?,2"), type(DType.F32, "N,3")).shape());
        assertThrows(KilnException.class, () -> infer("Concat", attrs("axis", 0), type(DType.F32, "2"), type(DType.I64, "2")));
        assertThrows(KilnException.class, () -> infer("Concat", attrs("axis", 0), type(DType.F32, "2,3"), type(DType.F32, "2,4")));
        assertThrows(InvalidModelException.class, () -> infer("Concat", NONE, type(DType.F32, "2")));
    }

    @Test void splitNumOutputsLastChunkSmaller() {
        List<Tensor> r = run("Split", attrs("num_outputs", 4), 4, iota(7));
        assertTensor(r.get(0), s(2), 0, 1);
        assertTensor(r.get(2), s(2), 4, 5);
        assertTensor(r.get(3), s(1), 6);
        r = run("Split", attrs("num_outputs", 3, "axis", 1), 3, iota(2, 8));
        assertTensor(r.get(0), s(2, 3), 0, 1, 2, 8, 9, 10);
        assertTensor(r.get(2), s(2, 2), 6, 7, 14, 15);
    }

    @Test void splitBySizes() {
        List<Tensor> r = run("Split", attrs("axis", 1), 2, iota(2, 6), k(vec(2, 4)));
        assertTensor(r.get(0), s(2, 2), 0, 1, 6, 7);
        assertTensor(r.get(1), s(2, 4), 2, 3, 4, 5, 8, 9, 10, 11);
        r = run("Split", NONE, 3, f32(s(0)), vec(0, 0, 0));
        for (Tensor t : r) assertArrayEquals(s(0), t.shape());
        List<TensorType> ts = inferAll("Split", attrs("num_outputs", 2), 2, type(DType.F32, "N,4"));
        assertEquals(parse("?,4"), ts.get(1).shape());
        ts = inferAll("Split", attrs("axis", 1), 2, type(DType.F32, "N,6"), k(vec(1, 5)));
        assertEquals(parse("N,5"), ts.get(1).shape());
        assertThrows(KilnException.class, () -> inferAll("Split", NONE, 2, type(DType.F32, "6"), k(vec(2, 3))));
        assertThrows(InvalidModelException.class, () -> inferAll("Split", attrs("num_outputs", 2), 2, type(DType.F32, "6"), k(vec(3, 3))));
        assertThrows(InvalidModelException.class, () -> inferAll("Split", attrs("num_outputs", 0), 1, type(DType.F32, "6")));
    }

    @Test void tile() {
        assertTensor(run1("Tile", NONE, f32(s(2, 2), 0, 1, 2, 3), k(vec(2, 2))), s(4, 4),
                0, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3);
        assertTensor(run1("Tile", NONE, f32(s(3), 1, 2, 3), vec(2)), s(6), 1, 2, 3, 1, 2, 3);
        assertEquals(parse("N,6"), infer("Tile", NONE, type(DType.F32, "N,3"), k(vec(1, 2))).shape());
        assertEquals(parse("?,?"), infer("Tile", NONE, type(DType.F32, "N,3"), type(DType.I64, "2")).shape());
        assertThrows(KilnException.class, () -> infer("Tile", NONE, type(DType.F32, "N,3"), k(vec(2))));
    }

    @Test void depthToSpaceModes() {
        // DCR: out[0,c,i,j] = in[(i*2+j)*2 + c]; CRD: in[c*4 + i*2 + j]
        assertTensor(run1("DepthToSpace", attrs("blocksize", 2), iota(1, 8, 1, 1)), s(1, 2, 2, 2), 0, 2, 4, 6, 1, 3, 5, 7);
        assertTensor(run1("DepthToSpace", attrs("blocksize", 2, "mode", "CRD"), iota(1, 8, 1, 1)), s(1, 2, 2, 2), 0, 1, 2, 3, 4, 5, 6, 7);
        assertEquals(parse("N,2,6,8"), infer("DepthToSpace", attrs("blocksize", 2), type(DType.F32, "N,8,3,4")).shape());
        assertThrows(InvalidModelException.class, () -> infer("DepthToSpace", attrs("blocksize", 2, "mode", "XYZ"), type(DType.F32, "1,8,1,1")));
        assertThrows(KilnException.class, () -> infer("DepthToSpace", attrs("blocksize", 2), type(DType.F32, "1,6,1,1")));
    }

    @Test void spaceToDepthInvertsDcr() {
        // out[(i*2+j)*2 + c] = x[c,i,j] = 4c + 2i + j
        Tensor s2d = run1("SpaceToDepth", attrs("blocksize", 2), iota(1, 2, 2, 2));
        assertTensor(s2d, s(1, 8, 1, 1), 0, 4, 1, 5, 2, 6, 3, 7);
        assertTensor(run1("DepthToSpace", attrs("blocksize", 2), s2d), s(1, 2, 2, 2), iota(8).toDoubles());
        assertEquals(parse("N,12,1,?"), infer("SpaceToDepth", attrs("blocksize", 2), type(DType.F32, "N,3,2,W")).shape());
        assertThrows(InvalidModelException.class, () -> infer("SpaceToDepth", NONE, type(DType.F32, "1,1,2,2")));
        assertThrows(KilnException.class, () -> infer("SpaceToDepth", attrs("blocksize", 2), type(DType.F32, "1,1,3,2")));
    }

    @Test void trilu() {
        Tensor x = i64(s(3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertLongs(run1("Trilu", NONE, x), DType.I64, s(3, 3), 1, 2, 3, 0, 5, 6, 0, 0, 9);
        assertLongs(run1("Trilu", attrs("upper", 0), x), DType.I64, s(3, 3), 1, 0, 0, 4, 5, 0, 7, 8, 9);
        assertLongs(run1("Trilu", NONE, x, k(Tensor.scalarLong(DType.I64, 1))), DType.I64, s(3, 3), 0, 2, 3, 0, 0, 6, 0, 0, 0);
        assertLongs(run1("Trilu", attrs("upper", 0), x, Tensor.scalarLong(DType.I64, -1)), DType.I64, s(3, 3), 0, 0, 0, 4, 0, 0, 7, 8, 0);
        assertLongs(run1("Trilu", attrs("upper", 0), x, Tensor.scalarLong(DType.I64, -7)), DType.I64, s(3, 3), 0, 0, 0, 0, 0, 0, 0, 0, 0);
        // batched: the triangle applies to the last two axes of each matrix
        assertLongs(run1("Trilu", NONE, i64(s(2, 1, 2), 1, 2, 3, 4)), DType.I64, s(2, 1, 2), 1, 2, 3, 4);
        assertLongs(run1("Trilu", NONE, Tensor.zeros(DType.I64, s(3, 0, 5)), Tensor.scalarLong(DType.I64, 6)), DType.I64, s(3, 0, 5));
        assertThrows(KilnException.class, () -> infer("Trilu", NONE, type(DType.F32, "3")));
    }

    @Test void reverseSequence() {
        Tensor x = iota(4, 4);
        assertTensor(run1("ReverseSequence", NONE, x, vec(4, 3, 2, 1)), s(4, 4),
                12, 9, 6, 3, 8, 5, 2, 7, 4, 1, 10, 11, 0, 13, 14, 15);
        assertTensor(run1("ReverseSequence", attrs("batch_axis", 0, "time_axis", 1), x, vec(1, 2, 3, 4)), s(4, 4),
                0, 1, 2, 3, 5, 4, 6, 7, 10, 9, 8, 11, 15, 14, 13, 12);
        assertThrows(InvalidModelException.class, () -> infer("ReverseSequence", attrs("batch_axis", 0), type(DType.F32, "4,4"), type(DType.I64, "4")));
        assertThrows(EvaluationException.class, () -> run1("ReverseSequence", NONE, x, vec(5, 1, 1, 1)));
    }
}
