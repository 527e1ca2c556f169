package dev.kiln.ir.ops;

import dev.kiln.ir.op.OpFamily;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.ops.nn.ChannelsLastOps;
import dev.kiln.ir.ops.nn.ConvOps;
import dev.kiln.ir.ops.nn.PoolOps;
import dev.kiln.ir.ops.nn.ResizeOp;

/**
 * Neural-network window ops over [N, C, spatial...] tensors: convolutions, pools, Resize. The definitions live in
 * {@code ops/nn/}, one file per kind; the window arithmetic they share is {@link dev.kiln.ir.ops.nn.WindowSpec}.
 */
public final class NnOps implements OpFamily {
    @Override public void register(OpRegistry.Builder r) {
        ConvOps.register(r);
        PoolOps.register(r);
        ChannelsLastOps.register(r);
        ResizeOp.register(r);
    }
}
