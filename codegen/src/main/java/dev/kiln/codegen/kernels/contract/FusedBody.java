package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.ExprEmitter;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A contraction-kind {@code Fused} node taken apart: its body, the one main op (MatMul, Conv, Attention...)
 * whose inputs are body inputs, and the elementwise epilogue nodes after it, each of the main output's shape.
 * In generated C, body input {@code i} is the kernel parameter {@code in<i>} and body output {@code i} is
 * {@code out<i>}; parameters are all node inputs, then all node outputs. Reads the IR only.
 */
record FusedBody(Node fused, Graph body, Node main, List<Node> epilogue, Map<String, Integer> inputIndex,
                 Map<String, Tensor> constants) {

    static boolean isKind(Node n, String kind) {
        return n.op().equals("Fused") && kind.equals(n.attrString("kind", ""));
    }

    static FusedBody of(Node fused, Set<String> mainOps) {
        if (!(fused.attrs().get("body") instanceof Attr.GraphValue gv))
            throw fused.error(new UnsupportedException("Fused node has no body graph"));
        Graph body = gv.value();
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < body.inputs().size(); i++) index.putIfAbsent(body.inputs().get(i).name(), i);
        Map<String, Tensor> constants = new HashMap<>();
        Node main = null;
        List<Node> epilogue = new ArrayList<>();
        for (Node n : body.nodes()) {
            if (n.op().equals("Constant")) {
                constants.put(n.output(0).name(), n.attrTensor("value"));
            } else if (mainOps.contains(n.op())) {
                if (main != null) throw fused.error(new UnsupportedException("body holds two contractions (" + main.op() + ", " + n.op() + ")"));
                main = n;
                for (Value in : n.inputs())
                    if (!in.isNone() && !index.containsKey(in.name()))
                        throw fused.error(new UnsupportedException(n.op() + " input %" + in.name() + " is computed in the body; only epilogues fuse"));
            } else {
                if (main == null) throw fused.error(new UnsupportedException("op " + n.op() + " before the " + mainOps + " in the body (no prologue fusion)"));
                epilogue.add(n);
            }
        }
        if (main == null) throw fused.error(new UnsupportedException("body holds none of " + mainOps));
        for (Value v : body.inputs()) requireStatic(fused, v);
        for (Value v : main.outputs()) if (!v.isNone()) requireStatic(fused, v);
        long[] out = main.output(0).shape().sizes();
        for (Node n : epilogue) {
            if (n.outputs().size() != 1) throw fused.error(new UnsupportedException("epilogue op " + n.op() + " has several outputs"));
            requireStatic(fused, n.output(0));
            if (!Arrays.equals(n.output(0).shape().sizes(), out))
                throw fused.error(new UnsupportedException("epilogue op " + n.op() + " makes " + n.output(0).shape()
                        + ", not the contraction's shape " + main.output(0).shape()));
        }
        return new FusedBody(fused, body, main, List.copyOf(epilogue), Map.copyOf(index), Map.copyOf(constants));
    }

    private static void requireStatic(Node fused, Value v) {
        if (!v.shape().isStatic()) throw fused.error(new UnsupportedException("shape of %" + v.name() + " is not static: " + v.shape()));
    }

    /** The C name of a body input of the main op ({@code in3}). */
    String in(Value bodyInput) {
        Integer i = inputIndex.get(bodyInput.name());
        if (i == null) throw new IllegalStateException("%" + bodyInput.name() + " is not a body input");
        return "in" + i;
    }

    /** The kernel parameters: every node input, then every node output. */
    List<KernelSpec.Param> params() {
        List<KernelSpec.Param> p = new ArrayList<>();
        for (Value v : fused.inputs()) p.add(new KernelSpec.Param.Buffer(v.name()));
        for (Value v : fused.outputs()) if (!v.isNone()) p.add(new KernelSpec.Param.Buffer(v.name()));
        return p;
    }

    /** {@code extern "C" __global__ void name(const float* __restrict__ in0, ..., float* out0)}. */
    String signature(String entry, int threads) {
        List<String> ps = new ArrayList<>();
        for (int i = 0; i < body.inputs().size(); i++)
            ps.add("const " + CTypes.storage(body.inputs().get(i).dtype()) + "* __restrict__ in" + i);
        for (int i = 0; i < body.outputs().size(); i++)
            if (!fused.output(i).isNone()) ps.add(CTypes.storage(body.outputs().get(i).dtype()) + "* out" + i);
        return "extern \"C\" __global__ void __launch_bounds__(" + threads + ") " + entry + "(" + String.join(", ", ps) + ")";
    }

    List<String> origins() {
        List<String> r = new ArrayList<>();
        for (String s : fused.origin().split(",")) if (!s.isBlank()) r.add(s.trim());
        return r;
    }

    /** The first lines of every kernel: the absorbed ONNX nodes, then the includes. */
    void header(CudaSource src, String what) {
        src.comment(dev.kiln.codegen.Codegen.originComment(fused));
        src.comment(what);
        for (String l : CTypes.PRELUDE.strip().split("\n")) src.line(l);
        for (var e : epilogueTables().entrySet()) dev.kiln.codegen.kernels.ew.Literals.table(src, e.getValue(), constants.get(e.getKey()));
    }

    /**
     * The non-scalar constants the epilogue reads, each baked as a file-scope table in its compute type
     * ({@code ec0, ec1...} in first-use order) and read with broadcast indexing like an input.
     */
    Map<String, String> epilogueTables() {
        Map<String, String> t = new java.util.LinkedHashMap<>();
        for (Node n : epilogue)
            for (Value in : n.inputs()) {
                if (in.isNone() || t.containsKey(in.name())) continue;
                Tensor c = constants.get(in.name());
                if (c != null && c.numel() != 1) t.put(in.name(), "ec" + t.size());
            }
        return t;
    }

    /**
     * Applies the epilogue to the accumulator {@code acc} (in the main output's compute type) for the output
     * element at row-major linear index {@code idx} (a {@code long long} expression), and stores every body
     * output there. Other epilogue operands are loaded with broadcast strides.
     */
    void emitEpilogue(CudaSource src, String acc, String idx) {
        ExprEmitter ex = new ExprEmitter(src);
        Value mo = main.output(0);
        ex.bind(mo, acc);
        long[] outShape = mo.shape().sizes();
        for (Node n : epilogue) {
            for (Value in : n.inputs()) if (!in.isNone() && !ex.isBound(in)) ex.bind(in, load(in, outShape, idx));
            ex.emit(n);
        }
        for (int i = 0; i < body.outputs().size(); i++) {
            if (fused.output(i).isNone()) continue;
            Value o = body.outputs().get(i);
            src.line("out%d[%s] = %s;", i, idx, CTypes.store(o.dtype(), ex.value(o)));
        }
    }

    private String load(Value v, long[] outShape, String idx) {
        Tensor c = constants.get(v.name());
        if (c != null) {
            if (c.numel() != 1) {
                long[] s = c.shape();
                if (s.length > outShape.length)
                    throw fused.error(new UnsupportedException("epilogue constant %" + v.name() + " has a higher rank than the output"));
                return epilogueTables().get(v.name()) + "[" + Index.broadcast(s, outShape, idx) + "]";
            }
            double x = c.toDoubles()[0];
            return v.dtype() == DType.F64 ? dev.kiln.codegen.kernels.ew.Literals.doubleLiteral(x) : ExprEmitter.floatLiteral(x);
        }
        Integer i = inputIndex.get(v.name());
        if (i == null) throw fused.error(new UnsupportedException("epilogue operand %" + v.name() + " is neither a body input nor a constant"));
        long[] s = v.shape().sizes();
        if (s.length > outShape.length) throw fused.error(new UnsupportedException("epilogue operand %" + v.name() + " has a higher rank than the output"));
        return CTypes.load(v.dtype(), "in" + i + "[" + Index.broadcast(s, outShape, idx) + "]");
    }
}
