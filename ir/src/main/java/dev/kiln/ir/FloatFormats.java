package dev.kiln.ir;

import java.util.Arrays;

/**
 * Bit-level conversions between doubles and the narrow float formats (f16, bf16, the float8 kinds, f8e8m0,
 * f4e2m1). Narrow formats with at most 256 codes decode through a table; encoding rounds to nearest, ties to
 * even, and handles overflow either by saturating to the largest finite value or by producing inf/NaN.
 */
public final class FloatFormats {
    private FloatFormats() {}

    /** One minifloat format, described by its code table. */
    private record Mini(DType type, double[] decode, double[] positives, int[] positiveCodes, double max,
                        int nanCode, int infCode, boolean unsignedZero) {}

    private static final Mini E4M3FN = mini(DType.F8E4M3FN, 4, 3, 7, false, false);
    private static final Mini E4M3FNUZ = mini(DType.F8E4M3FNUZ, 4, 3, 8, false, true);
    private static final Mini E5M2 = mini(DType.F8E5M2, 5, 2, 15, true, false);
    private static final Mini E5M2FNUZ = mini(DType.F8E5M2FNUZ, 5, 2, 16, false, true);
    private static final Mini E2M1 = mini(DType.F4E2M1, 2, 1, 1, false, false);

    private static Mini mini(DType t, int eBits, int mBits, int bias, boolean ieee, boolean uz) {
        int n = 1 << (1 + eBits + mBits);
        int signBit = n >> 1;
        double[] dec = new double[n];
        int expMax = (1 << eBits) - 1;
        int nanCode = -1, infCode = -1;
        for (int c = 0; c < n; c++) {
            boolean neg = (c & signBit) != 0;
            int e = (c >> mBits) & expMax;
            int m = c & ((1 << mBits) - 1);
            double v;
            if (e == 0) v = m * Math.pow(2, 1 - bias - mBits);
            else v = (1 + m / (double) (1 << mBits)) * Math.pow(2, e - bias);
            if (ieee && e == expMax) v = m == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
            dec[c] = neg ? -v : v;
        }
        if (ieee) { nanCode = (expMax << mBits) | (1 << (mBits - 1)); infCode = expMax << mBits; } // quiet NaN, as ml_dtypes writes it
        else if (uz) { nanCode = signBit; dec[signBit] = Double.NaN; }
        else if (eBits + mBits == 7) { nanCode = 0x7F; dec[0x7F] = Double.NaN; dec[0xFF] = Double.NaN; }
        // positive finite values in code order are increasing
        int[] codes = java.util.stream.IntStream.range(0, signBit).filter(c -> !Double.isNaN(dec[c]) && !Double.isInfinite(dec[c])).toArray();
        double[] pos = Arrays.stream(codes).mapToDouble(c -> dec[c]).toArray();
        return new Mini(t, dec, pos, codes, pos[pos.length - 1], nanCode, infCode, uz);
    }

    private static Mini miniOf(DType t) {
        return switch (t) {
            case F8E4M3FN -> E4M3FN;
            case F8E4M3FNUZ -> E4M3FNUZ;
            case F8E5M2 -> E5M2;
            case F8E5M2FNUZ -> E5M2FNUZ;
            case F4E2M1 -> E2M1;
            default -> throw new IllegalArgumentException("not a minifloat: " + t);
        };
    }

    /** The value of {@code bits} (the low bits of the storage element) in float format {@code t}. */
    public static double decode(DType t, int bits) {
        return switch (t) {
            case F16 -> Float.float16ToFloat((short) bits);
            case BF16 -> Float.intBitsToFloat((bits & 0xFFFF) << 16);
            case F8E8M0 -> (bits & 0xFF) == 0xFF ? Double.NaN : Math.scalb(1.0, (bits & 0xFF) - 127);
            case F8E4M3FN, F8E4M3FNUZ, F8E5M2, F8E5M2FNUZ -> miniOf(t).decode[bits & 0xFF];
            case F4E2M1 -> E2M1.decode[bits & 0xF];
            default -> throw new IllegalArgumentException("not a narrow float: " + t);
        };
    }

    /** Encodes {@code v} into format {@code t}, rounding to nearest even; {@code saturate} clamps overflow. */
    public static int encode(DType t, double v, boolean saturate) {
        return switch (t) {
            case F16 -> Float.floatToFloat16(toFloatRoundOdd(v)) & 0xFFFF;
            case BF16 -> bf16(toFloatRoundOdd(v));
            case F8E8M0 -> e8m0(v, saturate, true);
            // f4e2m1 has neither inf nor NaN: ONNX always saturates it, and NaN becomes the code 0x8 (-0)
            case F4E2M1 -> Double.isNaN(v) ? 0x8 : encodeMini(E2M1, v, true);
            default -> encodeMini(miniOf(t), v, saturate);
        };
    }

    /**
     * A float as f16 or bf16 (round to nearest even): the same bits as {@code encode(t, f, false)}, without the
     * double and the round-to-odd step, which a float never needs (it converts to double exactly).
     */
    public static int encode16(DType t, float f) {
        return switch (t) {
            case F16 -> Float.floatToFloat16(f) & 0xFFFF;
            case BF16 -> bf16(f);
            default -> throw new IllegalArgumentException("encode16 makes f16 or bf16, not " + t.textName());
        };
    }

    /**
     * Double to float rounding to odd: when inexact, the result's last mantissa bit is forced to 1. A second
     * rounding (float to f16/bf16, RNE) then gives the correctly rounded result, which plain double
     * rounding through float would not for values just beside a tie.
     */
    static float toFloatRoundOdd(double v) {
        float f = (float) v;
        if (Double.isNaN(v) || Double.isInfinite(f) || (double) f == v) return f;
        int b = Float.floatToRawIntBits(f);
        if ((b & 1) != 0) return f;
        // move one ulp toward v (in magnitude): the odd neighbour on v's side
        boolean tooBig = Math.abs((double) f) > Math.abs(v);
        return Float.intBitsToFloat(tooBig ? b - 1 : b + 1);
    }

    private static int bf16(float f) {
        int b = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return ((b >>> 16) | 0x40) & 0xFFFF;
        int rounding = 0x7FFF + ((b >>> 16) & 1);
        return ((b + rounding) >>> 16) & 0xFFFF;
    }

    /** Encodes into f8e8m0 with ONNX Cast's {@code round_mode}: "up" (the default), "down" or "nearest". */
    public static int e8m0(double v, boolean saturate, String roundMode) {
        return switch (roundMode) {
            case "up" -> e8m0(v, saturate, true);
            case "nearest" -> e8m0(v, saturate, false);
            case "down" -> {
                if (Double.isNaN(v) || Double.isInfinite(v) || v <= 0) yield e8m0(v, saturate, true);
                int code = Math.getExponent(v) + 127;   // truncating to the power below
                yield code > 254 ? (saturate ? 0xFE : 0xFF) : Math.max(code, 0);
            }
            default -> throw new IllegalArgumentException("unknown f8e8m0 round mode '" + roundMode + "'");
        };
    }

    /** f8e8m0 holds only powers of two; ONNX's default rounding for it is up (to the next power). */
    public static int e8m0(double v, boolean saturate, boolean roundUp) {
        if (Double.isNaN(v) || v <= 0 && !saturate) return 0xFF;
        if (Double.isInfinite(v)) return saturate ? 0xFE : 0xFF;
        if (v <= 0) return 0;
        int e = Math.getExponent(v);
        boolean exact = v == Math.scalb(1.0, e);
        if (roundUp && !exact) e++;
        else if (!roundUp && !exact && v >= Math.scalb(1.5, e)) e++;
        int code = e + 127;
        if (code > 254) return saturate ? 0xFE : 0xFF;
        return Math.max(code, 0);
    }

    private static int encodeMini(Mini m, double v, boolean saturate) {
        int signBit = m.decode.length >> 1;
        long raw = Double.doubleToRawLongBits(v);
        boolean neg = raw < 0;
        if (Double.isNaN(v)) return m.unsignedZero ? m.nanCode : m.nanCode | (neg ? signBit : 0);
        double a = Math.abs(v);
        int code;
        if (Double.isInfinite(a)) {
            if (saturate) code = m.positiveCodes[m.positiveCodes.length - 1];
            else if (m.infCode >= 0) code = m.infCode;
            else return m.unsignedZero ? m.nanCode : m.nanCode | (neg ? signBit : 0);
        } else {
            int i = Arrays.binarySearch(m.positives, a);
            if (i >= 0) code = m.positiveCodes[i];
            else {
                int hi = -i - 1;
                if (hi >= m.positives.length) {
                    // beyond the largest finite value: it rounds back down only within half an ulp
                    double max = m.max, prev = m.positives[m.positives.length - 2];
                    boolean roundsDown = a < max + (max - prev) / 2
                            || (a == max + (max - prev) / 2 && (m.positiveCodes[m.positives.length - 1] & 1) == 0);
                    if (roundsDown || saturate) code = m.positiveCodes[m.positives.length - 1];
                    else if (m.infCode >= 0) code = m.infCode;
                    else return m.unsignedZero ? m.nanCode : m.nanCode | (neg ? signBit : 0);
                } else {
                    int lo = hi - 1;
                    double dl = a - m.positives[lo], dh = m.positives[hi] - a;
                    int pick = dl < dh ? lo : dh < dl ? hi : ((m.positiveCodes[lo] & 1) == 0 ? lo : hi);
                    code = m.positiveCodes[pick];
                }
            }
        }
        if (code == 0 && m.unsignedZero) return 0; // fnuz formats have no negative zero
        return code | (neg ? signBit : 0);
    }

    /** Rounds a double to the nearest value representable in float dtype {@code t} (RNE, no saturation). */
    public static double round(DType t, double v) {
        return switch (t) {
            case F64 -> v;
            case F32 -> (float) v;
            default -> decode(t, encode(t, v, false));
        };
    }
}
