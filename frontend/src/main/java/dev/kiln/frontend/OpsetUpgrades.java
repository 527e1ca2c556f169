package dev.kiln.frontend;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Rewrites ONNX nodes of older opsets into the newest signature of their op, which is the only form IR op
 * definitions know. One table row per change, applied in order to every node whose model opset is below the
 * row's {@code before}; a node may pass through several rows. Rules may emit helper nodes (constants for
 * attributes that became inputs, Flatten/Reshape around old Softmax) through the {@link Emitter} and return
 * the node that finally produces the original outputs.
 */
final class OpsetUpgrades {
    private OpsetUpgrades() {}

    /** What rules may do to the graph being built. */
    interface Emitter {
        /** A fresh {@code Constant} node holding {@code t}. */
        Value constant(Tensor t);

        /** A fresh single-output node, already in the newest form. */
        Value op(String op, List<Value> inputs, Map<String, Attr> attrs);

        /** The constant value of {@code v}, or null. */
        Tensor constantValue(Value v);
    }

    @FunctionalInterface
    interface Rule { OnnxNode apply(OnnxNode n, Emitter e); }

    /** Applies to ops in {@code ops} ("*" = all) whose opset is below {@code before}. */
    record Upgrade(Set<String> ops, int before, String change, Rule rule) {}

    private static final Set<String> LEGACY_BROADCAST =
            Set.of("Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less");
    private static final Set<String> REDUCE_18 = Set.of("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
            "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare");
    private static final int ALL = Integer.MAX_VALUE;

    static final List<Upgrade> TABLE = List.of(
            new Upgrade(Set.of("Constant"), ALL, "value_float/value_ints/... -> one tensor 'value'", OpsetUpgrades::constant),
            new Upgrade(Set.of("*"), 8, "drop legacy 'consumed_inputs'", (n, e) -> n.without("consumed_inputs")),
            new Upgrade(LEGACY_BROADCAST, 7, "broadcast/axis attributes -> numpy broadcasting", OpsetUpgrades::legacyBroadcast),
            new Upgrade(Set.of("Gemm"), 7, "drop 'broadcast'", (n, e) -> n.without("broadcast")),
            new Upgrade(Set.of("Concat"), 4, "'axis' defaulted to 1", (n, e) -> n.attr("axis") == null ? n.with("axis", Attr.of(1L)) : n),
            new Upgrade(Set.of("Cast"), 6, "'to' string -> DataType code", OpsetUpgrades::castTo),
            new Upgrade(Set.of("Reshape"), 5, "'shape' attribute -> input 1", (n, e) -> intsToInput(n, e, "shape", 1, true)),
            new Upgrade(Set.of("Tile"), 6, "3-input Tile(input, tiles, axis) has no newer form", OpsetUpgrades::oldTile),
            new Upgrade(Set.of("Slice"), 10, "starts/ends/axes attributes -> inputs 1-3", OpsetUpgrades::slice),
            new Upgrade(Set.of("TopK"), 10, "'k' attribute -> input 1", OpsetUpgrades::topK),
            new Upgrade(Set.of("Upsample"), ALL, "Upsample -> Resize (asymmetric, floor)", OpsetUpgrades::upsample),
            new Upgrade(Set.of("Resize"), 11, "Resize(X, scales) -> Resize(X, roi=none, scales), asymmetric/floor", OpsetUpgrades::resize10),
            new Upgrade(Set.of("Resize"), 13, "empty scales input means absent", OpsetUpgrades::resize11),
            new Upgrade(Set.of("Scatter"), ALL, "Scatter -> ScatterElements", (n, e) -> n.withOp("ScatterElements")),
            new Upgrade(Set.of("PRelu"), 7, "per-channel slope [C] -> [C,1,...] (numpy broadcasting)", OpsetUpgrades::prelu),
            new Upgrade(Set.of("Clip"), 11, "min/max attributes -> inputs 1-2", OpsetUpgrades::clip),
            new Upgrade(Set.of("Pad"), 11, "pads (paddings)/value attributes -> inputs 1-2", OpsetUpgrades::pad),
            new Upgrade(Set.of("Dropout"), 12, "'ratio' attribute -> input 1; drop 'is_test'", OpsetUpgrades::dropout),
            new Upgrade(Set.of("BatchNormalization"), 9, "drop 'spatial' and 'is_test'", OpsetUpgrades::batchNorm),
            new Upgrade(Set.of("Squeeze", "Unsqueeze"), 13, "'axes' attribute -> input 1", (n, e) -> intsToInput(n, e, "axes", 1, false)),
            new Upgrade(Set.of("ReduceSum"), 13, "'axes' attribute -> input 1", (n, e) -> intsToInput(n, e, "axes", 1, false)),
            new Upgrade(REDUCE_18, 18, "'axes' attribute -> input 1", (n, e) -> intsToInput(n, e, "axes", 1, false)),
            new Upgrade(Set.of("Split"), 13, "'split' attribute -> input 1", (n, e) -> intsToInput(n, e, "split", 1, false)),
            new Upgrade(Set.of("Split"), ALL, "set 'num_outputs' when no 'split' input is given", OpsetUpgrades::splitCount),
            new Upgrade(Set.of("Softmax", "LogSoftmax", "Hardmax"), 13, "coerce-to-2-D -> Flatten, op(axis=1), Reshape",
                    OpsetUpgrades::coerced2d));

    /** The node in its newest form; helper nodes the rules need are emitted through {@code e}. */
    static OnnxNode upgrade(OnnxNode n, Emitter e) {
        String onnxOp = n.op(); // rows match the op as written: a rule's output (Upsample -> Resize) is already newest
        for (Upgrade u : TABLE)
            if (n.opset() < u.before() && (u.ops().contains(onnxOp) || u.ops().contains("*"))) n = u.rule().apply(n, e);
        return n;
    }

    // ---- rules ----

    private static UnsupportedException unsupported(OnnxNode n, String why) {
        return new UnsupportedException(why + " (opset " + n.opset() + ")");
    }

    private static InvalidModelException invalid(String why) { return new InvalidModelException(why); }

    /** Sets input {@code index}, padding omitted inputs before it. */
    private static OnnxNode setInput(OnnxNode n, int index, Value v) {
        List<Value> in = new ArrayList<>(n.inputs());
        while (in.size() <= index) in.add(Value.NONE);
        in.set(index, v);
        return n.withInputs(in);
    }

    private static long[] ints(OnnxNode n, String name) {
        Attr a = n.attr(name);
        if (a == null) return null;
        if (a instanceof Attr.Ints i) return i.values().toArray();
        if (a instanceof Attr.Int i) return new long[] {i.value()};
        throw invalid("attribute '" + name + "' should be ints but is " + a.kindName());
    }

    private static Double number(OnnxNode n, String name) {
        Attr a = n.attr(name);
        if (a == null) return null;
        if (a instanceof Attr.Float f) return f.value();
        if (a instanceof Attr.Int i) return (double) i.value();
        throw invalid("attribute '" + name + "' should be a float but is " + a.kindName());
    }

    private static DType inputDType(OnnxNode n) {
        Value x = n.input(0);
        if (x.isNone()) throw invalid("input 0 is required but omitted");
        return x.dtype();
    }

    /** An ints attribute becomes an i64 1-D constant input. */
    private static OnnxNode intsToInput(OnnxNode n, Emitter e, String attr, int index, boolean required) {
        long[] v = ints(n, attr);
        if (v == null) {
            if (required) throw invalid("required attribute '" + attr + "' is missing");
            return n;
        }
        return setInput(n.without(attr), index, e.constant(Tensor.vector(v)));
    }

    private static OnnxNode constant(OnnxNode n, Emitter e) {
        if (n.attrs().size() != 1)
            throw invalid("Constant needs exactly one value attribute, has " + n.attrs().keySet());
        var entry = n.attrs().entrySet().iterator().next();
        Attr a = entry.getValue();
        Tensor t = switch (entry.getKey()) {
            case "value" -> a instanceof Attr.TensorValue tv ? tv.value() : null;
            case "value_float" -> a instanceof Attr.Float f ? Tensor.scalar(DType.F32, f.value()) : null;
            case "value_floats" -> a instanceof Attr.Floats f
                    ? Tensor.ofDoubles(DType.F32, new long[] {f.values().size()}, f.values().toArray()) : null;
            case "value_int" -> a instanceof Attr.Int i ? Tensor.scalarLong(DType.I64, i.value()) : null;
            case "value_ints" -> a instanceof Attr.Ints i ? Tensor.vector(i.values().toArray()) : null;
            case "value_string" -> a instanceof Attr.Str s ? Tensor.ofStrings(new long[0], new String[] {s.value()}) : null;
            case "value_strings" -> a instanceof Attr.Strs s
                    ? Tensor.ofStrings(new long[] {s.values().size()}, s.values().toArray(new String[0])) : null;
            case "sparse_value" -> throw unsupported(n, "sparse Constant values are not supported; densify the constant");
            default -> throw invalid("Constant has unknown attribute '" + entry.getKey() + "'");
        };
        if (t == null) throw invalid("Constant attribute '" + entry.getKey() + "' has the wrong kind " + a.kindName());
        return n.withAttrs(Map.of("value", Attr.of(t)));
    }

    private static OnnxNode legacyBroadcast(OnnxNode n, Emitter e) {
        Attr b = n.attr("broadcast");
        long axisAttr = n.attr("axis") instanceof Attr.Int i ? i.value() : Long.MIN_VALUE;
        OnnxNode r = n.without("broadcast", "axis");
        if (!(b instanceof Attr.Int bi) || bi.value() == 0 || axisAttr == Long.MIN_VALUE) return r;
        Value a = n.input(0), bv = n.input(1);
        if (a.isNone() || bv.isNone() || !a.shape().ranked() || !bv.shape().ranked())
            throw unsupported(n, "legacy broadcasting with 'axis' needs inputs of known rank");
        int ra = a.shape().rank(), rb = bv.shape().rank();
        long axis = axisAttr < 0 ? axisAttr + ra : axisAttr;
        int trailing = (int) (ra - axis - rb);
        if (axis < 0 || trailing < 0) throw invalid("broadcast axis " + axisAttr + " does not fit ranks " + ra + " and " + rb);
        if (trailing == 0) return r; // B already lines up with A's last axes: numpy broadcasting agrees
        long[] shape = new long[rb + trailing]; // 0 copies B's dim (Reshape, allowzero=0), then trailing 1s
        for (int i = rb; i < shape.length; i++) shape[i] = 1;
        Value reshaped = e.op("Reshape", List.of(bv, e.constant(Tensor.vector(shape))), Map.of());
        return setInput(r, 1, reshaped);
    }

    private static OnnxNode castTo(OnnxNode n, Emitter e) {
        if (!(n.attr("to") instanceof Attr.Str s)) return n;
        String name = s.value().toUpperCase(Locale.ROOT);
        int code = switch (name) {
            case "FLOAT" -> 1; case "UINT8" -> 2; case "INT8" -> 3; case "UINT16" -> 4; case "INT16" -> 5;
            case "INT32" -> 6; case "INT64" -> 7; case "STRING" -> 8; case "BOOL" -> 9; case "FLOAT16" -> 10;
            case "DOUBLE" -> 11; case "UINT32" -> 12; case "UINT64" -> 13; case "BFLOAT16" -> 16;
            default -> throw invalid("Cast 'to' names unknown type '" + s.value() + "'");
        };
        return n.with("to", Attr.of((long) code));
    }

    private static OnnxNode oldTile(OnnxNode n, Emitter e) {
        if (n.inputs().size() > 2)
            throw unsupported(n, "Tile with an 'axis' input (opset < 6) is not supported; re-export the model at opset 6 or later");
        return n;
    }

    private static OnnxNode slice(OnnxNode n, Emitter e) {
        long[] starts = ints(n, "starts"), ends = ints(n, "ends"), axes = ints(n, "axes");
        if (starts == null || ends == null) throw invalid("Slice needs 'starts' and 'ends' attributes");
        OnnxNode r = n.without("starts", "ends", "axes");
        r = setInput(r, 1, e.constant(Tensor.vector(starts)));
        r = setInput(r, 2, e.constant(Tensor.vector(ends)));
        return axes == null ? r : setInput(r, 3, e.constant(Tensor.vector(axes)));
    }

    private static OnnxNode topK(OnnxNode n, Emitter e) {
        long[] k = ints(n, "k");
        if (k == null) throw invalid("TopK needs a 'k' attribute");
        return setInput(n.without("k"), 1, e.constant(Tensor.vector(k)));
    }

    /** Upsample's index mapping is {@code in = floor(out / scale)}: Resize with asymmetric coordinates. */
    private static OnnxNode upsample(OnnxNode n, Emitter e) {
        String mode = n.attr("mode") instanceof Attr.Str s ? s.value() : "nearest";
        if (mode.equals("bilinear")) mode = "linear";
        Value scales;
        double[] f = n.attr("scales") instanceof Attr.Floats fs ? fs.values().toArray() : null;
        Double h = number(n, "height_scale"), w = number(n, "width_scale");
        if (f != null) scales = e.constant(Tensor.ofDoubles(DType.F32, new long[] {f.length}, f));
        else if (h != null || w != null)
            scales = e.constant(Tensor.f32(new long[] {4}, 1, 1, h == null ? 1 : h, w == null ? 1 : w));
        else scales = n.input(1);
        if (scales.isNone()) throw invalid("Upsample needs scales (attribute or input 1)");
        OnnxNode r = new OnnxNode("Resize", List.of(n.input(0), Value.NONE, scales), Map.of(
                "mode", Attr.of(mode),
                "coordinate_transformation_mode", Attr.of("asymmetric"),
                "nearest_mode", Attr.of("floor")), n.outputs(), n.origin(), n.opset());
        return r;
    }

    private static OnnxNode resize10(OnnxNode n, Emitter e) {
        OnnxNode r = n.withInputs(List.of(n.input(0), Value.NONE, n.input(1)))
                .with("coordinate_transformation_mode", Attr.of("asymmetric"));
        return r.attr("nearest_mode") == null ? r.with("nearest_mode", Attr.of("floor")) : r;
    }

    private static OnnxNode resize11(OnnxNode n, Emitter e) {
        if (n.attr("coordinate_transformation_mode") instanceof Attr.Str s && s.value().equals("tf_half_pixel_for_nn"))
            throw unsupported(n, "Resize coordinate_transformation_mode 'tf_half_pixel_for_nn' was removed in opset 13 "
                    + "and is not supported; re-export with 'half_pixel'");
        OnnxNode r = n;
        for (int i = 1; i <= 2; i++) {
            Tensor t = n.input(i).isNone() ? null : e.constantValue(n.input(i));
            if (t != null && t.numel() == 0) r = setInput(r, i, Value.NONE);
        }
        return r;
    }

    private static OnnxNode clip(OnnxNode n, Emitter e) {
        Double min = number(n, "min"), max = number(n, "max");
        OnnxNode r = n.without("min", "max");
        if (min == null && max == null) return r;
        DType t = inputDType(n);
        r = setInput(r, 1, min == null ? Value.NONE : e.constant(Tensor.scalar(t, min)));
        return max == null ? r : setInput(r, 2, e.constant(Tensor.scalar(t, max)));
    }

    /** Before opset 7 a 1-D slope of length C applied along the channel axis 1, not the last axis. */
    private static OnnxNode prelu(OnnxNode n, Emitter e) {
        if (n.inputs().size() < 2) return n;
        Value x = n.inputs().get(0), slope = n.inputs().get(1);
        if (x.isNone() || slope.isNone() || !x.shape().ranked() || !slope.shape().ranked()) return n;
        int rank = x.shape().rank();
        if (slope.shape().rank() != 1 || rank < 3 || !slope.shape().dim(0).isStatic() || slope.shape().dim(0).size() == 1) return n;
        long[] shape = new long[rank - 1];
        java.util.Arrays.fill(shape, 1);
        shape[0] = slope.shape().dim(0).size();
        Value reshaped = e.op("Reshape", List.of(slope, e.constant(Tensor.vector(shape))), Map.of());
        return setInput(n, 1, reshaped);
    }

    private static OnnxNode pad(OnnxNode n, Emitter e) {
        long[] pads = ints(n, n.attr("pads") != null ? "pads" : "paddings");
        if (pads == null) throw invalid("Pad needs a 'pads' attribute");
        Double value = number(n, "value");
        OnnxNode r = setInput(n.without("pads", "paddings", "value"), 1, e.constant(Tensor.vector(pads)));
        return value == null ? r : setInput(r, 2, e.constant(Tensor.scalar(inputDType(n), value)));
    }

    /** Old Dropout's is_test=0 asked for training; Kiln runs inference, where Dropout is the identity. */
    private static OnnxNode dropout(OnnxNode n, Emitter e) {
        Double ratio = number(n, "ratio");
        OnnxNode r = n.without("ratio", "is_test");
        return ratio == null ? r : setInput(r, 1, e.constant(Tensor.scalar(DType.F32, ratio)));
    }

    private static OnnxNode batchNorm(OnnxNode n, Emitter e) {
        if (n.attr("spatial") instanceof Attr.Int s && s.value() == 0)
            throw unsupported(n, "BatchNormalization with spatial=0 (per-activation statistics) is not supported");
        return n.without("spatial", "is_test");
    }

    private static OnnxNode splitCount(OnnxNode n, Emitter e) {
        if (!n.input(1).isNone() || n.attr("num_outputs") != null) return n;
        return n.with("num_outputs", Attr.of((long) n.outputs().size()));
    }

    /**
     * Before opset 13 these ops flattened the input to 2-D at {@code axis} (default 1) and normalized each row.
     * When {@code axis} is the last axis that equals the newest semantics; otherwise emit the coercion.
     */
    private static OnnxNode coerced2d(OnnxNode n, Emitter e) {
        long axis = n.attr("axis") instanceof Attr.Int i ? i.value() : 1;
        Value x = n.input(0);
        if (x.isNone()) throw invalid("input 0 is required but omitted");
        if (x.shape().ranked()) {
            int rank = x.shape().rank();
            long a = axis < 0 ? axis + rank : axis;
            if (a == rank - 1 || rank == 0) return n.with("axis", Attr.of(-1L));
        }
        Value flat = e.op("Flatten", List.of(x), Map.of("axis", Attr.of(axis)));
        Value y = e.op(n.op(), List.of(flat), Map.of("axis", Attr.of(1L)));
        Value shape = e.op("Shape", List.of(x), Map.of());
        return new OnnxNode("Reshape", List.of(y, shape), Map.of(), n.outputs(), n.origin(), n.opset());
    }
}
