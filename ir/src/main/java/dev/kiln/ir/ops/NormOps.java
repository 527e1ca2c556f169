package dev.kiln.ir.ops;

import dev.kiln.ir.op.OpFamily;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.ops.reduction.BatchNorm;
import dev.kiln.ir.ops.reduction.Normalizations;
import dev.kiln.ir.ops.reduction.Softmaxes;

/**
 * Softmax-like ops and normalizations: Softmax, LogSoftmax, Hardmax ({@link Softmaxes}); Layer, RMS,
 * Instance, Group, MeanVariance and Lp normalization ({@link Normalizations}); BatchNormalization
 * ({@link BatchNorm}).
 */
public final class NormOps implements OpFamily {
    @Override public void register(OpRegistry.Builder r) {
        Softmaxes.DEFS.forEach(r::add);
        r.add(Normalizations.layerNorm());
        r.add(Normalizations.rmsNorm());
        r.add(Normalizations.instanceNorm());
        r.add(Normalizations.groupNorm());
        r.add(Normalizations.meanVarianceNorm());
        r.add(Normalizations.lpNorm());
        r.add(BatchNorm.def());
    }
}
