package dev.kiln.runtime;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** TMA tensor map geometry: the driver's limits are checked up front, and a driver without the call reports it. */
class TensorMapTest {
    static TensorMap gemmOperand(long inner, long outer, long strideBytes) {
        return new TensorMap(TensorMap.Element.F16, List.of(inner, outer), List.of(strideBytes), List.of(64, 256), TensorMap.Swizzle.B128);
    }

    @Test void geometryOutsideTheDriversLimitsIsRejected() {
        gemmOperand(520, 1496, 1040); // fine
        assertThrows(IllegalArgumentException.class, () -> gemmOperand(520, 1496, 1042), "stride not a multiple of 16");
        assertThrows(IllegalArgumentException.class, () -> gemmOperand(0, 1496, 1040));
        assertThrows(IllegalArgumentException.class, () -> new TensorMap(TensorMap.Element.F16, List.of(64L, 64L), List.of(), List.of(64, 64), TensorMap.Swizzle.B128), "rank 2 needs one stride");
        assertThrows(IllegalArgumentException.class, () -> new TensorMap(TensorMap.Element.F16, List.of(64L, 64L), List.of(128L), List.of(64, 512), TensorMap.Swizzle.B128), "box over 256");
        assertThrows(IllegalArgumentException.class, () -> new TensorMap(TensorMap.Element.F32, List.of(64L, 64L), List.of(256L), List.of(64, 64), TensorMap.Swizzle.B128), "a 256-byte box row exceeds the 128-byte swizzle");
        assertEquals(TensorMap.Swizzle.B128, TensorMap.Swizzle.ofBytes(128));
        assertThrows(IllegalArgumentException.class, () -> TensorMap.Swizzle.ofBytes(96));
    }

    @Test void withoutTheDriverCallEncodingReportsUnavailable() {
        TensorMap m = gemmOperand(520, 1496, 1040);
        assertThrows(IllegalArgumentException.class, () -> m.encode(8), "base not 16-byte aligned");
        if (TensorMap.available()) return; // a GPU machine with a CUDA 12+ driver: TmaGemmGpuTest encodes for real
        assertThrows(CudaUnavailableException.class, () -> m.encode(1 << 20));
    }
}
