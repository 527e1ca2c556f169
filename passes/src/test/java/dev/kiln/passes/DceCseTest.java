package dev.kiln.passes;

import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.Verifier;
import dev.kiln.ir.ref.Interpreter;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class DceCseTest {
    private static Graph run(Pass p, Graph g) {
        return new PassManager(List.of(p), Set.of(), PassManager.Options.defaults(), Graph::toString).run(g);
    }

    @Test
    void dceDropsUnreachableNodesOnly() {
        GraphBuilder b = new GraphBuilder("g");
        Value x = b.input("x", TensorType.of(DType.F32, 2));
        Value used = b.op("Identity", x);
        b.op("Identity", x); // dead
        b.constant("w", Tensor.f32(new long[] {1}, 3)); // dead
        Graph g = b.output(used).build();
        Graph out = run(new EliminateDeadCode(), g);
        assertEquals(1, out.nodes().size());
        assertEquals(used, out.nodes().get(0).output(0));
        assertEquals(out, run(new EliminateDeadCode(), out)); // idempotent
    }

    @Test
    void cseMergesEqualNodesAndKeepsOutputNames() {
        GraphBuilder b = new GraphBuilder("g");
        Value x = b.input("x", TensorType.of(DType.F32, 2));
        Value a = b.op("Identity", x);
        Value c = b.op("Identity", x);
        Value k1 = b.constant("k1", Tensor.f32(new long[] {1}, 3));
        Value k2 = b.constant("k2", Tensor.f32(new long[] {1}, 3));
        Graph g = b.output(a).output(c).output(k1).output(k2).build();
        Graph out = Verifier.verify(run(new EliminateCommonSubexpressions(), g));
        // the second Identity and the second constant are merged; outputs keep their names via Identity
        assertEquals(g.outputs(), out.outputs());
        assertEquals(4, out.nodes().size()); // Identity, Constant, plus two re-exposing Identities
        Tensor in = Tensor.f32(new long[] {2}, 1, 2);
        assertEquals(Interpreter.run(g, List.of(in)), Interpreter.run(out, List.of(in)));
    }

    @Test
    void pipelineOrderIsChecked() {
        Pass needsStatic = new Pass() {
            public String name() { return "needs-static"; }
            public Set<Property> requires() { return Set.of(Property.STATIC_SHAPES); }
            public Graph run(Graph g, PassContext c) { return g; }
        };
        var e = assertThrows(IllegalArgumentException.class,
                () -> new PassManager(List.of(needsStatic), Set.of(), PassManager.Options.defaults(), Graph::toString));
        assertTrue(e.getMessage().contains("requires STATIC_SHAPES"), e.getMessage());
    }
}
