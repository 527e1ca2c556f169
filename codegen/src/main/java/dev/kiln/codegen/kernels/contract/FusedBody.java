package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.ExprEmitter;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.kernels.gemm.GemmConfig;
import dev.kiln.codegen.kernels.gemm.GemmKernels;
import dev.kiln.codegen.kernels.gemm.GemmOutput;
import dev.kiln.codegen.kernels.gemm.GemmProblem;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.StridedView;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;
import dev.kiln.ir.ViewOps;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A contraction-kind {@code Fused} node taken apart: its body, the one main op (MatMul, Conv, Attention...),
 * and the elementwise epilogue nodes after it, each of the main output's shape. The main op's inputs are body
 * inputs, or {@link #VIEW_OPS} chains over body inputs (prologue views: the kernel reads the operand through
 * strides, see {@link #operand}); the epilogue may end in a view chain whose result is the one body output (a
 * store view: the kernel writes through strides, see {@link #store}). In generated C, body input {@code i} is
 * the kernel parameter {@code in<i>} and body output {@code i} is {@code out<i>}; parameters are all node
 * inputs, then all node outputs. Reads the IR only.
 */
record FusedBody(Node fused, Graph body, Node main, List<Node> epilogue, Map<String, Integer> inputIndex,
                 Map<String, Tensor> constants, Map<String, Operand> views, StridedView store) {

    /** Ops a kernel can read through strides instead of a copy ({@link ViewOps}: Transpose, Reshape, Slice). */
    static final Set<String> VIEW_OPS = ViewOps.OPS;

    /** A main-op operand: kernel parameter {@code in<param>} read through {@code view} (element strides). */
    record Operand(int param, DType dtype, StridedView view) {
        String name() { return "in" + param; }
        boolean contiguous() { return view.isContiguous(); }
    }

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
        Map<String, Operand> views = new HashMap<>();
        Node main = null;
        List<Node> epilogue = new ArrayList<>(), storeChain = new ArrayList<>();
        for (Node n : body.nodes()) {
            if (n.op().equals("Constant")) {
                constants.put(n.output(0).name(), n.attrTensor("value"));
            } else if (main == null && VIEW_OPS.contains(n.op())) {
                Value src = n.input(0);
                Operand from = views.get(src.name());
                if (from == null) {
                    Integer i = index.get(src.name());
                    if (i == null) throw fused.error(new UnsupportedException(n.op() + " before the contraction reads %" + src.name() + ", not a body input"));
                    requireStatic(fused, src);
                    from = new Operand(i, src.dtype(), StridedView.contiguous(src.shape().sizes()));
                }
                requireStatic(fused, n.output(0));
                StridedView v = ViewOps.apply(n, from.view(), c -> constants.get(c.name()));
                if (v == null) throw fused.error(new UnsupportedException(n.op() + " to " + n.output(0).shape() + " is not a strided view of its input"));
                views.put(n.output(0).name(), new Operand(from.param(), from.dtype(), v));
            } else if (mainOps.contains(n.op())) {
                if (main != null) throw fused.error(new UnsupportedException("body holds two contractions (" + main.op() + ", " + n.op() + ")"));
                main = n;
                for (Value in : n.inputs())
                    if (!in.isNone() && !index.containsKey(in.name()) && !views.containsKey(in.name()))
                        throw fused.error(new UnsupportedException(n.op() + " input %" + in.name() + " is computed in the body; only views and epilogues fuse"));
            } else {
                if (main == null) throw fused.error(new UnsupportedException("op " + n.op() + " before the " + mainOps + " in the body (no prologue fusion)"));
                if (VIEW_OPS.contains(n.op()) || !storeChain.isEmpty()) storeChain.add(n);
                else epilogue.add(n);
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
        StridedView store = storeChain.isEmpty() ? null : storeView(fused, body, main, epilogue, storeChain);
        return new FusedBody(fused, body, main, List.copyOf(epilogue), Map.copyOf(index), Map.copyOf(constants), Map.copyOf(views), store);
    }

    /**
     * The store view: where each element of the contraction's shape lands in the one body output, which the
     * chain of view ops makes from the last epilogue value. Built backwards from the output's row-major
     * layout by the inverse ops.
     */
    private static StridedView storeView(Node fused, Graph body, Node main, List<Node> epilogue, List<Node> chain) {
        Value v = epilogue.isEmpty() ? main.output(0) : epilogue.get(epilogue.size() - 1).output(0);
        for (Node n : chain) {
            if (!ViewOps.STORE_OPS.contains(n.op()) || !n.input(0).equals(v))
                throw fused.error(new UnsupportedException("after a store view only a chain of " + ViewOps.STORE_OPS + " may follow, not " + n.op()));
            v = n.output(0);
            requireStatic(fused, v);
        }
        if (body.outputs().size() != 1 || !body.outputs().get(0).equals(v))
            throw fused.error(new UnsupportedException("a store view must make the body's only output"));
        StridedView s = StridedView.contiguous(v.shape().sizes());
        for (int i = chain.size() - 1; i >= 0; i--) {
            Node n = chain.get(i);
            s = ViewOps.unapply(n, s);
            if (s == null) throw fused.error(new UnsupportedException("store view through " + n.op() + " is not strided"));
        }
        return s;
    }

    private static void requireStatic(Node fused, Value v) {
        if (!v.shape().isStatic()) throw fused.error(new UnsupportedException("shape of %" + v.name() + " is not static: " + v.shape()));
    }

    /** The C name of a body input of the main op ({@code in3}); for templates that read operands contiguously. */
    String in(Value bodyInput) {
        Integer i = inputIndex.get(bodyInput.name());
        if (i == null) {
            if (views.containsKey(bodyInput.name()))
                throw fused.error(new UnsupportedException("operand %" + bodyInput.name() + " is a strided view; the "
                        + main.op() + " kernel reads contiguous operands only"));
            throw new IllegalStateException("%" + bodyInput.name() + " is not a body input");
        }
        return "in" + i;
    }

    /** How the kernel reads a main-op input: its parameter and strides (contiguous for a plain body input). */
    Operand operand(Value mainInput) {
        Operand v = views.get(mainInput.name());
        if (v != null) return v;
        Integer i = inputIndex.get(mainInput.name());
        if (i == null) throw new IllegalStateException("%" + mainInput.name() + " is not a body input or view");
        return new Operand(i, mainInput.dtype(), StridedView.contiguous(mainInput.shape().sizes()));
    }

    /** Whether the kernel writes its output through a store view (else row-major at the main output's index). */
    boolean hasStoreView() { return store != null; }

    /** The kernel parameters: every node input, then every node output. */
    List<KernelSpec.Param> params() {
        List<KernelSpec.Param> p = new ArrayList<>();
        for (Value v : fused.inputs()) p.add(new KernelSpec.Param.Buffer(v.name()));
        for (Value v : fused.outputs()) if (!v.isNone()) p.add(new KernelSpec.Param.Buffer(v.name()));
        return p;
    }

    /** {@code extern "C" __global__ void name(const float* __restrict__ in0, ..., float* out0)}. */
    String signature(String entry, int threads) { return signature(entry, String.valueOf(threads), List.of()); }

    /**
     * The signature with {@code __launch_bounds__(bounds)} ("128", or "128, 1" with a minimum of blocks per
     * SM) and {@code extra} C parameters (workspaces) after the outputs.
     */
    String signature(String entry, String bounds, List<String> extra) {
        List<String> ps = new ArrayList<>();
        for (int i = 0; i < body.inputs().size(); i++)
            ps.add("const " + CTypes.storage(body.inputs().get(i).dtype()) + "* __restrict__ in" + i);
        for (int i = 0; i < body.outputs().size(); i++)
            if (!fused.output(i).isNone()) ps.add(CTypes.storage(body.outputs().get(i).dtype()) + "* out" + i);
        ps.addAll(extra);
        return "extern \"C\" __global__ void __launch_bounds__(" + bounds + ") " + entry + "(" + String.join(", ", ps) + ")";
    }

    List<String> origins() {
        List<String> r = new ArrayList<>();
        for (String s : fused.origin().split(",")) if (!s.isBlank()) r.add(s.trim());
        return r;
    }

    /** Stores one finished accumulator of output element (bz, row, col) of the GEMM; see {@link GemmOutput#store}. */
    interface GemmStore {
        void store(CudaSource src, String acc, String bz, String row, String col);
    }

    /**
     * This body's kernel on the contraction engine: the header, the signature (node inputs, node outputs, then
     * the engine's split-K workspaces), the main loop for {@code config}, and {@code store} for each output
     * element (no run epilogue: for outputs whose GEMM columns are not contiguous, such as NCHW).
     */
    KernelSpec gemmKernel(GemmProblem p, GemmConfig config, String what, String entry, GemmStore store) {
        return gemmKernel(p, config, what, entry, new GemmOutput() {
            @Override public String signature(String e, String bounds, List<String> extra) { return FusedBody.this.signature(e, bounds, extra); }

            @Override public void store(CudaSource s, String acc, String bz, String row, String col) { store.store(s, acc, bz, row, col); }
        });
    }

    /**
     * The kernel for a GEMM whose output element (bz, row, col) is the main output's element at row-major index
     * {@code (bz M + row) N + col} (MatMul's {@code [batch.., M, N]}, an NHWC conv's {@code [pixels, M]}), with
     * {@code bias} (a body input of N elements, or null) added to the accumulator per column before the
     * epilogue. Columns are contiguous in the output, so it offers the engine the run epilogue
     * ({@link #runWidth}).
     */
    KernelSpec rowMajorGemmKernel(GemmProblem p, GemmConfig config, String what, String entry, Value bias) {
        long n = p.n(), mn = p.m() * p.n();
        java.util.function.BiFunction<String, String, String> index = (bz, row) ->
                (p.batches() > 1 ? bz + " * " + mn + "LL + " : "") + row + " * " + n + "LL";
        int width = RunEpilogue.width(this);
        return gemmKernel(p, config, what, entry, new GemmOutput() {
            @Override public String signature(String e, String bounds, List<String> extra) { return FusedBody.this.signature(e, bounds, extra); }

            @Override public void store(CudaSource s, String acc, String bz, String row, String col) {
                s.line("const long long idx = %s + %s;", index.apply(bz, row), col);
                if (bias == null) emitEpilogue(s, acc, "idx");
                else {
                    s.line("const float withBias = %s + %s;", acc, CTypes.load(bias.dtype(), in(bias) + "[" + col + "]"));
                    emitEpilogue(s, "withBias", "idx");
                }
            }

            @Override public int runWidth() { return width; }

            @Override public void storeRun(CudaSource s, String acc, String bz, String row, String col, int w) {
                s.line("const long long base = %s + %s;", index.apply(bz, row), col);
                RunEpilogue.emit(FusedBody.this, s, acc, "base", col, w, bias);
            }
        });
    }

    private KernelSpec gemmKernel(GemmProblem p, GemmConfig config, String what, String entry, GemmOutput out) {
        CudaSource src = new CudaSource();
        header(src, what);
        GemmKernels.Launch l = GemmKernels.emit(src, p, config, out, entry);
        List<KernelSpec.Param> params = new ArrayList<>(params());
        params.addAll(l.params(GemmKernels::inputParam));
        return new KernelSpec(entry, src.toString(), entry, l.grid(), l.block(), l.sharedBytes(), params, origins());
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
        ExprEmitter ex = epilogue(src, acc, idx);
        if (store != null) { // the one output, through the view chain
            Value mo = main.output(0);
            Value last = epilogue.isEmpty() ? mo : epilogue.get(epilogue.size() - 1).output(0);
            src.line("out0[%s] = %s;", viewIndex(store, mo.shape().sizes(), idx), CTypes.store(body.outputs().get(0).dtype(), ex.value(last)));
            return;
        }
        for (int i = 0; i < body.outputs().size(); i++) {
            if (fused.output(i).isNone()) continue;
            Value o = body.outputs().get(i);
            src.line("out%d[%s] = %s;", i, idx, CTypes.store(o.dtype(), ex.value(o)));
        }
    }

    /**
     * Like {@link #emitEpilogue} without the stores (for kernels that gather a run of outputs and store it as one
     * vector): the value of each body output in its storage type, null for outputs the node leaves out. Only
     * without a store view.
     */
    List<String> epilogueValues(CudaSource src, String acc, String idx) {
        long[] outShape = main.output(0).shape().sizes();
        return epilogueValues(src, acc, in -> epilogueOperand(in, outShape, idx));
    }

    /** {@link #epilogueValues} with each other operand of the epilogue read by {@code operand} (a C expression). */
    List<String> epilogueValues(CudaSource src, String acc, java.util.function.Function<Value, String> operand) {
        if (store != null) throw new IllegalStateException("a store view writes through emitEpilogue");
        ExprEmitter ex = epilogue(src, acc, operand);
        List<String> r = new ArrayList<>();
        for (int i = 0; i < body.outputs().size(); i++) {
            Value o = body.outputs().get(i);
            r.add(fused.output(i).isNone() ? null : CTypes.store(o.dtype(), ex.value(o)));
        }
        return r;
    }

    private ExprEmitter epilogue(CudaSource src, String acc, String idx) {
        long[] outShape = main.output(0).shape().sizes();
        return epilogue(src, acc, in -> epilogueOperand(in, outShape, idx));
    }

    /** The epilogue on {@code acc} with each other operand read by {@code operand}. */
    private ExprEmitter epilogue(CudaSource src, String acc, java.util.function.Function<Value, String> operand) {
        ExprEmitter ex = new ExprEmitter(src);
        ex.bind(main.output(0), acc);
        for (Node n : epilogue) {
            for (Value in : n.inputs()) if (!in.isNone() && !ex.isBound(in)) ex.bind(in, operand.apply(in));
            ex.emit(n);
        }
        return ex;
    }

    /** C offset of the element at row-major linear index {@code idx} of {@code shape} in a strided view of it. */
    static String viewIndex(StridedView v, long[] shape, String idx) {
        long[] st = Index.strides(shape);
        List<String> terms = new ArrayList<>();
        for (int a = 0; a < shape.length; a++) {
            if (shape[a] == 1 || v.stride(a) == 0) continue;
            terms.add(Index.coord(idx, st[a], shape[a], a == 0) + (v.stride(a) == 1 ? "" : " * " + Index.ll(v.stride(a))));
        }
        return terms.isEmpty() ? "0" : String.join(" + ", terms);
    }

    /** C expression of epilogue operand {@code v} (a body input or a constant) at element {@code idx} of the main output. */
    String epilogueOperand(Value v, long[] outShape, String idx) {
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
