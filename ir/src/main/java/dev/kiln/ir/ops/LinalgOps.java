package dev.kiln.ir.ops;

import dev.kiln.ir.op.OpFamily;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.ops.linalg.Attention;
import dev.kiln.ir.ops.linalg.Einsum;
import dev.kiln.ir.ops.linalg.MatMulOps;
import dev.kiln.ir.ops.linalg.RotaryEmbedding;

/** Linear algebra: MatMul, Gemm, Einsum, integer and quantized matmul, Attention, RotaryEmbedding. */
public final class LinalgOps implements OpFamily {
    @Override public void register(OpRegistry.Builder r) {
        MatMulOps.register(r);
        Einsum.register(r);
        Attention.register(r);
        RotaryEmbedding.register(r);
    }
}
