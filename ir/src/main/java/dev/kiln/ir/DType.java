package dev.kiln.ir;

import java.util.Locale;

/**
 * Element types. The text name (f32, i64, f8e4m3fn...) is what the IR text form prints; the ONNX code is
 * TensorProto.DataType. Sub-byte types (int4, int2, float4) are held one element per byte in a {@link Tensor}
 * and packed only on the wire.
 */
public enum DType {
    F32("f32", 1, 32, Kind.FLOAT),
    U8("u8", 2, 8, Kind.UNSIGNED),
    I8("i8", 3, 8, Kind.SIGNED),
    U16("u16", 4, 16, Kind.UNSIGNED),
    I16("i16", 5, 16, Kind.SIGNED),
    I32("i32", 6, 32, Kind.SIGNED),
    I64("i64", 7, 64, Kind.SIGNED),
    STRING("string", 8, 0, Kind.OTHER),
    BOOL("bool", 9, 8, Kind.BOOL),
    F16("f16", 10, 16, Kind.FLOAT),
    F64("f64", 11, 64, Kind.FLOAT),
    U32("u32", 12, 32, Kind.UNSIGNED),
    U64("u64", 13, 64, Kind.UNSIGNED),
    BF16("bf16", 16, 16, Kind.FLOAT),
    F8E4M3FN("f8e4m3fn", 17, 8, Kind.FLOAT),
    F8E4M3FNUZ("f8e4m3fnuz", 18, 8, Kind.FLOAT),
    F8E5M2("f8e5m2", 19, 8, Kind.FLOAT),
    F8E5M2FNUZ("f8e5m2fnuz", 20, 8, Kind.FLOAT),
    U4("u4", 21, 4, Kind.UNSIGNED),
    I4("i4", 22, 4, Kind.SIGNED),
    F4E2M1("f4e2m1", 23, 4, Kind.FLOAT),
    F8E8M0("f8e8m0", 24, 8, Kind.FLOAT),
    U2("u2", 25, 2, Kind.UNSIGNED),
    I2("i2", 26, 2, Kind.SIGNED);

    public enum Kind { FLOAT, SIGNED, UNSIGNED, BOOL, OTHER }

    private final String textName;
    private final int onnxCode;
    private final int bits;
    private final Kind kind;

    DType(String textName, int onnxCode, int bits, Kind kind) {
        this.textName = textName;
        this.onnxCode = onnxCode;
        this.bits = bits;
        this.kind = kind;
    }

    public String textName() { return textName; }
    public int onnxCode() { return onnxCode; }
    /** Bits of one element on the wire (4 for int4); 0 for strings. */
    public int bits() { return bits; }
    /** Bytes one element takes in a {@link Tensor}'s storage (sub-byte types take one byte). */
    public int storageBytes() { return bits <= 8 ? 1 : bits / 8; }
    public Kind kind() { return kind; }
    public boolean isFloat() { return kind == Kind.FLOAT; }
    public boolean isInteger() { return kind == Kind.SIGNED || kind == Kind.UNSIGNED; }
    public boolean isSigned() { return kind == Kind.SIGNED; }
    public boolean isUnsigned() { return kind == Kind.UNSIGNED; }
    public boolean isBool() { return kind == Kind.BOOL; }
    public boolean isString() { return this == STRING; }
    /** Floats narrower than f32 whose values a double holds exactly but whose arithmetic rounds per op. */
    public boolean isLowPrecisionFloat() { return isFloat() && bits < 32; }

    public static DType fromOnnx(int code) {
        for (DType t : values()) if (t.onnxCode == code) return t;
        throw new UnsupportedException("unsupported ONNX tensor data type " + code
                + " (supported: " + java.util.Arrays.toString(values()) + ")");
    }

    public static DType fromText(String name) {
        for (DType t : values()) if (t.textName.equals(name)) return t;
        throw new IllegalArgumentException("unknown dtype '" + name + "'");
    }

    @Override public String toString() { return textName; }

    public String upperName() { return name().toLowerCase(Locale.ROOT); }
}
