package dev.kiln.codegen.kernels.gemm;

/**
 * The shared-memory layout of one operand's BK x MN tile per pipeline stage, in the operand's own memory
 * order so that global loads and shared stores both run along the contiguous axis: K-major as
 * {@code [mn][bk + pad]}, MN-major as {@code [bk][mn + pad]}. Rows are padded by 16 bytes (32 bytes for
 * 4-byte MN-major elements) so that the 8 rows one {@code ldmatrix} (or one TF32 fragment load) touches fall
 * in distinct banks, and every row starts 16-byte aligned as {@code cp.async} and {@code ldmatrix} need.
 */
record SmemTile(GemmOperand.Major major, int mn, int bk, int elemBytes) {
    int pad() { return major == GemmOperand.Major.K || elemBytes != 4 ? 16 / elemBytes : 8; }

    /** Elements between consecutive rows (rows are mn for K-major, k for MN-major). */
    int ld() { return (major == GemmOperand.Major.K ? bk : mn) + pad(); }

    int stageElems() { return (major == GemmOperand.Major.K ? mn : bk) * ld(); }

    int stageBytes() { return stageElems() * elemBytes; }

    /** C expression: element offset of (mn, k) inside one stage. */
    String at(String mnExpr, String kExpr) {
        return major == GemmOperand.Major.K ? "(" + mnExpr + ") * " + ld() + " + (" + kExpr + ")"
                : "(" + kExpr + ") * " + ld() + " + (" + mnExpr + ")";
    }
}
