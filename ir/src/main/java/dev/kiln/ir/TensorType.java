package dev.kiln.ir;

/** The type of an SSA value: element type and shape. Printed as {@code f32[3,N,4]}. */
public record TensorType(DType dtype, Shape shape) {
    public TensorType {
        java.util.Objects.requireNonNull(dtype, "dtype");
        java.util.Objects.requireNonNull(shape, "shape");
    }

    public static TensorType of(DType dtype, long... sizes) { return new TensorType(dtype, Shape.of(sizes)); }

    public int rank() { return shape.rank(); }

    public TensorType withShape(Shape s) { return s.equals(shape) ? this : new TensorType(dtype, s); }
    public TensorType withDType(DType d) { return d == dtype ? this : new TensorType(d, shape); }

    @Override public String toString() { return dtype.textName() + shape; }
}
