package dev.kiln.ir.text;

import dev.kiln.ir.DType;
import dev.kiln.ir.FloatFormats;
import dev.kiln.ir.Tensor;

import java.math.BigInteger;

/**
 * Tensor elements as text and back, bit-exact. Each element prints as its value when that value encodes back
 * to the same storage bits, else as a hex bit pattern (NaN payloads, non-canonical sub-byte storage).
 */
final class TensorText {
    private TensorText() {}

    /** The inline literal: a bare element for scalars, else a flat bracketed list in row-major order. */
    static String format(Tensor t) {
        if (t.rank() == 0) return element(t, 0);
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < t.numel(); i++) b.append(i > 0 ? ", " : "").append(element(t, i));
        return b.append(']').toString();
    }

    static String element(Tensor t, int i) {
        DType d = t.dtype();
        if (d.isString()) return TextSyntax.quote(t.getString(i));
        long bits = t.getBits(i);
        Literal lit;
        if (d.isBool()) lit = new Literal.Bool(bits != 0);
        else if (d == DType.F32) lit = new Literal.Flt(Literal.format(Float.intBitsToFloat((int) bits)));
        else if (d.isFloat()) lit = new Literal.Flt(Literal.format(t.getDouble(i)));
        else lit = new Literal.Int(d == DType.U64 ? Long.toUnsignedString(bits) : Long.toString(t.getLong(i)));
        if (encodesTo(d, lit, bits)) {
            return switch (lit) {
                case Literal.Bool b -> Boolean.toString(b.value());
                case Literal.Flt f -> f.text();
                case Literal.Int n -> n.text();
                default -> throw new IllegalStateException();
            };
        }
        return String.format("0x%0" + d.storageBytes() * 2 + "X", bits);
    }

    private static boolean encodesTo(DType d, Literal lit, long bits) {
        try {
            return bits(d, lit) == bits;
        } catch (IllegalArgumentException e) {
            return false; // e.g. an i4 stored as 0x0F instead of sign-extended: only hex says it exactly
        }
    }

    /** The storage bits a literal gives in dtype {@code d}; IllegalArgumentException says why it does not fit. */
    static long bits(DType d, Literal lit) {
        if (d.isString()) throw new IllegalArgumentException("a string tensor takes only string literals");
        int width = d.storageBytes() * 8;
        long mask = width == 64 ? -1L : (1L << width) - 1;
        return switch (lit) {
            case Literal.Hex h -> {
                String digits = h.text().substring(2);
                BigInteger v = new BigInteger(digits, 16);
                if (v.bitLength() > width)
                    throw new IllegalArgumentException("bit pattern " + h.text() + " is wider than " + d + "'s " + width + " bits");
                yield v.longValue();
            }
            case Literal.Bool b -> {
                if (!d.isBool()) throw new IllegalArgumentException("true/false only fit a bool tensor, not " + d);
                yield b.value() ? 1 : 0;
            }
            case Literal.Str s -> throw new IllegalArgumentException("a string literal does not fit a " + d + " tensor");
            case Literal.Flt f -> {
                if (!d.isFloat()) throw new IllegalArgumentException("float literal " + f.text() + " does not fit a " + d + " tensor");
                yield floatBits(d, f);
            }
            case Literal.Int n -> {
                if (d.isFloat()) yield floatBits(d, new Literal.Flt(n.text()));
                if (d.isBool()) throw new IllegalArgumentException("a bool tensor takes true or false, not " + n.text());
                BigInteger v = new BigInteger(n.text());
                int bitsOf = d.bits();
                BigInteger lo = d.isSigned() ? BigInteger.ONE.shiftLeft(bitsOf - 1).negate() : BigInteger.ZERO;
                BigInteger hi = (d.isSigned() ? BigInteger.ONE.shiftLeft(bitsOf - 1) : BigInteger.ONE.shiftLeft(bitsOf))
                        .subtract(BigInteger.ONE);
                if (v.compareTo(lo) < 0 || v.compareTo(hi) > 0)
                    throw new IllegalArgumentException(n.text() + " is out of range for " + d + " [" + lo + ", " + hi + "]");
                yield v.longValue() & mask;
            }
        };
    }

    private static long floatBits(DType d, Literal.Flt f) {
        return switch (d) {
            case F32 -> Float.floatToRawIntBits(f.toFloat()) & 0xFFFFFFFFL;
            case F64 -> Double.doubleToRawLongBits(f.toDouble());
            default -> FloatFormats.encode(d, f.toDouble(), false);
        };
    }

    /** A tensor from per-element storage bits (little-endian storage, as {@link Tensor} holds it). */
    static Tensor fromBits(DType d, long[] shape, long[] bits) {
        int n = d.storageBytes();
        byte[] data = new byte[bits.length * n];
        for (int i = 0; i < bits.length; i++)
            for (int k = 0; k < n; k++) data[i * n + k] = (byte) (bits[i] >>> (8 * k));
        return Tensor.ofBytes(d, shape, data);
    }
}
