package dev.kiln.ir.text;

/** A scalar literal as written in the text, before a dtype or attribute kind gives it meaning. */
sealed interface Literal {
    /** A decimal integer such as {@code -3}, unbounded until a dtype bounds it. */
    record Int(String text) implements Literal {}
    /** A float such as {@code 1.5E-3}, {@code nan}, {@code inf}, {@code -inf}. */
    record Flt(String text) implements Literal {
        double toDouble() {
            return switch (text) {
                case "nan" -> Double.NaN;
                case "inf" -> Double.POSITIVE_INFINITY;
                case "-inf" -> Double.NEGATIVE_INFINITY;
                default -> Double.parseDouble(text);
            };
        }

        /** Parsed straight to float32 (not via double, which could round twice). */
        float toFloat() {
            return switch (text) {
                case "nan" -> Float.NaN;
                case "inf" -> Float.POSITIVE_INFINITY;
                case "-inf" -> Float.NEGATIVE_INFINITY;
                default -> Float.parseFloat(text);
            };
        }
    }
    /** Raw storage bits, {@code 0x7FC00001}. */
    record Hex(String text) implements Literal {}
    record Str(String value) implements Literal {}
    record Bool(boolean value) implements Literal {}

    /** Shortest text that parses back to exactly {@code d}. */
    static String format(double d) {
        if (Double.isNaN(d)) return "nan";
        if (Double.isInfinite(d)) return d > 0 ? "inf" : "-inf";
        return Double.toString(d);
    }

    static String format(float f) {
        if (Float.isNaN(f)) return "nan";
        if (Float.isInfinite(f)) return f > 0 ? "inf" : "-inf";
        return Float.toString(f);
    }
}
