package dev.kiln.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LibraryLocatorTest {

    @Test
    void nvrtcWithoutCudaHomeTriesSonamesNewestFirst() {
        var l = new LibraryLocator(Map.of());
        assertEquals(List.of("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"), l.nvrtcCandidates());
    }

    @Test
    void cudaHomeComesBeforeTheLoaderPathAndCudaPathAfterIt() {
        var l = new LibraryLocator(Map.of("CUDA_HOME", "/opt/cuda", "CUDA_PATH", "/usr/local/cuda-12"));
        List<String> c = l.nvrtcCandidates();
        assertEquals("/opt/cuda/lib64/libnvrtc.so.13", c.get(0));
        assertEquals("/opt/cuda/lib64/libnvrtc.so.12", c.get(1));
        int home = c.indexOf("/opt/cuda/lib64/libnvrtc.so");
        int path = c.indexOf("/usr/local/cuda-12/lib64/libnvrtc.so.13");
        int bare = c.indexOf("libnvrtc.so.13");
        assertTrue(home >= 0 && home < path && path < bare, c.toString());
        assertEquals("libnvrtc.so", c.getLast());
    }

    @Test
    void blankCudaHomeIsIgnored() {
        assertEquals(new LibraryLocator(Map.of()).nvrtcCandidates(), new LibraryLocator(Map.of("CUDA_HOME", " ")).nvrtcCandidates());
    }

    @Test
    void driverIsFoundByItsSoname() {
        assertEquals("libcuda.so.1", new LibraryLocator(Map.of()).driverCandidates().getFirst());
    }

    @Test
    void failedOpenSaysWhyForEachCandidate() {
        var found = new LibraryLocator(Map.of()).open(List.of("/nonexistent/libx.so", "libkiln-no-such-lib.so.7"));
        assertFalse(found.ok());
        assertEquals(2, found.tried().size());
        assertTrue(found.tried().get(0).contains("no such file"), found.tried().toString());
        assertTrue(found.reason().contains("libkiln-no-such-lib.so.7"), found.reason());
    }
}
