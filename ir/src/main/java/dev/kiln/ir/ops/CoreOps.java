package dev.kiln.ir.ops;

import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpFamily;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;

import java.util.List;

/** Constants and identity: the ops every graph has. */
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
    }
}
