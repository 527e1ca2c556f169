package dev.kiln.ir.ops;

import dev.kiln.ir.DType;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Node;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpFamily;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;
import dev.kiln.ir.ops.elementwise.Convert;
import dev.kiln.ir.ops.elementwise.QuantizeOps;

import java.util.List;
import java.util.Set;

/**
 * Type conversion: Cast and CastLike (the rules are in {@link Convert}), and the quantize/dequantize ops
 * ({@link QuantizeOps}).
 */
public final class CastOps implements OpFamily {
    private static final Set<String> ROUND_MODES = Set.of("up", "down", "nearest");

    @Override public void register(OpRegistry.Builder r) {
        r.add(OpDef.op("Cast").traits(Trait.ELEMENTWISE).inputs(1).outputs(1)
                .check(n -> {
                    if (!n.hasAttr("to")) throw n.missing("to");
                    target(n);
                    checkCommon(n);
                })
                .infer(c -> List.of(c.inputType(0).withDType(target(c.node()))))
                .eval(c -> List.of(Convert.cast(c.input(0), target(c.node()), saturate(c.node()), roundMode(c.node()))))
                .c("$0"));  // codegen casts around the expression
        r.add(OpDef.op("CastLike").traits(Trait.ELEMENTWISE).inputs(2).outputs(1)
                .check(CastOps::checkCommon)
                .infer(c -> List.of(c.inputType(0).withDType(c.inputType(1).dtype())))
                .eval(c -> List.of(Convert.cast(c.input(0), c.input(1).dtype(), saturate(c.node()), roundMode(c.node())))));
        QuantizeOps.register(r);
    }

    private static DType target(Node n) {
        try {
            return DType.fromOnnx((int) n.attrInt("to"));
        } catch (KilnException e) {
            throw n.error(new InvalidModelException("Cast 'to' " + e.detail()));
        }
    }

    private static boolean saturate(Node n) { return n.attrInt("saturate", 1) != 0; }

    private static String roundMode(Node n) { return n.attrString("round_mode", "up"); }

    private static void checkCommon(Node n) {
        if (!ROUND_MODES.contains(roundMode(n)))
            throw n.error(new InvalidModelException("round_mode must be up, down or nearest, got '" + roundMode(n) + "'"));
        long s = n.attrInt("saturate", 1);
        if (s != 0 && s != 1) throw n.error(new InvalidModelException("saturate must be 0 or 1, got " + s));
    }
}
