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

import java.util.List;

/**
 * Fused kind {@code elementwise} (and a lone elementwise primitive): one thread per element of the iteration
 * shape (the first output's), in a grid-stride loop; each input is read at its broadcast offset (strides baked
 * in), every intermediate stays in a register, every output is stored at the linear index.
 */
public final class ElementwiseKernel implements KernelTemplate {
    static final int BLOCK = 256;

    @Override public String name() { return "elementwise"; }

    @Override public boolean accepts(Node n, Graph g) {
        if (Body.isFused(n)) return "elementwise".equals(Body.kind(n));
        return OpRegistry.standard().contains(n.op()) && OpRegistry.standard().get(n.op()).has(Trait.ELEMENTWISE)
                && !n.op().equals("Constant");
    }

    @Override public List<KernelSpec> emit(Node n, Graph g, CodegenContext ctx) {
        Body b = Body.of(n, g);
        long[] shape = Body.sizes(b.body.outputs().get(0));
        for (Value o : b.body.outputs())
            if (!java.util.Arrays.equals(Body.sizes(o), shape))
                throw n.error(new UnsupportedException("elementwise group outputs differ in shape: " + o.shape() + " vs " + b.body.outputs().get(0).shape()));
        long numel = Index.numel(shape);
        String idx = Index.type(numel);
        String entry = ctx.kernelName(name());
        CudaSource src = b.start();
        CudaSource body = new CudaSource();
        ExprEmitter ex = new ExprEmitter(body);
        bindConstants(b, src, ex, shape, "i");
        try (var k = src.block(b.signature(entry))) {
            try (var loop = src.block("for (" + idx + " i = (" + idx + ")blockIdx.x * blockDim.x + threadIdx.x; i < " + Index.lit(numel)
                    + "; i += (" + idx + ")gridDim.x * blockDim.x)")) {
                for (Value in : b.body.inputs()) {
                    if (b.constant(in) != null && b.constant(in).numel() == 1 || !used(b, in)) continue;
                    String off = Index.offset("i", shape, Index.broadcastStrides(Body.sizes(in), shape));
                    src.line(CTypes.compute(in.dtype()) + " x" + b.param(in) + " = " + CTypes.load(in.dtype(), "p" + b.param(in) + "[" + off + "]") + ";");
                    ex.bind(in, "x" + b.param(in));
                }
                for (Node node : b.computeNodes()) ex.emit(node);
                for (String l : body.toString().split("\n")) if (!l.isEmpty()) src.line(l);
                for (Value o : b.body.outputs())
                    src.line("p" + outParam(b, o) + "[i] = " + CTypes.store(o.dtype(), ex.value(o)) + ";");
            }
        }
        long grid = Index.gridFor(numel, BLOCK);
        return List.of(new KernelSpec(entry, src.toString(), entry, KernelSpec.Dim3.of(grid), KernelSpec.Dim3.of(BLOCK), 0,
                b.params(), b.origins()));
    }

    /** Param index of output {@code o} (by position, since a value may be both an input and an output). */
    static int outParam(Body b, Value o) {
        int j = b.body.outputs().indexOf(o);
        return b.body.inputs().size() + j;
    }

    static boolean used(Body b, Value v) {
        return b.body.outputs().contains(v) || b.body.nodes().anySatisfy(n -> n.inputs().contains(v));
    }

    /**
     * Binds the body's constants: scalars as literals, small tensors as file-scope arrays read at their
     * broadcast offset over {@code shape} by index variable {@code idx}. Also binds scalar constant inputs.
     */
    static void bindConstants(Body b, CudaSource src, ExprEmitter ex, long[] shape, String idx) {
        int k = 0;
        for (Node c : b.body.nodes()) {
            if (!c.op().equals("Constant")) continue;
            bindConstant(src, ex, c.output(0), c.attrTensor("value"), shape, idx, "c" + k++);
        }
        for (Value in : b.body.inputs()) {
            Tensor t = b.constant(in);
            if (t != null && t.numel() == 1) ex.bind(in, Literals.of(t, 0));
        }
    }

    static void bindConstant(CudaSource src, ExprEmitter ex, Value v, Tensor t, long[] shape, String idx, String name) {
        if (t.numel() == 1) ex.bind(v, Literals.of(t, 0));
        else if (t.numel() > 0 && t.rank() <= shape.length) {
            Literals.array(src, name, t);
            ex.bind(v, name + "[" + Index.offset(idx, shape, Index.broadcastStrides(t.shape(), shape)) + "]");
        }
    }
}
