package dev.kiln.ir.ops;

import dev.kiln.ir.op.OpFamily;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.ops.reduction.AxisOps;
import dev.kiln.ir.ops.reduction.Reductions;

/**
 * Reductions and axis ops: the ReduceX table (see {@link Reductions}), ArgMax/ArgMin, CumSum and TopK
 * (see {@link AxisOps}).
 */
public final class ReductionOps implements OpFamily {
    @Override public void register(OpRegistry.Builder r) {
        Reductions.ROWS.forEach(row -> r.add(Reductions.def(row)));
        r.add(AxisOps.arg("ArgMax", +1));
        r.add(AxisOps.arg("ArgMin", -1));
        r.add(AxisOps.cumSum());
        r.add(AxisOps.topK());
    }
}
