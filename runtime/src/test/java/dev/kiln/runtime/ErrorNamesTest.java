package dev.kiln.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ErrorNamesTest {

    @Test
    void tableNamesCommonResults() {
        assertEquals("CUDA_SUCCESS", CuResult.name(0));
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", CuResult.name(2));
        assertEquals("CUDA_ERROR_NO_BINARY_FOR_GPU", CuResult.name(209));
        assertEquals("CUDA_ERROR_ILLEGAL_ADDRESS", CuResult.name(700));
        assertEquals("CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE", CuResult.name(910));
        assertEquals("CUDA_ERROR_12345", CuResult.name(12345));
    }

    @Test
    void driverNameAgreesWithTheTableOrFallsBackToIt() {
        // with a driver this asks cuGetErrorName; without one it uses the table: the answer is the same
        assertEquals("CUDA_ERROR_INVALID_VALUE", CudaDriver.errorName(1));
    }

    @Test
    void exceptionNamesCallResultAndDevice() {
        CudaException e = CudaDriver.error(2, "cuMemAlloc_v2(1024 bytes)", "device 0 (Test GPU, sm_90)");
        assertEquals("cuMemAlloc_v2(1024 bytes)", e.call());
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", e.errorName());
        assertTrue(e.getMessage().startsWith("cuMemAlloc_v2(1024 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (2): "), e.getMessage());
        assertTrue(e.getMessage().endsWith("[device 0 (Test GPU, sm_90)]"), e.getMessage());
    }

    @Test
    void archComesFromComputeCapability() {
        assertEquals("sm_90", Device.archOf(9, 0));
        assertEquals("sm_86", Device.archOf(8, 6));
        assertEquals("sm_120", Device.archOf(12, 0));
    }
}
