package dev.kiln.ir.ops.reduction;

import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.EvalContext;
import dev.kiln.ir.op.OpDef;

import java.util.Arrays;
import java.util.List;

/**
 * BatchNormalization (opset 15): X [N,C,D...], scale, B, input_mean, input_var (all [C]) -> Y, and in
 * training mode also running_mean and running_var. Inference uses the given statistics:
 * {@code y = (x - mean) / sqrt(var + eps) * scale + B}. Training (training_mode=1) normalizes with the batch
 * statistics over N and the spatial axes (population variance) and returns
 * {@code running = input * momentum + batch * (1 - momentum)} in input_mean's dtype.
 */
public final class BatchNorm {
    private BatchNorm() {}

    public static OpDef.Builder def() {
        return OpDef.op("BatchNormalization").inputs(5).outputs(1, 3)
                .check(n -> AxisOps.requireFlag(n, "training_mode"))
                .infer(c -> {
                    TensorType x = Kernels.requireFloat(c, 0);
                    if (x.shape().ranked() && x.rank() < 2) throw c.error("X must have rank 2 or more, has " + x.rank());
                    for (int i = 1; i < 5; i++) Kernels.requireFloat(c, i);
                    return List.of(x, c.inputType(3), c.inputType(4));
                })
                .eval(BatchNorm::eval);
    }

    private static List<Tensor> eval(EvalContext c) {
        Tensor x = c.input(0);
        if (x.rank() < 2) throw c.error("X must have rank 2 or more, has " + x.rank());
        int ch = (int) x.dim(1);
        String[] names = {"X", "scale", "B", "input_mean", "input_var"};
        for (int i = 1; i < 5; i++)
            if (c.input(i).rank() != 1 || c.input(i).dim(0) != ch)
                throw c.error(names[i] + " must have shape [" + ch + "], has " + Arrays.toString(c.input(i).shape()));
        double eps = c.node().attrFloat("epsilon", Normalizations.DEFAULT_EPSILON);
        boolean training = c.node().attrInt("training_mode", 0) != 0;
        double[] xs = x.toDoubles();
        int inner = (int) (x.numel() / Math.max(1, x.dim(0) * ch));  // spatial size
        double[] mean = c.input(3).toDoubles(), var = c.input(4).toDoubles();
        Tensor runMean = c.input(3), runVar = c.input(4);
        if (training) {
            double[] bm = new double[ch], bv = new double[ch];
            long[] cnt = new long[ch];
            for (int j = 0; j < xs.length; j++) { int k = j / inner % ch; bm[k] += xs[j]; cnt[k]++; }
            for (int k = 0; k < ch; k++) bm[k] /= cnt[k];
            for (int j = 0; j < xs.length; j++) { int k = j / inner % ch; double d = xs[j] - bm[k]; bv[k] += d * d; }
            for (int k = 0; k < ch; k++) bv[k] /= cnt[k];
            double mom = c.node().attrFloat("momentum", 0.9);
            double[] rm = new double[ch], rv = new double[ch];
            for (int k = 0; k < ch; k++) {
                rm[k] = mean[k] * mom + bm[k] * (1 - mom);
                rv[k] = var[k] * mom + bv[k] * (1 - mom);
            }
            runMean = Tensor.ofDoubles(runMean.dtype(), runMean.shape(), rm);
            runVar = Tensor.ofDoubles(runVar.dtype(), runVar.shape(), rv);
            mean = bm;
            var = bv;
        }
        Tensor scale = c.input(1), bias = c.input(2);
        double[] y = new double[xs.length];
        for (int j = 0; j < xs.length; j++) {
            int k = j / inner % ch;
            y[j] = (xs[j] - mean[k]) / Math.sqrt(var[k] + eps) * scale.getDouble(k) + bias.getDouble(k);
        }
        return List.of(Tensor.ofDoubles(x.dtype(), x.shape(), y), runMean, runVar);
    }
}
