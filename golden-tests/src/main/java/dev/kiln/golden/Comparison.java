package dev.kiln.golden;

import dev.kiln.ir.DType;
import dev.kiln.ir.Tensor;

import java.util.Arrays;

/**
 * The result of comparing one actual tensor with its expected value: pass or fail, the largest absolute error
 * among finite elements, and, on failure, the reason (first bad element, shape or dtype mismatch).
 */
public record Comparison(boolean passed, double maxError, String reason) {
    public static Comparison compare(Tensor actual, Tensor expected, Tolerance tol) {
        if (actual == null) return new Comparison(false, Double.NaN, "no output produced");
        if (actual.dtype() != expected.dtype())
            return new Comparison(false, Double.NaN, "dtype " + actual.dtype() + ", expected " + expected.dtype());
        if (!Arrays.equals(actual.shape(), expected.shape()))
            return new Comparison(false, Double.NaN, "shape " + Arrays.toString(actual.shape()) + ", expected " + Arrays.toString(expected.shape()));
        DType t = expected.dtype();
        int n = expected.numel();
        double maxErr = 0;
        for (int i = 0; i < n; i++) {
            if (t.isString()) {
                if (!actual.getString(i).equals(expected.getString(i)))
                    return fail(i, '"' + actual.getString(i) + '"', '"' + expected.getString(i) + '"', maxErr);
                continue;
            }
            if (tol.exact() || !t.isFloat()) {
                if (t.isFloat() && Double.isNaN(expected.getDouble(i)) && Double.isNaN(actual.getDouble(i))
                        && t.bits() >= 16) continue; // wide floats: any NaN matches NaN
                if (actual.getBits(i) != expected.getBits(i))
                    return fail(i, describe(actual, i), describe(expected, i), maxErr);
                continue;
            }
            double a = actual.getDouble(i), e = expected.getDouble(i);
            if (Double.isNaN(e) || Double.isNaN(a)) {
                if (Double.isNaN(e) && Double.isNaN(a)) continue;
                return fail(i, describe(actual, i), describe(expected, i), maxErr);
            }
            if (Double.isInfinite(e) || Double.isInfinite(a)) {
                if (a == e) continue;
                return fail(i, describe(actual, i), describe(expected, i), maxErr);
            }
            double err = Math.abs(a - e);
            maxErr = Math.max(maxErr, err);
            if (err > tol.atol() + tol.rtol() * Math.abs(e))
                return new Comparison(false, maxErr, "element " + i + ": " + a + " vs expected " + e + " (error " + err
                        + " > atol " + tol.atol() + " + rtol " + tol.rtol() + " * |expected|)");
        }
        return new Comparison(true, maxErr, "");
    }

    private static Comparison fail(int i, String actual, String expected, double maxErr) {
        return new Comparison(false, maxErr, "element " + i + ": " + actual + " vs expected " + expected);
    }

    private static String describe(Tensor t, int i) {
        if (t.dtype().isFloat()) return t.getDouble(i) + " (bits 0x" + Long.toHexString(t.getBits(i)) + ")";
        return Long.toString(t.getLong(i));
    }
}
