package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.ExprEmitter;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.KernelTemplate;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fused kind {@code reduce} (and a lone reduction): elementwise prologue, reductions that all reduce the same
 * axes of the same shape F, elementwise epilogue. A "row" is one index of F's kept axes and a "col" one index
 * of its reduced axes; one block (or one warp, for rows of at most {@value #WARP_COLS} elements) handles a
 * row. Reductions run in stages (a reduction that needs another's result, like softmax's sum after its max,
 * is a later stage); each stage loops over the row's cols, recomputing the elementwise values it needs from
 * the inputs (re-read from cache), combines per thread, then across the warp by shuffles and across warps
 * through shared memory, leaving the row's result in every thread. Per-row values (reduced results and what
 * is computed from them alone) are computed once per row; full-size outputs are written in a last col loop,
 * per-row outputs by the group's first thread. Any reduced axes work; trailing ones read contiguously.
 */
public final class ReduceKernel implements KernelTemplate {
    static final int WARP_COLS = 256, ROWS_PER_WARP_BLOCK = 4;

    @Override public String name() { return "reduce"; }

    @Override public boolean accepts(Node n, Graph g) {
        return Body.isFused(n) ? "reduce".equals(Body.kind(n)) : Reduction.OPS.contains(n.op());
    }

    @Override public List<KernelSpec> emit(Node n, Graph g, CodegenContext ctx) {
        return List.of(new Emission(Body.of(n, g), ctx.kernelName(name())).run());
    }

    /** The state of one kernel's generation. */
    private static final class Emission {
        final Body b;
        final String entry;
        final List<Reduction> reds = new ArrayList<>();
        final Map<String, Reduction> redOf = new HashMap<>();   // reduction output name -> reduction
        final Map<String, Node> producer = new HashMap<>();
        final Map<String, Boolean> perCol = new HashMap<>();
        final Map<String, Integer> level = new HashMap<>();
        final long[] full;
        final boolean[] reduced;
        final long[] keptDims, redDims;
        final long rows, cols;
        final boolean warp;
        final int block;
        final String idx;
        final CudaSource src;
        final ExprEmitter ex;
        final Set<String> rowAvail = new HashSet<>(), loopAvail = new HashSet<>();
        boolean inLoop;

        Emission(Body b, String entry) {
            this.b = b;
            this.entry = entry;
            for (Node n : b.body.nodes()) for (Value o : n.outputs()) if (!o.isNone()) producer.put(o.name(), n);
            for (Node n : b.computeNodes()) {
                if (Reduction.OPS.contains(n.op())) {
                    Reduction r = Reduction.of(n, b);
                    reds.add(r);
                    redOf.put(n.output(0).name(), r);
                } else if (!OpRegistry.standard().get(n.op()).has(Trait.ELEMENTWISE))
                    throw n.error(new UnsupportedException("op " + n.op() + " cannot be part of a reduce kernel"));
            }
            if (reds.isEmpty()) throw b.node.error(new UnsupportedException("reduce group without a reduction"));
            full = Body.sizes(reds.get(0).node().input(0));
            for (Reduction r : reds)
                if (!java.util.Arrays.equals(Body.sizes(r.node().input(0)), full) || !r.axes().equals(reds.get(0).axes()))
                    throw r.node().error(new UnsupportedException("reductions of one reduce group must reduce the same axes of the same shape"));
            reduced = new boolean[full.length];
            for (int a : reds.get(0).axes()) reduced[a] = true;
            keptDims = pick(full, false);
            redDims = pick(full, true);
            rows = Index.numel(keptDims);
            cols = Index.numel(redDims);
            warp = cols <= WARP_COLS;
            block = warp ? 32 * ROWS_PER_WARP_BLOCK : cols >= 4096 ? 512 : 256;
            long most = Index.numel(full);
            for (Value v : b.body.inputs()) most = Math.max(most, Index.numel(Body.sizes(v)));
            for (Value v : b.body.outputs()) most = Math.max(most, Index.numel(Body.sizes(v)));
            idx = Index.type(most);
            src = b.start();
            ex = new ExprEmitter(src);
        }

        private long[] pick(long[] dims, boolean red) {
            List<Long> l = new ArrayList<>();
            for (int d = 0; d < dims.length; d++) if (reduced[d] == red) l.add(dims[d]);
            return l.stream().mapToLong(Long::longValue).toArray();
        }

        /** Strides of value {@code v} over the iteration space F. */
        long[] strides(Value v) {
            Reduction r = redOf.get(v.name());
            long[] s = Body.sizes(v);
            if (r != null && !r.keepdims()) {
                long[] st = Index.strides(s), out = new long[full.length];
                for (int d = 0, k = 0; d < full.length; d++) out[d] = reduced[d] ? 0 : st[k++];
                return out;
            }
            if (s.length > full.length) throw b.node.error(new UnsupportedException("value %" + v.name() + " " + v.shape()
                    + " has more axes than the reduced shape " + java.util.Arrays.toString(full)));
            return Index.broadcastStrides(s, full);
        }

        String rowOffset(Value v) { return Index.offset("row", keptDims, pickStrides(strides(v), false)); }

        String offset(Value v) {
            String r = rowOffset(v), c = Index.offset("col", redDims, pickStrides(strides(v), true));
            return r.equals("0") ? c : c.equals("0") ? r : r + " + " + c;
        }

        private long[] pickStrides(long[] s, boolean red) {
            List<Long> l = new ArrayList<>();
            for (int d = 0; d < s.length; d++) if (reduced[d] == red) l.add(s[d]);
            return l.stream().mapToLong(Long::longValue).toArray();
        }

        boolean perCol(Value v) {
            Boolean c = perCol.get(v.name());
            if (c != null) return c;
            Node p = producer.get(v.name());
            if (redOf.containsKey(v.name())) c = false;
            else if (p == null || p.op().equals("Constant")) {
                c = false;
                long[] s = strides(v);
                for (int d = 0; d < s.length; d++) if (reduced[d] && s[d] != 0) c = true;
            } else c = p.inputs().anySatisfy(i -> !i.isNone() && perCol(i));
            perCol.put(v.name(), c);
            return c;
        }

        /** 0 for values needing no reduction; else the stage after which the value can be computed. */
        int level(Value v) {
            Integer l = level.get(v.name());
            if (l != null) return l;
            Node p = producer.get(v.name());
            if (p == null || p.op().equals("Constant")) l = 0;
            else {
                int m = 0;
                for (Value i : p.inputs()) if (!i.isNone()) m = Math.max(m, level(i));
                l = redOf.containsKey(v.name()) ? m + 1 : m;
            }
            level.put(v.name(), l);
            return l;
        }

        KernelSpec run() {
            bindInputs();
            int stages = 0;
            for (Reduction r : reds) stages = Math.max(stages, level(r.node().output(0)));
            String lane = warp ? "(threadIdx.x & 31)" : "threadIdx.x", step = warp ? "32" : "blockDim.x";
            try (var k = src.block(b.signature(entry))) {
                if (!warp) for (int i = 0; i < reds.size(); i++) {
                    src.line("__shared__ %s sh%d[32];", reds.get(i).ctype(), i);
                    if (reds.get(i).isArg()) src.line("__shared__ long long shi%d[32];", i);
                }
                String rowLoop = warp
                        ? "for (" + idx + " row = (" + idx + ")blockIdx.x * " + ROWS_PER_WARP_BLOCK + " + (threadIdx.x >> 5); row < " + Index.lit(rows)
                          + "; row += (" + idx + ")gridDim.x * " + ROWS_PER_WARP_BLOCK + ")"
                        : "for (" + idx + " row = blockIdx.x; row < " + Index.lit(rows) + "; row += gridDim.x)";
                try (var rl = src.block(rowLoop)) {
                    rowAvail.clear();
                    for (int s = 1; s <= stages; s++) stage(s, lane, step);
                    List<Value> colOuts = new ArrayList<>();
                    for (Value o : b.body.outputs()) {
                        if (perCol(o)) { colOuts.add(o); continue; }
                        ensure(o);
                        src.line("if (%s == 0) p%d[%s] = %s;", lane, ElementwiseKernel.outParam(b, o), rowOffset(o), CTypes.store(o.dtype(), ex.value(o)));
                    }
                    for (Value o : colOuts) hoist(o, stages);
                    if (!colOuts.isEmpty()) try (var cl = colLoop(lane, step)) {
                        for (Value o : colOuts) ensure(o);
                        for (Value o : colOuts)
                            src.line("p%d[%s] = %s;", ElementwiseKernel.outParam(b, o), offset(o), CTypes.store(o.dtype(), ex.value(o)));
                    } finally { inLoop = false; }
                }
            }
            long grid = warp ? Math.min((rows + ROWS_PER_WARP_BLOCK - 1) / ROWS_PER_WARP_BLOCK, 1 << 16) : Math.min(rows, 1 << 16);
            return new KernelSpec(entry, src.toString(), entry, KernelSpec.Dim3.of(Math.max(1, grid)), KernelSpec.Dim3.of(block), 0,
                    b.params(), b.origins());
        }

        private CudaSource.Block colLoop(String lane, String step) {
            inLoop = true;
            loopAvail.clear();
            return src.block("for (" + idx + " col = " + lane + "; col < " + Index.lit(cols) + "; col += " + step + ")");
        }

        /** Inputs and constants are bound to their loads, valid wherever {@code row} (and {@code col}) are. */
        private void bindInputs() {
            for (Value in : b.body.inputs()) {
                Tensor t = b.constant(in);
                if (t != null && t.numel() == 1) ex.bind(in, Literals.of(t, 0));
                else if (Body.sizes(in).length <= full.length) ex.bind(in, CTypes.load(in.dtype(), "p" + b.param(in) + "[" + offset(in) + "]"));
            }
            int k = 0;
            for (Node c : b.body.nodes()) {
                if (!c.op().equals("Constant")) continue;
                Tensor t = c.attrTensor("value");
                if (t.numel() == 1) ex.bind(c.output(0), Literals.of(t, 0));
                else if (t.numel() > 0 && t.rank() <= full.length && used(c.output(0))) {
                    Literals.array(src, "c" + k, t);
                    ex.bind(c.output(0), "c" + k++ + "[" + offset(c.output(0)) + "]");
                }
            }
        }

        private boolean used(Value v) {
            return b.body.outputs().contains(v) || b.computeNodes().stream().anyMatch(n -> !redOf.containsKey(n.output(0).name())
                    && n.inputs().contains(v) || redOf.containsKey(n.output(0).name()) && n.input(0).equals(v));
        }

        private void stage(int s, String lane, String step) {
            List<Integer> now = new ArrayList<>();
            for (int i = 0; i < reds.size(); i++) if (level(reds.get(i).node().output(0)) == s) now.add(i);
            for (int i : now) {
                Reduction r = reds.get(i);
                src.line("%s a%d = %s;", r.ctype(), i, r.identity());
                if (r.isArg()) src.line("long long ai%d = %s;", i, r.identityIndex());
            }
            for (int i : now) hoist(reds.get(i).node().input(0), s - 1);
            try (var cl = colLoop(lane, step)) {
                for (int i : now) ensure(reds.get(i).node().input(0));
                for (int i : now) {
                    Reduction r = reds.get(i);
                    String v = ex.value(r.node().input(0));
                    if (r.isArg()) src.line("if (%s) { a%d = %s; ai%d = col; }", r.beats("a" + i, "ai" + i, v, "(long long)col"), i, v, i);
                    else src.line("a%d = %s;", i, r.combine("a" + i, v));
                }
            } finally { inLoop = false; }
            for (int i : now) {
                Reduction r = reds.get(i);
                try (var w = src.block("for (int o = 16; o > 0; o >>= 1)")) {
                    src.line("%s bv = __shfl_xor_sync(0xffffffffu, a%d, o);", r.ctype(), i);
                    if (r.isArg()) {
                        src.line("long long bi = __shfl_xor_sync(0xffffffffu, ai%d, o);", i);
                        src.line("if (%s) { a%d = bv; ai%d = bi; }", r.beats("a" + i, "ai" + i, "bv", "bi"), i, i);
                    } else src.line("a%d = %s;", i, r.combine("a" + i, "bv"));
                }
                if (!warp) {
                    src.line("__syncthreads();  // the previous row's readers of sh%d are done", i);
                    src.line("if ((threadIdx.x & 31) == 0) { sh%d[threadIdx.x >> 5] = a%d;%s }", i, i, r.isArg() ? " shi" + i + "[threadIdx.x >> 5] = ai" + i + ";" : "");
                    src.line("__syncthreads();");
                    src.line("a%d = sh%d[0];%s", i, i, r.isArg() ? " ai" + i + " = shi" + i + "[0];" : "");
                    try (var w = src.block("for (int w = 1; w < " + block / 32 + "; w++)")) {
                        if (r.isArg()) src.line("if (%s) { a%d = sh%d[w]; ai%d = shi%d[w]; }", r.beats("a" + i, "ai" + i, "sh" + i + "[w]", "shi" + i + "[w]"), i, i, i, i);
                        else src.line("a%d = %s;", i, r.combine("a" + i, "sh" + i + "[w]"));
                    }
                }
                Value out = r.node().output(0);
                ex.bind(out, r.isArg() ? "ai" + i : "a" + i);
                rowAvail.add(out.name());
            }
        }

        /** Computes, before a col loop, the per-row values that {@code v} needs and stages up to {@code done} allow. */
        private void hoist(Value v, int done) {
            Node p = producer.get(v.name());
            if (p == null || p.op().equals("Constant") || redOf.containsKey(v.name())) return;
            if (!perCol(v) && level(v) <= done) ensure(v);
            else for (Value i : p.inputs()) if (!i.isNone()) hoist(i, done);
        }

        /** Makes {@code v} available in the current scope, emitting the nodes it needs. */
        private void ensure(Value v) {
            if (ex.isBound(v) && (producer.get(v.name()) == null || producer.get(v.name()).op().equals("Constant"))) return;
            if (rowAvail.contains(v.name()) || inLoop && loopAvail.contains(v.name())) return;
            if (redOf.containsKey(v.name())) throw new IllegalStateException("reduction %" + v.name() + " used before its stage");
            Node p = producer.get(v.name());
            if (p == null) throw b.node.error(new UnsupportedException("value %" + v.name() + " cannot be read in this reduce kernel"));
            if (!inLoop && perCol(v)) throw new IllegalStateException("full-size %" + v.name() + " needed outside a col loop");
            for (Value i : p.inputs()) if (!i.isNone()) ensure(i);
            ex.emit(p);
            (inLoop ? loopAvail : rowAvail).add(v.name());
        }
    }
}
