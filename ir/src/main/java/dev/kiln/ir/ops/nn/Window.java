package dev.kiln.ir.ops.nn;

import dev.kiln.ir.Tensor;

/**
 * Index tables of a sliding window over N spatial axes: for each output position and each kernel tap, the input
 * position {@code o*stride + k*dilation - padBegin}, or none when it falls in the padding. The same tables drive
 * ConvTranspose's scatter with the roles of input and output swapped.
 */
public final class Window {
    final long[] in, out, kernel, padBegin, padEnd;
    final int inNumel, outNumel, kernelNumel;
    private final int rank;
    private final int[][] coord;     // coord[d][o * kernel[d] + k]: input coordinate, may lie outside [0, in)
    private final long[] outStrides, inStrides, kernelStrides;

    Window(long[] in, long[] out, long[] kernel, long[] strides, long[] dilations, long[] padBegin, long[] padEnd) {
        this.rank = in.length;
        this.in = in;
        this.out = out;
        this.kernel = kernel;
        this.padBegin = padBegin;
        this.padEnd = padEnd;
        this.inNumel = (int) Tensor.numel(in);
        this.outNumel = (int) Tensor.numel(out);
        this.kernelNumel = (int) Tensor.numel(kernel);
        coord = new int[rank][];
        for (int d = 0; d < rank; d++) {
            coord[d] = new int[Math.toIntExact(out[d] * kernel[d])];
            for (int o = 0; o < out[d]; o++)
                for (int k = 0; k < kernel[d]; k++)
                    coord[d][(int) (o * kernel[d] + k)] = Math.toIntExact(o * strides[d] + k * dilations[d] - padBegin[d]);
        }
        outStrides = dev.kiln.ir.op.Shapes.strides(out);
        inStrides = dev.kiln.ir.op.Shapes.strides(in);
        kernelStrides = dev.kiln.ir.op.Shapes.strides(kernel);
    }

    /**
     * The taps of output position {@code o} (row-major over the spatial axes) that fall inside the input: their
     * row-major input offsets into {@code inOff} and kernel offsets into {@code kOff} (each at least
     * {@link #kernelNumel} long). Returns how many there are, in kernel row-major order.
     */
    int taps(int o, int[] inOff, int[] kOff) {
        int n = 0;
        outer:
        for (int k = 0; k < kernelNumel; k++) {
            int off = 0;
            for (int d = 0; d < rank; d++) {
                int od = (int) (o / outStrides[d] % out[d]), kd = (int) (k / kernelStrides[d] % kernel[d]);
                int c = coord[d][(int) (od * kernel[d] + kd)];
                if (c < 0 || c >= in[d]) continue outer;
                off += (int) (c * inStrides[d]);
            }
            inOff[n] = off;
            kOff[n++] = k;
        }
        return n;
    }

    /** Taps of output position {@code o} inside the explicitly padded input (excluding any ceil_mode overhang). */
    int paddedTaps(int o) {
        long n = 1;
        for (int d = 0; d < rank; d++) {
            int od = (int) (o / outStrides[d] % out[d]);
            long count = 0;
            for (int k = 0; k < kernel[d]; k++) {
                int c = coord[d][(int) (od * kernel[d] + k)];
                if (c >= -padBegin[d] && c < in[d] + padEnd[d]) count++;
            }
            n *= count;
        }
        return (int) n;
    }

    /** The spatial input offset {@code off} (row-major) re-linearized column-major (MaxPool storage_order=1). */
    int columnMajor(int off) {
        long r = 0, stride = 1;
        for (int d = 0; d < rank; d++) {
            r += (off / inStrides[d] % in[d]) * stride;
            stride *= in[d];
        }
        return (int) r;
    }
}
