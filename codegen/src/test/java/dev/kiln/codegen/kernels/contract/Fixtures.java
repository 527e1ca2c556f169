package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.KernelTemplate;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Value;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Builds Fused nodes around a body graph and checks the common contract of emitted kernels. */
final class Fixtures {
    private Fixtures() {}

    /** An outer graph holding one Fused node over {@code body}; outer values are the body's names prefixed with {@code g_}. */
    static Graph outer(String kind, String origin, Graph body) {
        List<Value> ins = new ArrayList<>(), outs = new ArrayList<>();
        for (Value v : body.inputs()) ins.add(new Value("g_" + v.name(), v.type()));
        for (Value v : body.outputs()) outs.add(new Value("g_" + v.name(), v.type()));
        Node f = Node.of("Fused", ins, outs, Map.of("kind", Attr.of(kind), "body", new Attr.GraphValue(body)), origin);
        return new Graph("outer", ins, List.of(f), outs);
    }

    static Node fused(Graph outer) { return outer.nodes().get(0); }

    /** Emits with default options and checks params, entry signature and first line. */
    static KernelSpec emit(KernelTemplate t, Graph outer) {
        Node f = fused(outer);
        assertTrue(t.accepts(f, outer), t.name() + " should accept " + f.attrString("kind", ""));
        List<KernelSpec> ks = t.emit(f, outer, new CodegenContext(CodegenOptions.defaults()));
        assertEquals(1, ks.size());
        KernelSpec k = ks.get(0);
        List<KernelSpec.Param> want = new ArrayList<>();
        for (Value v : f.inputs()) want.add(new KernelSpec.Param.Buffer(v.name()));
        for (Value v : f.outputs()) want.add(new KernelSpec.Param.Buffer(v.name()));
        assertEquals(want, k.params(), "params are the node's inputs then outputs");
        assertTrue(k.source().startsWith("// " + dev.kiln.codegen.Codegen.originComment(f)), "first line names the ONNX nodes:\n" + k.source());
        assertTrue(k.source().contains("extern \"C\" __global__ void __launch_bounds__(" + k.block().x() + ") " + k.entry() + "(")
                || k.source().contains("extern \"C\" __global__ void __launch_bounds__(" + k.block().x() + ", 1) " + k.entry() + "("), "signature");
        assertEquals(List.of(f.origin().split(",")), k.origins());
        return k;
    }

    /**
     * A one-op body built without shape inference (for ops whose IR definition lives in another module or
     * branch): inputs named x0.., outputs y0.. with the given types, plus an optional Identity epilogue on y0.
     */
    static Graph oneOp(String op, Map<String, Attr> attrs, List<TensorType> ins, List<TensorType> outs, boolean identity) {
        List<Value> in = new ArrayList<>(), out = new ArrayList<>();
        for (int i = 0; i < ins.size(); i++) in.add(ins.get(i) == null ? Value.NONE : new Value("x" + i, ins.get(i)));
        for (int i = 0; i < outs.size(); i++) out.add(new Value("y" + i, outs.get(i)));
        List<Node> nodes = new ArrayList<>();
        nodes.add(Node.of(op, in, out, attrs, op.toLowerCase()));
        List<Value> results = new ArrayList<>(out);
        if (identity) {
            Value e = new Value("e0", outs.get(0));
            nodes.add(Node.of("Identity", List.of(out.get(0)), List.of(e), Map.of(), "id"));
            results.set(0, e);
        }
        return new Graph("body", in.stream().filter(v -> !v.isNone()).toList(), nodes, results);
    }

    static TensorType type(String dt, String dims) {
        return TensorType.of(DType.fromText(dt), Arrays.stream(dims.trim().split("x")).mapToLong(Long::parseLong).toArray());
    }

    static Attr ints(String csv) {
        return Attr.ints(Arrays.stream(csv.trim().split("[ ,]+")).mapToLong(Long::parseLong).toArray());
    }
}
