package dev.kiln.ir.ops.elementwise;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static dev.kiln.ir.ops.elementwise.Run.*;
import static org.junit.jupiter.api.Assertions.*;

class CastOpsTest {
    private static Tensor cast(Tensor x, DType to, Object... kv) {
        Map<String, Attr> a = new HashMap<>();
        a.put("to", Attr.of(to.onnxCode()));
        for (int i = 0; i < kv.length; i += 2)
            a.put((String) kv[i], kv[i + 1] instanceof String s ? Attr.of(s) : Attr.of(((Integer) kv[i + 1]).longValue()));
        return one("Cast", a, x);
    }

    private static long[] bits(Tensor t) {
        long[] r = new long[t.numel()];
        for (int i = 0; i < r.length; i++) r[i] = t.getBits(i);
        return r;
    }

    private static final double INF = Double.POSITIVE_INFINITY;

    @Test void float8E4M3FNSaturatesOrGoesNaN() {
        Tensor x = f32(s(6), 1, 448, 1000, INF, -INF, Double.NaN);
        // 1 = 0 0111 000; 448 = 0 1111 110 (largest finite); 0x7F is the only NaN
        assertArrayEquals(new long[] {0x38, 0x7E, 0x7E, 0x7E, 0xFE, 0x7F}, bits(cast(x, DType.F8E4M3FN)));
        assertArrayEquals(new long[] {0x38, 0x7E, 0x7F, 0x7F, 0xFF, 0x7F}, bits(cast(x, DType.F8E4M3FN, "saturate", 0)));
    }

    @Test void float8E5M2HasInfinity() {
        Tensor x = f32(s(4), 1, 1e6, -INF, Double.NaN);
        assertArrayEquals(new long[] {0x3C, 0x7B, 0xFB, 0x7E}, bits(cast(x, DType.F8E5M2)));
        assertArrayEquals(new long[] {0x3C, 0x7C, 0xFC, 0x7E}, bits(cast(x, DType.F8E5M2, "saturate", 0)));
    }

    @Test void fnuzFormatsHaveNoNegativeZeroAndOneNaN() {
        Tensor x = f32(s(3), -0.0, Double.NaN, -1e-9);
        assertArrayEquals(new long[] {0, 0x80, 0}, bits(cast(x, DType.F8E4M3FNUZ)));
        assertArrayEquals(new long[] {0, 0x80, 0}, bits(cast(x, DType.F8E5M2FNUZ)));
    }

    @Test void float4E2M1RoundsHalfEvenAndAlwaysSaturates() {
        // codes 0..7: 0, 0.5, 1, 1.5, 2, 3, 4, 6; -2.5 ties between 2 (code 4, even) and 3
        Tensor x = f32(s(5), 0.48, -2.5, 1e6, -INF, Double.NaN);
        assertArrayEquals(new long[] {1, 0xC, 7, 0xF, 0x8}, bits(cast(x, DType.F4E2M1)));
        assertDoubles(new double[] {0.5, -2, 6, -6, -0.0}, cast(cast(x, DType.F4E2M1), DType.F32), 0);
    }

    @Test void subByteIntegersWrapLikeAstype() {
        Tensor x = f32(s(4), 9, -9, 7.9, -2.5);
        assertArrayEquals(new long[] {-7, 7, 7, -2}, cast(x, DType.I4).toLongs());
        assertArrayEquals(new long[] {9, 7, 7, 14}, cast(x, DType.U4).toLongs());
        assertArrayEquals(new long[] {1, -1, -1, -2}, cast(x, DType.I2).toLongs());
        Tensor i4 = Tensor.ofLongs(DType.I4, s(2), new long[] {-8, 7});
        assertArrayEquals(new long[] {-8, 7}, cast(i4, DType.I8).toLongs());
    }

    @Test void e8m0RoundModes() {
        Tensor x = f32(s(3), 3, 2.9, 0.25);
        assertArrayEquals(new long[] {129, 129, 125}, bits(cast(x, DType.F8E8M0)));                // up: 4, 4, 1/4
        assertArrayEquals(new long[] {128, 128, 125}, bits(cast(x, DType.F8E8M0, "round_mode", "down")));
        assertArrayEquals(new long[] {129, 128, 125}, bits(cast(x, DType.F8E8M0, "round_mode", "nearest")));
    }

    @Test void doubleToHalfRoundsOnceNotThroughFloat() {
        // 1 + 2^-11 + 2^-40 is just above the midpoint of 1 and 1 + 2^-10: it must round up (0x3C01);
        // via float the 2^-40 is lost and the tie would round to even (0x3C00)
        Tensor x = Tensor.ofDoubles(DType.F64, s(1), new double[] {1 + Math.scalb(1.0, -11) + Math.scalb(1.0, -40)});
        assertEquals(0x3C01, cast(x, DType.F16).getBits(0));
    }

    @Test void stringsPrintAndParseLikeNumpy() {
        Tensor x = f32(s(6), 0.1, 3, 1e-5, 1e20, -INF, Double.NaN);
        assertArrayEquals(new String[] {"0.1", "3.0", "1e-05", "1e+20", "-inf", "nan"}, cast(x, DType.STRING).toStrings());
        assertArrayEquals(new String[] {"-7", "True"}, new String[] {
                cast(Tensor.ofLongs(DType.I32, s(1), new long[] {-7}), DType.STRING).getString(0),
                cast(Tensor.ofBools(s(1), new boolean[] {true}), DType.STRING).getString(0)});
        Tensor s = Tensor.ofStrings(s(4), new String[] {"2.5", "-INF", "NaN", "1e3"});
        assertDoubles(new double[] {2.5, Double.NEGATIVE_INFINITY, Double.NaN, 1000}, cast(s, DType.F32), 0);
        assertArrayEquals(new long[] {-3, 42}, cast(Tensor.ofStrings(s(2), new String[] {"-3", "42"}), DType.I64).toLongs());
    }

    @Test void floatToIntTruncatesTowardZero() {
        assertArrayEquals(new long[] {-1, 1, 200}, cast(f32(s(3), -1.9, 1.9, 200.5), DType.I32).toLongs());
        assertArrayEquals(new long[] {255, 0}, cast(f32(s(2), -1, 256), DType.U8).toLongs());   // wraps
    }

    @Test void castLikeTakesTheTargetsType() {
        Tensor r = one("CastLike", f32(s(2), 1.5, -2), Tensor.ofDoubles(DType.F16, s(1), new double[] {0}));
        assertEquals(DType.F16, r.dtype());
        assertDoubles(new double[] {1.5, -2}, r, 0);
    }

    @Test void shapeRuleAndAttributeErrors() {
        TensorType in = new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(3)));
        assertEquals(in.withDType(DType.F8E5M2), infer("Cast", Map.of("to", Attr.of(19)), in));
        assertThrows(InvalidModelException.class, () -> infer("Cast", Map.of(), in));
        assertThrows(InvalidModelException.class, () -> infer("Cast", Map.of("to", Attr.of(99)), in));
        assertThrows(InvalidModelException.class, () -> infer("Cast", Map.of("to", Attr.of(24), "round_mode", Attr.of("sideways")), in));
    }
}
