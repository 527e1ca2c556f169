package dev.kiln.passes;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Random elementwise / reduction / normalization graphs over one input {@code x: f32[N,3,4]} (N symbolic,
 * bound to 2 by specialization), with constant subgraphs to fold and algebraic no-ops to simplify. Every
 * step keeps a value of the full shape so later steps can combine anything.
 */
final class RandomGraphs {
    private RandomGraphs() {}

    static final long[] SHAPE = {2, 3, 4};
    private static final String[] UNARY = {"Relu", "Tanh", "Sigmoid", "Neg", "Abs", "Sin", "Identity"};

    static Graph build(Random r, int steps) {
        GraphBuilder b = new GraphBuilder("random");
        Value x = b.input("x", new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(3), Dim.of(4))));
        List<Value> full = new ArrayList<>(List.of(x));
        for (int s = 0; s < steps; s++) {
            Value a = full.get(r.nextInt(full.size())), c = full.get(r.nextInt(full.size()));
            Value v = switch (r.nextInt(12)) {
                case 0, 1 -> b.op(UNARY[r.nextInt(UNARY.length)], a);
                case 2 -> b.op(r.nextBoolean() ? "Add" : "Mul", a, c);
                case 3 -> b.op("Add", a, foldable(r, b));                                   // constant subgraph
                case 4 -> b.op(r.nextBoolean() ? "Mul" : "Div", a, b.constant(Tensor.scalar(DType.F32, 1)));  // x*1, x/1
                case 5 -> b.op("Sub", a, b.op(r.nextBoolean() ? "ReduceMean" : "ReduceMax", a, b.constant(Tensor.vector(-1 - r.nextInt(2)))));
                case 6 -> b.op("Softmax", Map.of("axis", Attr.of(-1)), a);
                case 7 -> b.op("LayerNormalization", Map.of("epsilon", Attr.of(1e-2)), a,
                        b.constant(RefCheck.random(r, DType.F32, new long[] {4}, 0.5, 1.5)));
                case 8 -> b.op("Neg", b.op("Neg", a));                                        // --x
                case 9 -> b.op("Transpose", Map.of("perm", Attr.ints(0, 1, 2)), a);           // identity perm
                case 10 -> b.op("Sum", a, c, full.get(r.nextInt(full.size())));
                default -> b.op("Reshape", b.op("Reshape", a, b.constant(Tensor.vector(-1, 4))), b.op("Shape", a)); // Shape->Reshape
            };
            full.add(v);
        }
        b.output(full.getLast());
        if (full.size() > 2 && r.nextBoolean()) b.output(full.get(1 + r.nextInt(full.size() - 2)));
        return b.build();
    }

    /** A [4] constant computed from constants: folds into one Constant. */
    private static Value foldable(Random r, GraphBuilder b) {
        Value c1 = b.constant(RefCheck.random(r, DType.F32, new long[] {4}, -1, 1));
        Value c2 = b.constant(RefCheck.random(r, DType.F32, new long[] {1}, -1, 1));
        return b.op("Tanh", b.op("Add", c1, c2));
    }
}
