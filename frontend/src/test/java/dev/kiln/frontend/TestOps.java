package dev.kiln.frontend;

import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.InferContext;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpFamily;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Shapes;
import dev.kiln.ir.ops.CoreOps;

import java.util.ArrayList;
import java.util.List;

/**
 * Minimal op definitions (shape rules only) for importer tests; the real ones live on other branches. Each
 * follows the newest ONNX signature so the tests see what the upgrades produce.
 */
final class TestOps implements OpFamily {
    static final OpRegistry REGISTRY = OpRegistry.build(List.of(new CoreOps(), new TestOps()));

    private static OpDef.Semantics none() { return c -> { throw c.error("not evaluated in frontend tests"); }; }

    private static void add(OpRegistry.Builder r, String name, int minIn, int maxIn, int minOut, int maxOut, OpDef.ShapeRule rule) {
        r.add(OpDef.op(name).inputs(minIn, maxIn).outputs(minOut, maxOut).infer(rule).eval(none()));
    }

    private static List<TensorType> same(InferContext c) { return List.of(c.inputType(0)); }

    private static Shape shape(InferContext c) { return c.inputType(0).shape(); }

    @Override public void register(OpRegistry.Builder r) {
        for (String op : List.of("Add", "Sub", "Mul", "Div", "Pow"))
            add(r, op, 2, 2, 1, 1, c -> List.of(c.inputType(0).withShape(Shapes.broadcast(shape(c), c.inputType(1).shape()))));
        for (String op : List.of("Relu", "Softmax", "LogSoftmax", "Hardmax", "Neg"))
            add(r, op, 1, 1, 1, 1, TestOps::same);
        add(r, "Clip", 1, 3, 1, 1, TestOps::same);
        add(r, "Cast", 1, 1, 1, 1, c -> List.of(c.inputType(0).withDType(DType.fromOnnx((int) c.node().attrInt("to")))));
        add(r, "Shape", 1, 1, 1, 1, c -> List.of(TensorType.of(DType.I64, shape(c).rank())));
        add(r, "Flatten", 1, 1, 1, 1, c -> {
            Shape s = shape(c);
            int axis = (int) c.node().attrInt("axis", 1);
            if (axis < 0) axis += s.rank();
            if (!s.isStatic()) return List.of(new TensorType(c.inputType(0).dtype(), Shape.unknown(2)));
            long a = 1, b = 1;
            for (int i = 0; i < s.rank(); i++) if (i < axis) a *= s.dim(i).size(); else b *= s.dim(i).size();
            return List.of(TensorType.of(c.inputType(0).dtype(), a, b));
        });
        add(r, "Reshape", 2, 2, 1, 1, c -> {
            Tensor t = c.constantInput(1);
            if (t == null) {
                Shape s = c.inputType(1).shape();
                return List.of(new TensorType(c.inputType(0).dtype(), s.isStatic() ? Shape.unknown((int) s.dim(0).size()) : Shape.UNRANKED));
            }
            long[] want = t.toLongs();
            List<Dim> dims = new ArrayList<>();
            for (int i = 0; i < want.length; i++) dims.add(want[i] == 0 ? shape(c).dim(i) : want[i] < 0 ? Dim.UNKNOWN : Dim.of(want[i]));
            return List.of(new TensorType(c.inputType(0).dtype(), Shape.of(dims)));
        });
        add(r, "Squeeze", 1, 2, 1, 1, c -> {
            long[] axes = c.hasInput(1) ? c.constantInput(1).toLongs() : null;
            Shape s = shape(c);
            List<Dim> dims = new ArrayList<>();
            for (int i = 0; i < s.rank(); i++) if (!contains(axes, i, s.rank()) && !(axes == null && s.dim(i).equals(Dim.of(1)))) dims.add(s.dim(i));
            return List.of(c.inputType(0).withShape(Shape.of(dims)));
        });
        add(r, "Unsqueeze", 2, 2, 1, 1, c -> {
            long[] axes = c.constantInput(1).toLongs();
            Shape s = shape(c);
            int rank = s.rank() + axes.length;
            List<Dim> dims = new ArrayList<>();
            for (int i = 0, j = 0; i < rank; i++) dims.add(contains(axes, i, rank) ? Dim.of(1) : s.dim(j++));
            return List.of(c.inputType(0).withShape(Shape.of(dims)));
        });
        for (String op : List.of("ReduceSum", "ReduceMean"))
            add(r, op, 1, 2, 1, 1, c -> {
                long[] axes = c.hasInput(1) ? c.constantInput(1).toLongs() : null;
                boolean keep = c.node().attrInt("keepdims", 1) != 0;
                Shape s = shape(c);
                List<Dim> dims = new ArrayList<>();
                for (int i = 0; i < s.rank(); i++) {
                    boolean reduced = axes == null || contains(axes, i, s.rank());
                    if (!reduced) dims.add(s.dim(i));
                    else if (keep) dims.add(Dim.of(1));
                }
                return List.of(c.inputType(0).withShape(Shape.of(dims)));
            });
        add(r, "Pad", 2, 4, 1, 1, c -> {
            long[] pads = c.constantInput(1).toLongs();
            long[] s = shape(c).sizes();
            for (int i = 0; i < s.length; i++) s[i] += pads[i] + pads[i + s.length];
            return List.of(TensorType.of(c.inputType(0).dtype(), s));
        });
        add(r, "Slice", 3, 5, 1, 1, c -> {
            long[] s = shape(c).sizes(), st = c.constantInput(1).toLongs(), en = c.constantInput(2).toLongs();
            long[] axes = c.hasInput(3) ? c.constantInput(3).toLongs() : null;
            for (int k = 0; k < st.length; k++) {
                int a = axes == null ? k : Shapes.axis(axes[k], s.length);
                s[a] = Math.min(en[k], s[a]) - st[k];
            }
            return List.of(TensorType.of(c.inputType(0).dtype(), s));
        });
        add(r, "Split", 1, 2, 1, OpDef.VARIADIC, c -> {
            int axis = Shapes.axis(c.node().attrInt("axis", 0), shape(c).rank());
            long[] s = shape(c).sizes();
            long[] parts;
            if (c.hasInput(1)) parts = c.constantInput(1).toLongs();
            else {
                parts = new long[(int) c.node().attrInt("num_outputs")];
                java.util.Arrays.fill(parts, s[axis] / parts.length);
            }
            List<TensorType> out = new ArrayList<>();
            for (long p : parts) {
                long[] o = s.clone();
                o[axis] = p;
                out.add(TensorType.of(c.inputType(0).dtype(), o));
            }
            return out;
        });
        add(r, "TopK", 2, 2, 2, 2, c -> {
            long[] s = shape(c).sizes();
            s[Shapes.axis(c.node().attrInt("axis", -1), s.length)] = c.constantInput(1).getLong(0);
            return List.of(TensorType.of(c.inputType(0).dtype(), s), TensorType.of(DType.I64, s));
        });
        add(r, "Dropout", 1, 3, 1, 2, c -> List.of(c.inputType(0), c.inputType(0).withDType(DType.BOOL)));
        add(r, "BatchNormalization", 5, 5, 1, 3, TestOps::same);
        add(r, "Resize", 1, 4, 1, 1, c -> {
            Tensor scales = c.constantInput(2);
            long[] s = shape(c).sizes();
            for (int i = 0; i < s.length; i++) s[i] = (long) Math.floor(s[i] * scales.getDouble(i));
            return List.of(TensorType.of(c.inputType(0).dtype(), s));
        });
        add(r, "Concat", 1, OpDef.VARIADIC, 1, 1, c -> {
            long[] s = shape(c).sizes();
            int axis = Shapes.axis(c.node().attrInt("axis"), s.length);
            for (int i = 1; i < c.numInputs(); i++) if (i > 0) s[axis] += c.inputType(i).shape().sizes()[axis];
            return List.of(TensorType.of(c.inputType(0).dtype(), s));
        });
        add(r, "Gemm", 2, 3, 1, 1, c -> {
            long[] a = shape(c).sizes(), b = c.inputType(1).shape().sizes();
            long m = c.node().attrInt("transA", 0) != 0 ? a[1] : a[0], n = c.node().attrInt("transB", 0) != 0 ? b[0] : b[1];
            return List.of(TensorType.of(c.inputType(0).dtype(), m, n));
        });
    }

    private static boolean contains(long[] axes, int i, int rank) {
        if (axes == null) return false;
        for (long a : axes) if (Shapes.axis(a, rank) == i) return true;
        return false;
    }
}
