package dev.kiln.codegen.kernels.ew;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** Test fixtures: Fused nodes built with GraphBuilder, wrapped in an outer graph. */
final class Groups {
    private Groups() {}

    static TensorType t(DType d, long... shape) { return TensorType.of(d, shape); }

    /** A body built by {@code f} from inputs of the given types; its outputs are what f returns. */
    static Graph body(String name, List<TensorType> ins, Function<Ctx, List<Value>> f) {
        GraphBuilder b = new GraphBuilder(name);
        List<Value> vs = new ArrayList<>();
        for (int i = 0; i < ins.size(); i++) vs.add(b.input("in" + i, ins.get(i)));
        for (Value o : f.apply(new Ctx(b, vs))) b.output(o);
        return b.build();
    }

    /** The outer graph: its inputs feed one Fused node of {@code kind} whose outputs are the graph's outputs. */
    static Graph fused(String kind, Graph body, String origin) {
        GraphBuilder g = new GraphBuilder("outer");
        List<Value> ins = new ArrayList<>();
        for (Value v : body.inputs()) ins.add(g.input("x_" + v.name(), v.type()));
        List<String> names = new ArrayList<>();
        for (int j = 0; j < body.outputs().size(); j++) names.add("y" + j);
        List<Value> outs = g.node("Fused", ins, Map.of("kind", Attr.of(kind), "body", new Attr.GraphValue(body)), names, origin);
        outs.forEach(g::output);
        return g.build();
    }

    /** An outer graph holding one op (not fused), inputs given by type; constants given as tensors. */
    static Graph single(String op, Map<String, Attr> attrs, List<Object> ins) {
        GraphBuilder g = new GraphBuilder("single");
        List<Value> vs = new ArrayList<>();
        int k = 0;
        for (Object o : ins) {
            if (o instanceof TensorType tt) vs.add(g.input("x" + k++, tt));
            else if (o instanceof Tensor tv) vs.add(g.constant("c" + k++, tv));
            else vs.add(Value.NONE);
        }
        g.output(g.node(op, vs, attrs, null, op + "_0").get(0));
        return g.build();
    }

    static Node last(Graph g) { return g.nodes().getLast(); }

    record Ctx(GraphBuilder b, List<Value> in) {
        Value in(int i) { return in.get(i); }
        Value op(String op, Value... xs) { return b.op(op, xs); }
        Value op(String op, Map<String, Attr> attrs, Value... xs) { return b.op(op, attrs, xs); }
        Value axes(long... a) { return b.constant(Tensor.vector(a)); }
        Value scalar(DType d, double v) { return b.constant(Tensor.scalar(d, v)); }
    }
}
