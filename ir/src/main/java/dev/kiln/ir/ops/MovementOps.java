package dev.kiln.ir.ops;

import dev.kiln.ir.op.OpFamily;
import dev.kiln.ir.op.OpRegistry;

/** Placeholder until this family's ops are defined. */
public final class MovementOps implements OpFamily {
    @Override public void register(OpRegistry.Builder r) {}
}
