package dev.kiln.ir.ops;

import dev.kiln.ir.op.OpFamily;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.ops.movement.GatherOps;
import dev.kiln.ir.ops.movement.GenerateOps;
import dev.kiln.ir.ops.movement.LayoutOps;
import dev.kiln.ir.ops.movement.ReshapeOps;
import dev.kiln.ir.ops.movement.SliceOps;

import java.util.List;

/**
 * Data movement and shape ops, defined in {@code ops/movement/} one file per kind: reshapes
 * ({@link ReshapeOps}), rearrangements ({@link LayoutOps}), windows ({@link SliceOps}), indexed reads and
 * writes ({@link GatherOps}) and generators ({@link GenerateOps}).
 */
public final class MovementOps implements OpFamily {
    private static final List<OpFamily> PARTS = List.of(
            new ReshapeOps(), new LayoutOps(), new SliceOps(), new GatherOps(), new GenerateOps());

    @Override public void register(OpRegistry.Builder r) {
        for (OpFamily f : PARTS) f.register(r);
    }
}
