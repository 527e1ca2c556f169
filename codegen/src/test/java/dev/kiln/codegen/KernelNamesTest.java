package dev.kiln.codegen;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class KernelNamesTest {
    static KernelSpec spec(String entry, String origin, String body) {
        String src = "// Kiln kernel for " + origin + "\n// matmul f32[2,64] x f32[64,64]\n"
                + "__device__ float " + entry + "_helper(float x) { return x; }\n"
                + "extern \"C\" __global__ void " + entry + "(float* p0) { " + body + " }\n";
        return new KernelSpec(entry, src, entry, KernelSpec.Dim3.of(2), KernelSpec.Dim3.of(256), 0,
                List.of(new KernelSpec.Param.Buffer("y_" + origin)), List.of(origin.split(",")));
    }

    @Test void kernelsThatDifferOnlyInOriginAndProvisionalNameBecomeIdentical() {
        KernelSpec a = KernelNames.canonical(spec("k3_matmul", "layer0/MatMul,layer0/Add", "p0[0] = 1.f;"), "matmul");
        KernelSpec b = KernelNames.canonical(spec("k17_matmul", "layer1/MatMul,layer1/Add", "p0[0] = 1.f;"), "matmul");
        assertEquals(a.source(), b.source());
        assertEquals(a.entry(), b.entry());
        assertEquals(a.entry(), a.name());
        assertTrue(a.entry().matches("kiln_matmul_[0-9a-f]{12}"), a.entry());
        assertFalse(a.source().contains("Kiln kernel for"), "the per-launch comment is not part of the shared source");
        assertTrue(a.source().startsWith("// matmul f32[2,64]"), a.source());
        assertTrue(a.source().contains("void " + a.entry() + "(float* p0)"), a.source());
        assertFalse(a.source().contains("k3_matmul("), a.source());
        // what stays per launch: the origins and the parameters
        assertEquals(List.of("layer1/MatMul", "layer1/Add"), b.origins());
        assertEquals(List.of(new KernelSpec.Param.Buffer("y_layer1/MatMul,layer1/Add")), b.params());
    }

    @Test void anyDifferenceInTheCodeGivesAnotherName() {
        KernelSpec a = KernelNames.canonical(spec("k3_matmul", "n", "p0[0] = 1.f;"), "matmul");
        KernelSpec b = KernelNames.canonical(spec("k3_matmul", "n", "p0[0] = 2.f;"), "matmul");
        assertNotEquals(a.entry(), b.entry());
        assertNotEquals(a.entry(), KernelNames.canonical(spec("k3_matmul", "n", "p0[0] = 1.f;"), "elementwise").entry(),
                "the template is part of the name");
    }

    @Test void theLeanPreludeDropsOnlyHeadersNothingUses() {
        String head = "// x\n#include <cuda_fp16.h>\n#include <cuda_bf16.h>\n";
        KernelSpec f32 = spec("k1_e", "n", "p0[0] = 1.f;");
        KernelSpec f16 = spec("k1_e", "n", "p0[0] = __half2float(x);"), bf16 = spec("k1_e", "n", "__nv_bfloat16 y;");
        java.util.function.Function<KernelSpec, KernelSpec> withHeaders = k -> new KernelSpec(k.name(), head + k.source(), k.entry(),
                k.grid(), k.block(), k.sharedBytes(), k.params(), k.origins());
        String a = CTypes.withoutUnusedHeaders(withHeaders.apply(f32)).source();
        String b = CTypes.withoutUnusedHeaders(withHeaders.apply(f16)).source();
        String c = CTypes.withoutUnusedHeaders(withHeaders.apply(bf16)).source();
        assertFalse(a.contains("#include"), a);
        assertTrue(b.contains("#include <cuda_fp16.h>") && !b.contains("cuda_bf16.h"), b);
        assertTrue(c.contains("#include <cuda_fp16.h>") && c.contains("#include <cuda_bf16.h>"), c);
    }

    @Test void helpersNamedAfterTheEntryAreRenamedWithIt() {
        KernelSpec a = KernelNames.canonical(spec("k3_matmul", "n", "p0[0] = k3_matmul_helper(1.f);"), "matmul");
        assertFalse(a.source().contains("k3_matmul"), a.source());
        assertTrue(a.source().contains("p0[0] = " + a.entry() + "_helper(1.f);"), a.source());
        assertTrue(a.source().contains("__device__ float " + a.entry() + "_helper(float x)"), a.source());
    }
}
