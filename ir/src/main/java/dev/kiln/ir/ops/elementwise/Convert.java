package dev.kiln.ir.ops.elementwise;

import dev.kiln.ir.DType;
import dev.kiln.ir.FloatFormats;
import dev.kiln.ir.Tensor;

import java.math.BigDecimal;
import java.util.Locale;

/**
 * Element type conversion as ONNX Cast defines it, bit-exact for every narrow type: floats round to nearest
 * even (f8e8m0 by {@code round_mode}); float8 targets saturate or overflow to inf/NaN by {@code saturate};
 * f4e2m1 always saturates; floats to integers truncate toward zero and then wrap to the target width (as
 * numpy's astype, int4/int2 included); strings parse and print the way numpy does.
 */
public final class Convert {
    private Convert() {}

    public static Tensor cast(Tensor x, DType to, boolean saturate, String roundMode) {
        DType from = x.dtype();
        if (from == to) return x;
        long[] shape = x.shape();
        int n = x.numel();
        if (to.isString()) {
            String[] r = new String[n];
            for (int i = 0; i < n; i++) r[i] = format(x, i);
            return Tensor.ofStrings(shape, r);
        }
        if (from.isString()) return parse(x, to);
        if (to.isFloat() && to.bits() <= 8) {
            byte[] r = new byte[n];
            for (int i = 0; i < n; i++) {
                double v = x.getDouble(i);
                r[i] = (byte) (to == DType.F8E8M0 ? FloatFormats.e8m0(v, saturate, roundMode) : FloatFormats.encode(to, v, saturate));
            }
            return Tensor.ofBytes(to, shape, r);
        }
        if (to.isFloat()) {
            double[] r = new double[n];
            boolean wideInt = from == DType.I64 && to == DType.F32;
            // long -> float directly: through double would round twice
            for (int i = 0; i < n; i++) r[i] = wideInt ? (double) (float) x.getLong(i) : x.getDouble(i);
            return Tensor.ofDoubles(to, shape, r);
        }
        if (from.isFloat() && to != DType.BOOL) {
            double[] r = new double[n];
            for (int i = 0; i < n; i++) r[i] = x.getDouble(i);
            return Tensor.ofDoubles(to, shape, r);   // truncates toward zero, then wraps
        }
        if (to == DType.BOOL) {
            boolean[] r = new boolean[n];
            for (int i = 0; i < n; i++) r[i] = x.getBool(i);   // NaN is true, like numpy
            return Tensor.ofBools(shape, r);
        }
        return Tensor.ofLongs(to, shape, x.toLongs());   // integer/bool to integer: wraps
    }

    /** numpy's str() of one element: shortest round-trip digits, scientific outside [1e-4, 1e16). */
    static String format(Tensor x, int i) {
        DType t = x.dtype();
        if (t.isBool()) return x.getBool(i) ? "True" : "False";
        if (t == DType.U64) return Long.toUnsignedString(x.getLong(i));
        if (t.isInteger()) return Long.toString(x.getLong(i));
        double v = x.getDouble(i);
        if (Double.isNaN(v)) return "nan";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        if (v == 0) return (1 / v < 0) ? "-0.0" : "0.0";
        String shortest = t == DType.F64 ? Double.toString(v) : Float.toString((float) v);
        BigDecimal d = new BigDecimal(shortest).stripTrailingZeros();
        double a = Math.abs(v);
        if (a >= 1e-4 && a < 1e16) {
            String s = d.toPlainString();
            return s.contains(".") ? s : s + ".0";
        }
        // d = unscaled * 10^-scale; write it as m.mmm e+XX
        String digits = d.unscaledValue().abs().toString();
        int exp = digits.length() - 1 - d.scale();
        String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return (v < 0 ? "-" : "") + mant + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }

    private static Tensor parse(Tensor x, DType to) {
        int n = x.numel();
        if (to.isInteger() || to.isBool()) {
            long[] r = new long[n];
            for (int i = 0; i < n; i++) {
                String s = x.getString(i).trim();
                try {
                    r[i] = to == DType.U64 ? Long.parseUnsignedLong(s) : Long.parseLong(s);
                } catch (NumberFormatException e) {
                    double d = parseDouble(s);
                    r[i] = to.isBool() ? (d != 0 ? 1 : 0) : (long) d;
                }
            }
            return Tensor.ofLongs(to, x.shape(), r);
        }
        Tensor d = Tensor.ofDoubles(DType.F64, x.shape(), java.util.Arrays.stream(x.toStrings()).mapToDouble(Convert::parseDouble).toArray());
        return cast(d, to, true, "up");
    }

    /** A decimal string as numpy reads it: also "inf", "-inf", "nan", "infinity" in any case. */
    static double parseDouble(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        String body = t.startsWith("+") || t.startsWith("-") ? t.substring(1) : t;
        if (body.equals("inf") || body.equals("infinity")) return t.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        if (body.equals("nan")) return Double.NaN;
        try {
            return Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new dev.kiln.ir.EvaluationException("cannot convert string '" + s + "' to a number");
        }
    }
}
