package dev.kiln.ir.ops;

import dev.kiln.ir.op.OpFamily;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.ops.elementwise.ArithmeticOps;
import dev.kiln.ir.ops.elementwise.LogicOps;
import dev.kiln.ir.ops.elementwise.MathOps;
import dev.kiln.ir.ops.elementwise.MiscOps;

/**
 * Elementwise ops: broadcasting arithmetic, unary math and activations, comparisons and logic, Dropout and
 * StringNormalizer. The definitions live in {@code ops.elementwise}, one table per kind.
 */
public final class ElementwiseOps implements OpFamily {
    @Override public void register(OpRegistry.Builder r) {
        ArithmeticOps.register(r);
        MathOps.register(r);
        LogicOps.register(r);
        MiscOps.register(r);
    }
}
