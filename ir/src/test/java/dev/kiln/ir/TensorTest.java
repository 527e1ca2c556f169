package dev.kiln.ir;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class TensorTest {
    @Test
    void integersWrapToTheirWidth() {
        Tensor t = Tensor.ofLongs(DType.I8, new long[] {3}, new long[] {127, 128, -129});
        assertArrayEquals(new long[] {127, -128, 127}, t.toLongs());
        Tensor u = Tensor.ofLongs(DType.U8, new long[] {2}, new long[] {255, 256});
        assertArrayEquals(new long[] {255, 0}, u.toLongs());
        Tensor i4 = Tensor.ofLongs(DType.I4, new long[] {3}, new long[] {7, 8, -9});
        assertArrayEquals(new long[] {7, -8, 7}, i4.toLongs());
    }

    @Test
    void unsigned64KeepsItsBitPatternAndConvertsAsUnsigned() {
        Tensor t = Tensor.ofLongs(DType.U64, new long[] {1}, new long[] {-1L});
        assertEquals(-1L, t.getLong(0));
        assertEquals(18446744073709551615.0, t.getDouble(0));
        Tensor d = Tensor.ofDoubles(DType.U64, new long[] {1}, new double[] {1.8446744073709552E19 / 2});
        assertEquals(Long.MIN_VALUE, d.getLong(0));
    }

    @Test
    void floatsRoundToTheirType() {
        Tensor f = Tensor.ofDoubles(DType.F32, new long[] {1}, new double[] {0.1});
        assertEquals((double) 0.1f, f.getDouble(0));
        Tensor h = Tensor.ofDoubles(DType.F16, new long[] {2}, new double[] {1.0 / 3, 65520});
        assertEquals(0.333251953125, h.getDouble(0));
        assertEquals(Double.POSITIVE_INFINITY, h.getDouble(1)); // 65520 rounds past f16's max 65504
        Tensor b = Tensor.ofDoubles(DType.BF16, new long[] {1}, new double[] {1.00390625});
        assertEquals(1.0, b.getDouble(0)); // halfway between 1 and 1+2^-7: ties to even
    }

    @Test
    void payloadMustMatchShape() {
        var e = assertThrows(InvalidModelException.class, () -> Tensor.ofBytes(DType.F32, new long[] {2, 2}, new byte[12]));
        assertTrue(e.getMessage().contains("needs 16"), e.getMessage());
    }

    @Test
    void hugeShapesAreTypedErrors() {
        assertThrows(InvalidModelException.class, () -> Tensor.zeros(DType.F32, new long[] {1L << 40, 1L << 40}));
        assertThrows(InvalidModelException.class, () -> Tensor.zeros(DType.F32, new long[] {1L << 62, 8}));
        assertThrows(InvalidModelException.class, () -> Tensor.zeros(DType.F32, new long[] {-1}));
    }

    @Test
    void equalityIsByContentAndReshapeSharesNothingVisible() {
        Tensor a = Tensor.f32(new long[] {2, 2}, 1, 2, 3, 4);
        Tensor b = Tensor.f32(new long[] {4}, 1, 2, 3, 4).reshape(new long[] {2, 2});
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, a.reshape(new long[] {4}));
        assertEquals(a.contentHash(), b.contentHash());
    }

    @Test
    void largeTensorsHashFromASampleButCompareInFull() {
        int n = 100_000;
        byte[] x = new byte[n * 4];
        for (int i = 0; i < x.length; i++) x[i] = (byte) (i * 31 + 7);
        Tensor a = Tensor.ofBytes(DType.F32, new long[] {n}, x);
        x[4 * 12_345 + 1] ^= 1; // an element between the sampled ones
        Tensor b = Tensor.ofBytes(DType.F32, new long[] {n}, x);
        assertEquals(a.hashCode(), b.hashCode(), "the sample misses the changed element");
        assertNotEquals(a, b, "equality still reads everything");
        assertEquals(Tensor.adopt(DType.F32, new long[] {n}, a.storage()), a);
        byte[] into = new byte[a.storageBytes() + 8];
        a.copyStorageTo(into, 8);
        assertEquals(a, Tensor.ofBytes(DType.F32, new long[] {n}, java.util.Arrays.copyOfRange(into, 8, into.length)));
    }

    @Property(tries = 300)
    void f16EncodingMatchesJavaFloat16(@ForAll float f) {
        Tensor h = Tensor.ofDoubles(DType.F16, new long[] {1}, new double[] {f});
        double expect = Float.float16ToFloat(Float.floatToFloat16(f));
        if (Double.isNaN(expect)) assertTrue(Double.isNaN(h.getDouble(0)));
        else assertEquals(expect, h.getDouble(0));
    }
}
