package dev.kiln.ir.ops;

import dev.kiln.ir.Attr;
import dev.kiln.ir.Graph;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.VerifyException;
import dev.kiln.ir.ref.Interpreter;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpFamily;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;

import java.util.List;

/**
 * Constants, identity, and {@code Fused}: a group of nodes that becomes one kernel. A Fused node has a string
 * attribute {@code kind} (elementwise, reduction, matmul, conv, attention, ...) and a graph attribute
 * {@code body} whose inputs and outputs line up with the node's; its semantics are the body's.
 */
public final class CoreOps implements OpFamily {
    @Override public void register(OpRegistry.Builder r) {
        // The frontend turns ONNX Constant's value_float/value_ints/... forms into this one tensor form.
        r.add(OpDef.op("Constant").traits(Trait.PRIMITIVE).inputs(0).outputs(1)
                .check(n -> {
                    if (n.attrTensor("value") == null)
                        throw n.error(new InvalidModelException("Constant needs a tensor attribute 'value'"));
                })
                .infer(c -> List.of(c.node().attrTensor("value").type()))
                .eval(c -> List.of(c.node().attrTensor("value"))));
        r.add(OpDef.op("Identity").traits(Trait.ELEMENTWISE, Trait.MOVEMENT).inputs(1).outputs(1)
                .infer(c -> List.of(c.inputType(0)))
                .eval(c -> List.<Tensor>of(c.input(0)))
                .c("$0"));
        r.add(OpDef.op("Fused").traits(Trait.PRIMITIVE).inputs(0, OpDef.VARIADIC).outputs(1, OpDef.VARIADIC)
                .check(CoreOps::checkFused)
                .infer(c -> body(c.node()).outputs().collect(Value::type).castToList())
                .eval(c -> {
                    java.util.List<Tensor> in = new java.util.ArrayList<>();
                    for (int i = 0; i < c.numInputs(); i++) in.add(c.input(i));
                    return Interpreter.run(body(c.node()), in);
                }));
    }

    static Graph body(dev.kiln.ir.Node n) {
        if (!(n.attrs().get("body") instanceof Attr.GraphValue g))
            throw n.error(new InvalidModelException("Fused needs a graph attribute 'body'"));
        return g.value();
    }

    private static void checkFused(dev.kiln.ir.Node n) {
        Graph b = body(n);
        n.attrString("kind", "");
        dev.kiln.ir.Verifier.verify(b); // the body is a graph of its own: same invariants
        if (b.inputs().size() != n.inputs().size())
            throw n.error(new VerifyException("body takes " + b.inputs().size() + " inputs, node gives " + n.inputs().size()));
        for (int i = 0; i < b.inputs().size(); i++) {
            TensorType want = b.inputs().get(i).type(), got = n.input(i).type();
            if (!want.equals(got))
                throw n.error(new VerifyException("body input " + i + " is " + want + " but the node passes " + got));
        }
    }
}
