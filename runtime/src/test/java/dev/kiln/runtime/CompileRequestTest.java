package dev.kiln.runtime;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A source carrying the arch-specific marker (wgmma kernels) compiles for sm_90a on Hopper; others as the device says. */
class CompileRequestTest {
    static final String WGMMA = "// GEMM\n" + CompileRequest.ARCH_SPECIFIC_MARKER + "\nextern \"C\" __global__ void k() {}\n";
    static final String PLAIN = "extern \"C\" __global__ void k() {}\n";

    @Test void markedSourcesGetTheArchSpecificTargetOnHopperOnly() {
        assertEquals("sm_90a", new CompileRequest(WGMMA, "k.cu", List.of(), "sm_90").arch());
        assertEquals("sm_90", new CompileRequest(PLAIN, "k.cu", List.of(), "sm_90").arch());
        assertEquals("sm_80", new CompileRequest(WGMMA, "k.cu", List.of(), "sm_80").arch(), "no sm_80a: codegen never emits wgmma there");
        assertEquals("sm_90a", new CompileRequest(WGMMA, "k.cu", List.of(), "sm_90a").arch());
    }
}
