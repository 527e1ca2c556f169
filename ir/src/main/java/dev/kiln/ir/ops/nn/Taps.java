package dev.kiln.ir.ops.nn;

import dev.kiln.ir.Node;

/**
 * One axis of a Resize: for each output index, the input indices (edge-clamped) and weights to combine, or
 * {@code null} where tf_crop_and_resize samples outside the input and the output is the extrapolation value.
 * Coefficients sit at offsets j from the left neighbour {@code left = x - ratio}, ratio in (0, 1].
 */
public final class Taps {
    final int[][] index;
    final double[][] weight;
    final double extrapolation;

    /** The input indices output x combines (null where it is the extrapolation value). */
    public int[] index(int x) { return index[x] == null ? null : index[x].clone(); }

    /** The weights of {@link #index(int)}. */
    public double[] weight(int x) { return weight[x] == null ? null : weight[x].clone(); }

    private Taps(int[][] index, double[][] weight, double extrapolation) {
        this.index = index;
        this.weight = weight;
        this.extrapolation = extrapolation;
    }

    /** The taps of one axis of Resize node {@code n}; GPU codegen bakes the same tables into its kernels. */
    public static Taps of(Node n, long inLen, long outLen, double scale, double[] roi) {
        String mode = n.attrString("mode", "nearest");
        String transform = n.attrString("coordinate_transformation_mode", "half_pixel");
        String nearest = n.attrString("nearest_mode", "round_prefer_floor");
        boolean antialias = n.attrInt("antialias", 0) == 1 && !mode.equals("nearest");
        boolean excludeOutside = n.attrInt("exclude_outside", 0) == 1;
        double a = n.attrFloat("cubic_coeff_a", -0.75);
        double outWidth = scale * inLen; // the unrounded output length, as the ONNX formulas use it
        int[][] index = new int[(int) outLen][];
        double[][] weight = new double[(int) outLen][];
        for (int x = 0; x < outLen; x++) {
            double src = switch (transform) {
                case "align_corners" -> outWidth == 1 ? 0 : x * (inLen - 1) / (outWidth - 1);
                case "asymmetric" -> x / scale;
                case "pytorch_half_pixel" -> outWidth == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
                case "half_pixel_symmetric" -> inLen / 2.0 * (1 - outLen / outWidth) + (x + 0.5) / scale - 0.5;
                case "tf_crop_and_resize" -> (outWidth == 1 ? (roi[1] - roi[0]) * (inLen - 1) / 2
                        : x * (roi[1] - roi[0]) * (inLen - 1) / (outWidth - 1)) + roi[0] * (inLen - 1);
                default -> (x + 0.5) / scale - 0.5; // half_pixel
            };
            if (transform.equals("tf_crop_and_resize") && (src < 0 || src > inLen - 1)) continue;
            double floor = Math.floor(src);
            double ratio = src == floor ? 1 : src - floor;
            long left = (long) (src - ratio);
            double[] c;
            int first; // offset j of c[0]
            switch (mode) {
                case "nearest" -> {
                    boolean right = ratio == 1 || switch (nearest) {
                        case "round_prefer_ceil" -> ratio >= 0.5;
                        case "floor" -> false;
                        case "ceil" -> true;
                        default -> ratio > 0.5;
                    };
                    c = right ? new double[] {0, 1} : new double[] {1, 0};
                    first = 0;
                }
                case "linear" -> {
                    if (antialias) {
                        double s = Math.min(scale, 1);
                        first = (int) Math.floor(-1 / s) + 1;
                        c = new double[2 - 2 * first];
                        for (int j = 0; j < c.length; j++) c[j] = Math.max(0, 1 - Math.abs((first + j - ratio) * s));
                        normalize(c);
                    } else {
                        c = new double[] {1 - ratio, ratio};
                        first = 0;
                    }
                }
                default -> { // cubic
                    double s = antialias ? Math.min(scale, 1) : 1;
                    first = antialias ? (int) Math.floor(-2 / s) + 1 : -1;
                    c = new double[2 - 2 * first];
                    for (int j = 0; j < c.length; j++) c[j] = cubic(s * (first + j - ratio), a);
                    if (antialias) normalize(c);
                }
            }
            if (excludeOutside) {
                for (int j = 0; j < c.length; j++) {
                    long i = left + first + j;
                    if (i < 0 || i >= inLen) c[j] = 0;
                }
                normalize(c);
            }
            int live = 0;
            for (double w : c) if (w != 0) live++;
            index[x] = new int[live];
            weight[x] = new double[live];
            for (int j = 0, k = 0; j < c.length; j++) {
                if (c[j] == 0) continue;
                index[x][k] = (int) Math.clamp(left + first + j, 0, inLen - 1);
                weight[x][k++] = c[j];
            }
        }
        return new Taps(index, weight, n.attrFloat("extrapolation_value", 0.0));
    }

    /** Keys' cubic convolution kernel with parameter a, at distance t. */
    private static double cubic(double t, double a) {
        t = Math.abs(t);
        if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
        if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
        return 0;
    }

    private static void normalize(double[] c) {
        double sum = 0;
        for (double w : c) sum += w;
        if (sum != 0) for (int j = 0; j < c.length; j++) c[j] /= sum;
    }
}
