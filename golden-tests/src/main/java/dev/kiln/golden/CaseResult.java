package dev.kiln.golden;

/**
 * The outcome of one suite case. {@code XFAIL}: failed and listed as expected; {@code XPASS}: listed but
 * passed (the entry should go); {@code FAIL}: failed and not listed, which fails the build.
 */
public record CaseResult(String id, Status status, double maxError, String reason, long millis) {
    public enum Status { PASS, FAIL, XFAIL, XPASS, SKIP }

    public boolean breaksBuild() { return status == Status.FAIL; }
}
