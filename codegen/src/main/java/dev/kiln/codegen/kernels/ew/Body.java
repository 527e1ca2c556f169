package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.Codegen;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.ir.Attr;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The group one kernel computes: a {@code Fused} node's body, or a lone primitive seen as a one-node body.
 * Maps body values to kernel parameters ({@code p0, p1...}: the node's inputs, then its outputs, each the
 * top-level value of {@link KernelSpec.Param.Buffer}) and finds constant values, either Constant nodes in
 * the body or top-level constants passed in. Reads the IR only.
 */
final class Body {
    final Node node;
    final Graph graph;
    final Graph body;
    private final List<Value> outerParams = new ArrayList<>();
    private final Map<String, Integer> paramOf = new HashMap<>();   // body value name -> param index
    private final Map<String, Tensor> constants = new HashMap<>();  // body value name -> tensor

    private Body(Node node, Graph graph, Graph body, List<Value> bodyIns, List<Value> outerIns) {
        this.node = node;
        this.graph = graph;
        this.body = body;
        for (int i = 0; i < bodyIns.size(); i++) {
            paramOf.put(bodyIns.get(i).name(), outerParams.size());
            outerParams.add(outerIns.get(i));
            Tensor c = graph.constantValue(outerIns.get(i));
            if (c != null) constants.put(bodyIns.get(i).name(), c);
        }
        for (int j = 0; j < body.outputs().size(); j++) {
            paramOf.putIfAbsent(body.outputs().get(j).name(), outerParams.size());
            outerParams.add(node.output(j));
        }
        for (Node n : body.nodes())
            if (n.op().equals("Constant")) constants.put(n.output(0).name(), n.attrTensor("value"));
    }

    static boolean isFused(Node n) { return n.op().equals("Fused"); }

    static String kind(Node n) { return isFused(n) ? n.attrString("kind", "") : null; }

    static Body of(Node n, Graph g) {
        if (isFused(n)) {
            if (!(n.attrs().get("body") instanceof Attr.GraphValue gv))
                throw n.error(new UnsupportedException("Fused node without a body"));
            Graph b = gv.value();
            return new Body(n, g, b, b.inputs().castToList(), n.inputs().castToList());
        }
        List<Value> ins = n.inputs().select(v -> !v.isNone()).castToList();
        return new Body(n, g, new Graph(n.op(), ins, List.of(n), n.outputs().select(v -> !v.isNone())), ins, ins);
    }

    /** The nodes that compute (not Constants). */
    List<Node> computeNodes() { return body.nodes().reject(n -> n.op().equals("Constant")).castToList(); }

    /** The constant a body value holds, or null. */
    Tensor constant(Value v) { return v.isNone() ? null : constants.get(v.name()); }

    /** The parameter index of a body input or output, or -1. */
    int param(Value v) { return paramOf.getOrDefault(v.name(), -1); }

    boolean isInput(Value v) { return body.inputs().anySatisfy(i -> i.name().equals(v.name())); }

    List<KernelSpec.Param> params() {
        return outerParams.stream().<KernelSpec.Param>map(v -> new KernelSpec.Param.Buffer(v.name())).toList();
    }

    List<String> origins() {
        String o = node.origin();
        return o.isEmpty() ? List.of() : List.of(o.split(","));
    }

    /** The origin comment and prelude; every kernel source starts with them. */
    CudaSource start() {
        CudaSource src = new CudaSource();
        src.comment(Codegen.originComment(node));
        for (String l : CTypes.PRELUDE.split("\n")) src.line(l);
        return src;
    }

    /** {@code extern "C" __global__ void entry(const float* __restrict__ p0, ...)}: inputs const, outputs writable. */
    String signature(String entry) {
        StringBuilder b = new StringBuilder("extern \"C\" __global__ void ").append(entry).append('(');
        int inputs = outerParams.size() - body.outputs().size();
        for (int k = 0; k < outerParams.size(); k++) {
            Value v = outerParams.get(k);
            if (k > 0) b.append(", ");
            b.append(k < inputs ? "const " : "").append(CTypes.storage(v.dtype())).append("* __restrict__ p").append(k);
        }
        return b.append(')').toString();
    }

    static long[] sizes(Value v) {
        if (!v.shape().isStatic()) throw new UnsupportedException("value %" + v.name() + " has a non-static shape " + v.shape()
                + "; GPU kernels need static shapes");
        return v.shape().sizes();
    }
}
