package dev.kiln.ir;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Views against explicit index arithmetic: every element a view addresses is the one the ops would move there. */
class StridedViewTest {
    @Test void headSplitThenTransposeIsAStridedView() {
        // [B=2, S=5, H*D=12] -> Reshape [2,5,3,4] -> Transpose(0,2,1,3) -> [2,3,5,4]
        StridedView v = StridedView.contiguous(new long[] {2, 5, 12}).reshape(new long[] {2, 5, 3, 4}).permute(new long[] {0, 2, 1, 3});
        assertArrayEquals(new long[] {2, 3, 5, 4}, v.shape());
        assertArrayEquals(new long[] {60, 4, 12, 1}, v.strides());
        assertFalse(v.isContiguous());
    }

    @Test void aSliceOfTheLastAxisKeepsStridesAndMovesTheOffset() {
        // K = qkv[..., 768:1536] of a [1,128,2304] projection, then the head split [1,128,12,64] -> [1,12,128,64]
        StridedView k = StridedView.contiguous(new long[] {1, 128, 2304}).slice(2, 768, 768)
                .reshape(new long[] {1, 128, 12, 64}).permute(new long[] {0, 2, 1, 3});
        assertEquals(768, k.offset());
        assertArrayEquals(new long[] {1, 12, 128, 64}, k.shape());
        assertEquals(64, k.stride(1), "heads");
        assertEquals(2304, k.stride(2), "tokens");
        assertEquals(1, k.stride(3));
        assertFalse(k.isContiguous());
    }

    @Test void mergingTransposedAxesNeedsACopy() {
        StridedView t = StridedView.contiguous(new long[] {3, 4}).permute(new long[] {1, 0});
        assertNull(t.reshape(new long[] {12}));
        assertNotNull(t.reshape(new long[] {4, 1, 3}), "inserting a unit axis is free");
    }

    /** Random chains of transposes and reshapes: the view reads what a materialising reference would. */
    @Property(tries = 300) void viewsAgreeWithMaterialisedChains(@ForAll @IntRange(min = 0, max = 1_000_000) int seed) {
        Random r = new Random(seed);
        int rank = 1 + r.nextInt(4);
        long[] shape = new long[rank];
        for (int i = 0; i < rank; i++) shape[i] = 1 + r.nextInt(4);
        long n = 1;
        for (long d : shape) n *= d;
        long[] data = new long[(int) n];
        for (int i = 0; i < n; i++) data[i] = i; // element i holds its buffer offset
        StridedView v = StridedView.contiguous(shape);
        long[] cur = data.clone();
        long[] curShape = shape.clone();
        for (int step = 0; step < 4; step++) {
            if (r.nextBoolean()) {
                long[] perm = randomPerm(curShape.length, r);
                cur = transpose(cur, curShape, perm);
                long[] s2 = new long[perm.length];
                for (int j = 0; j < perm.length; j++) s2[j] = curShape[(int) perm[j]];
                curShape = s2;
                v = v.permute(perm);
            } else {
                long[] to = randomFactorisation(n, r);
                StridedView w = v.reshape(to);
                if (w == null) {
                    assertFalse(v.isContiguous(), "a contiguous view reshapes to anything: " + v);
                    continue; // needs a copy: nothing to check
                }
                v = w;
                curShape = to; // a reshape keeps the row-major element order
            }
            assertArrayEquals(curShape, v.shape());
            long[] st = v.strides(), idx = new long[curShape.length];
            for (int lin = 0; lin < n; lin++) {
                long off = 0, rem = lin;
                for (int a = curShape.length - 1; a >= 0; a--) { idx[a] = rem % curShape[a]; rem /= curShape[a]; }
                for (int a = 0; a < idx.length; a++) off += idx[a] * st[a];
                assertEquals(cur[lin], off, "element " + lin + " of " + v);
            }
        }
    }

    private static long[] randomPerm(int rank, Random r) {
        List<Long> p = new ArrayList<>();
        for (long i = 0; i < rank; i++) p.add(i);
        java.util.Collections.shuffle(p, r);
        return p.stream().mapToLong(Long::longValue).toArray();
    }

    private static long[] randomFactorisation(long n, Random r) {
        List<Long> f = new ArrayList<>();
        long left = n;
        for (long d = 2; d <= left; d++) while (left % d == 0) { f.add(d); left /= d; }
        java.util.Collections.shuffle(f, r);
        List<Long> out = new ArrayList<>();
        for (long d : f) {
            if (!out.isEmpty() && r.nextBoolean()) out.set(out.size() - 1, out.get(out.size() - 1) * d);
            else out.add(d);
            if (r.nextInt(5) == 0) out.add(1L);
        }
        if (out.isEmpty()) out.add(1L);
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    private static long[] transpose(long[] data, long[] shape, long[] perm) {
        long[] inSt = StridedView.contiguous(shape).strides();
        long[] outShape = new long[perm.length];
        for (int j = 0; j < perm.length; j++) outShape[j] = shape[(int) perm[j]];
        long[] out = new long[data.length], idx = new long[perm.length];
        for (int lin = 0; lin < data.length; lin++) {
            long rem = lin;
            for (int a = outShape.length - 1; a >= 0; a--) { idx[a] = rem % outShape[a]; rem /= outShape[a]; }
            long src = 0;
            for (int j = 0; j < perm.length; j++) src += idx[j] * inSt[(int) perm[j]];
            out[lin] = data[(int) src];
        }
        return out;
    }
}
