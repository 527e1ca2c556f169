package dev.kiln.ir;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Expected codes are taken from the OCP 8-bit float spec tables (max normals, NaN encodings). */
class FloatFormatsTest {
    @Test
    void e4m3fnLimits() {
        assertEquals(448.0, FloatFormats.decode(DType.F8E4M3FN, 0x7E));
        assertTrue(Double.isNaN(FloatFormats.decode(DType.F8E4M3FN, 0x7F)));
        assertEquals(0x7E, FloatFormats.encode(DType.F8E4M3FN, 1e6, true));
        assertEquals(0x7F, FloatFormats.encode(DType.F8E4M3FN, 1e6, false));
        assertEquals(0xFE, FloatFormats.encode(DType.F8E4M3FN, -1e6, true));
        assertEquals(Math.scalb(1.0, -9), FloatFormats.decode(DType.F8E4M3FN, 0x01)); // smallest subnormal
    }

    @Test
    void e5m2HasInfinities() {
        assertEquals(57344.0, FloatFormats.decode(DType.F8E5M2, 0x7B));
        assertEquals(Double.POSITIVE_INFINITY, FloatFormats.decode(DType.F8E5M2, 0x7C));
        assertEquals(0x7C, FloatFormats.encode(DType.F8E5M2, Double.POSITIVE_INFINITY, false));
        assertEquals(0x7B, FloatFormats.encode(DType.F8E5M2, Double.POSITIVE_INFINITY, true));
    }

    @Test
    void fnuzFormatsHaveOneNanAndNoNegativeZero() {
        assertTrue(Double.isNaN(FloatFormats.decode(DType.F8E4M3FNUZ, 0x80)));
        assertEquals(240.0, FloatFormats.decode(DType.F8E4M3FNUZ, 0x7F));
        assertEquals(0, FloatFormats.encode(DType.F8E4M3FNUZ, -0.0, false));
        assertEquals(57344.0, FloatFormats.decode(DType.F8E5M2FNUZ, 0x7F));
    }

    @Test
    void roundsToNearestEven() {
        // 1.0625 lies halfway between 1.0 (0x38) and 1.125 (0x39) in e4m3fn: ties go to the even code
        assertEquals(0x38, FloatFormats.encode(DType.F8E4M3FN, 1.0625, false));
        assertEquals(0x3A, FloatFormats.encode(DType.F8E4M3FN, 1.1875, false));
    }

    @Test
    void f4e2m1Values() {
        double[] expect = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
        for (int c = 0; c < 8; c++) {
            assertEquals(expect[c], FloatFormats.decode(DType.F4E2M1, c));
            assertEquals(-expect[c], FloatFormats.decode(DType.F4E2M1, c | 8));
        }
        assertEquals(0x7, FloatFormats.encode(DType.F4E2M1, 100, true));
    }

    @Test
    void e8m0IsPowersOfTwo() {
        assertEquals(1.0, FloatFormats.decode(DType.F8E8M0, 127));
        assertEquals(127, FloatFormats.e8m0(1.0, true, true));
        assertEquals(129, FloatFormats.e8m0(2.5, true, true));  // rounds up by default
        assertEquals(128, FloatFormats.e8m0(2.5, true, false)); // nearest: 2.5 is nearer 2 than 4
        assertTrue(Double.isNaN(FloatFormats.decode(DType.F8E8M0, 0xFF)));
    }

    @Test
    void encode16OfAFloatMatchesTheDoublePath() {
        // every exponent and sign with random mantissas, ties included; NaNs only need to stay NaN
        java.util.SplittableRandom r = new java.util.SplittableRandom(7);
        for (DType t : new DType[] {DType.F16, DType.BF16}) {
            for (int k = 0; k < 200_000; k++) {
                int bits = k < 1024 ? (k << 22) | (k & 1) << 12 | (k & 2) << 14 : r.nextInt();
                float f = Float.intBitsToFloat(bits);
                int fast = FloatFormats.encode16(t, f), slow = FloatFormats.encode(t, f, false);
                if (Float.isNaN(f)) assertTrue(Double.isNaN(FloatFormats.decode(t, fast)), () -> t + " NaN " + Integer.toHexString(bits));
                else assertEquals(slow, fast, () -> t + " of " + f + " (0x" + Integer.toHexString(bits) + ")");
            }
        }
        assertThrows(IllegalArgumentException.class, () -> FloatFormats.encode16(DType.F8E4M3FN, 1f));
    }
}
