package dev.kiln.codegen.kernels.tile;

/**
 * The warpgroup tile operations of Hopper ({@code sm_90a} only: wgmma is an arch-specific feature, so a kernel
 * using them carries {@link #ARCH_MARKER}, which makes the runtime compile it for {@code sm_90a}). A prelude
 * after {@link TileOps#PRELUDE}; the CPU simulator ({@code kiln_sim.h}) supplies its own versions of the fixed
 * ones and runs {@link #mma}'s wrappers through {@code kiln_sim::wgmma}.
 * <ul>
 * <li>{@code kiln_wgmma_desc(p, lbo, sbo)}: the 64-bit shared-memory matrix descriptor of the PTX ISA for a
 *     128-byte-swizzled operand at {@code p}: bits 0-13 the address, 16-29 the leading and 32-45 the stride
 *     byte offset (each stored as {@code (x & 0x3ffff) >> 4}), base offset 0 (every swizzle pattern starts on a
 *     1024-byte boundary), bits 62-63 = 1 (128-byte swizzle).</li>
 * <li>{@code kiln_wgmma_fence()}: {@code wgmma.fence}, before a warpgroup's first wgmma and after it touched the
 *     accumulators; {@code kiln_wgmma_commit()} closes a wgmma group; {@code kiln_wgmma_wait<N>()} waits until at
 *     most N groups of this warpgroup are in flight (only then may the accumulators be read, or the shared
 *     memory they read be overwritten).</li>
 * <li>{@code kiln_fence_proxy_async()}: {@code fence.proxy.async.shared::cta}: makes this thread's generic-proxy
 *     shared-memory writes (landed cp.async copies) visible to the async proxy that wgmma reads through; each
 *     writer fences, then the block syncs, then wgmma may read.</li>
 * </ul>
 */
public final class WgmmaOps {
    private WgmmaOps() {}

    /**
     * A line in a kernel's source that asks the runtime for the arch-specific target ({@code sm_90a} on an
     * {@code sm_90} device); dev.kiln.runtime.CompileRequest looks for this exact text.
     */
    public static final String ARCH_MARKER = "#define KILN_ARCH_SPECIFIC 1";

    public static final String PRELUDE = """
            // Kiln warpgroup operations (sm_90a): wgmma descriptors, fences, groups (the CPU simulator defines its own)
            __device__ __forceinline__ unsigned long long kiln_wgmma_desc(const void* p, unsigned lbo, unsigned sbo) {
              return (unsigned long long)((kiln_smem(p) & 0x3FFFFu) >> 4) | (unsigned long long)((lbo & 0x3FFFFu) >> 4) << 16
                   | (unsigned long long)((sbo & 0x3FFFFu) >> 4) << 32 | 1ull << 62;
            }
            #ifndef KILN_SIM
            __device__ __forceinline__ void kiln_wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\\n" ::: "memory"); }
            __device__ __forceinline__ void kiln_wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\\n" ::: "memory"); }
            template <int N> __device__ __forceinline__ void kiln_wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\\n" :: "n"(N) : "memory"); }
            __device__ __forceinline__ void kiln_fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\\n" ::: "memory"); }
            #endif
            """;

    /**
     * The producer/consumer handshake of the warp-specialized main loop (after {@link #PRELUDE}; shared-memory
     * addresses are 32-bit {@code kiln_smem} values). An mbarrier ({@code kiln_mbar_*}) counts arrivals and,
     * for TMA, transaction bytes: {@code expect_tx} arrives and announces the bytes the stage's copies will
     * bring, each {@code kiln_tma_load_2d} completes its share, and the phase flips once both reach zero.
     * {@code kiln_mbar_wait(bar, parity)} spins until the phase of that parity has completed (on a fresh
     * barrier parity 1 counts as completed, so a producer's first pass over the ring does not wait).
     * {@code kiln_tma_load_2d(dst, map, bar, c0, c1)} copies the box at element coordinates (c0 inner, c1 outer)
     * of the tensor map at generic address {@code map} into shared memory, elements outside the tensor read as
     * zero (and still count as bytes). {@code kiln_setmaxnreg_inc/dec<N>} move a warpgroup's register budget
     * to N per thread (the producer gives registers back so the consumers' accumulators fit). {@code kiln_bar_sync<ID, N>}
     * is named barrier ID over N threads (the consumers, once the producer has left). The CPU simulator
     * ({@code kiln_sim.h}) has its own versions: mbarriers with arrival and byte counts, TMA copies that
     * write the 128-byte swizzle, and a tensor map of its own layout that its test driver fills.
     */
    public static final String TMA_PRELUDE = """
            // Kiln TMA and mbarrier operations (sm_90a): the warp-specialized main loop's producer/consumer handshake
            #ifndef KILN_SIM
            __device__ __forceinline__ void kiln_mbar_init(unsigned bar, unsigned count) { asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\\n" :: "r"(bar), "r"(count) : "memory"); }
            __device__ __forceinline__ void kiln_mbar_init_fence() { asm volatile("fence.mbarrier_init.release.cluster;\\n" ::: "memory"); }
            __device__ __forceinline__ void kiln_mbar_expect_tx(unsigned bar, unsigned bytes) {
              asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\\n" :: "r"(bar), "r"(bytes) : "memory");
            }
            __device__ __forceinline__ void kiln_mbar_arrive(unsigned bar) { asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\\n" :: "r"(bar) : "memory"); }
            __device__ __forceinline__ void kiln_mbar_wait(unsigned bar, unsigned parity) {
              asm volatile("{\\n.reg .pred done;\\nKILN_MBAR_WAIT:\\nmbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\\n@!done bra KILN_MBAR_WAIT;\\n}\\n"
                           :: "r"(bar), "r"(parity) : "memory");
            }
            __device__ __forceinline__ void kiln_tma_prefetch(const void* map) { asm volatile("prefetch.tensormap [%0];\\n" :: "l"(map) : "memory"); }
            __device__ __forceinline__ void kiln_tma_load_2d(unsigned dst, const void* map, unsigned bar, int c0, int c1) {
              asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4}], [%2];\\n"
                           :: "r"(dst), "l"(map), "r"(bar), "r"(c0), "r"(c1) : "memory");
            }
            template <int N> __device__ __forceinline__ void kiln_setmaxnreg_inc() { asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\\n" :: "n"(N)); }
            template <int N> __device__ __forceinline__ void kiln_setmaxnreg_dec() { asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\\n" :: "n"(N)); }
            template <int ID, int N> __device__ __forceinline__ void kiln_bar_sync() { asm volatile("bar.sync %0, %1;\\n" :: "n"(ID), "n"(N) : "memory"); }
            #endif
            """;

    /** C name of the wrapper for {@code wgmma.mma_async.m64nNk16} on {@code dtype} ("f16" or "bf16") with these majors. */
    public static String name(int n, String dtype, boolean transA, boolean transB) {
        return "kiln_wgmma_m64n" + n + "k16_" + dtype + "_" + (transA ? "m" : "k") + (transB ? "n" : "k");
    }

    /**
     * The wrapper {@code name(float (&d)[n/2], unsigned long long descA, unsigned long long descB)}: D += A B with
     * A (64x16) and B (16xN) in shared memory; {@code trans*} = the operand is MN-major (imm-trans 1). D's
     * fragment (PTX ISA, m64nNk16 accumulator): warp w of the warpgroup holds rows 16w..16w+15; with g = lane/4,
     * t = lane%4, d[4j + 2h + c] = D[16w + g + 8h][8j + 2t + c].
     */
    public static String mma(int n, String dtype, boolean transA, boolean transB) {
        int regs = n / 2;
        StringBuilder outs = new StringBuilder(), constraints = new StringBuilder();
        for (int i = 0; i < regs; i++) {
            outs.append(i == 0 ? "" : ",").append('%').append(i);
            constraints.append(i == 0 ? "" : ", ").append("\"+f\"(d[").append(i).append("])");
        }
        String f = name(n, dtype, transA, transB);
        return "#ifndef KILN_SIM\n"
                + "__device__ __forceinline__ void " + f + "(float (&d)[" + regs + "], unsigned long long a, unsigned long long b) {\n"
                + "  asm volatile(\"{\\n.reg .pred p;\\nsetp.ne.b32 p, %" + (regs + 2) + ", 0;\\n"
                + "wgmma.mma_async.sync.aligned.m64n" + n + "k16.f32." + dtype + "." + dtype + " {" + outs + "}, %" + regs + ", %" + (regs + 1)
                + ", p, 1, 1, " + (transA ? 1 : 0) + ", " + (transB ? 1 : 0) + ";\\n}\\n\"\n"
                + "    : " + constraints + "\n"
                + "    : \"l\"(a), \"l\"(b), \"r\"(1));\n"
                + "}\n"
                + "#else\n"
                + "inline void " + f + "(float (&d)[" + regs + "], unsigned long long a, unsigned long long b) { kiln_sim::wgmma(d, " + n + ", a, b, "
                + transA + ", " + transB + ", kiln_sim::" + (dtype.equals("f16") ? "h2f" : "bf2f") + "); }\n"
                + "#endif\n";
    }

    /** C name of the wrapper for {@code wgmma.mma_async m64nNk16} with A from registers and B (MN-major if {@code transB}) in shared memory. */
    public static String nameRegA(int n, String dtype, boolean transB) {
        return "kiln_wgmma_m64n" + n + "k16_" + dtype + "_r" + (transB ? "n" : "k");
    }

    /**
     * The wrapper {@code nameRegA(float (&d)[n/2], const unsigned (&a)[4], unsigned long long descB)}: D += A B with A
     * (64x16) in registers, in the m16n8k16 A-fragment layout per warp (warp w of the warpgroup holds rows
     * 16w..16w+15; with g = lane/4, t = lane%4: a[0] = A[g][2t..2t+1], a[1] = A[g+8][2t..], a[2] = A[g][2t+8..],
     * a[3] = A[g+8][2t+8..], two 16-bit elements per register, the lower column in the low half). That is the
     * accumulator layout of two adjacent 8-column tiles of a previous wgmma, rounded to 16 bits: how attention
     * feeds P = softmax(Q K^T) to P V without shared memory. The registers must stay unchanged until the group
     * retires ({@code kiln_wgmma_wait}).
     */
    public static String mmaRegA(int n, String dtype, boolean transB) {
        int regs = n / 2;
        StringBuilder outs = new StringBuilder(), constraints = new StringBuilder();
        for (int i = 0; i < regs; i++) {
            outs.append(i == 0 ? "" : ",").append('%').append(i);
            constraints.append(i == 0 ? "" : ", ").append("\"+f\"(d[").append(i).append("])");
        }
        String f = nameRegA(n, dtype, transB);
        return "#ifndef KILN_SIM\n"
                + "__device__ __forceinline__ void " + f + "(float (&d)[" + regs + "], const unsigned (&a)[4], unsigned long long b) {\n"
                + "  asm volatile(\"{\\n.reg .pred p;\\nsetp.ne.b32 p, %" + (regs + 5) + ", 0;\\n"
                + "wgmma.mma_async.sync.aligned.m64n" + n + "k16.f32." + dtype + "." + dtype + " {" + outs + "}, {%" + regs + ", %" + (regs + 1)
                + ", %" + (regs + 2) + ", %" + (regs + 3) + "}, %" + (regs + 4) + ", p, 1, 1, " + (transB ? 1 : 0) + ";\\n}\\n\"\n"
                + "    : " + constraints + "\n"
                + "    : \"r\"(a[0]), \"r\"(a[1]), \"r\"(a[2]), \"r\"(a[3]), \"l\"(b), \"r\"(1));\n"
                + "}\n"
                + "#else\n"
                + "inline void " + f + "(float (&d)[" + regs + "], const unsigned (&a)[4], unsigned long long b) { kiln_sim::wgmma_rs(d, " + n + ", a, b, "
                + transB + ", kiln_sim::" + (dtype.equals("f16") ? "h2f" : "bf2f") + "); }\n"
                + "#endif\n";
    }
}
