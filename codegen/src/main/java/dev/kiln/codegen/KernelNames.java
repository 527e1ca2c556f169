package dev.kiln.codegen;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Content-addressed kernel names. Templates write a provisional entry name ({@link CodegenContext#kernelName})
 * and a first comment line naming the ONNX nodes the kernel absorbed; both differ between repeated layers
 * while the code does not. {@link #canonical} takes the comment out and renames the entry to
 * {@code kiln_<template>_<12 hex of SHA-256>} of what is left, so identical kernels get byte-identical sources:
 * the plan keeps one of them and the kernel cache hits across layers, models and processes. The absorbed nodes
 * stay on each launch ({@link KernelSpec#origins}), and dumps write them back on top of each launch's source.
 */
public final class KernelNames {
    private KernelNames() {}

    /** The first line templates write (see {@link Codegen#originComment}); the per-launch part of a source. */
    static final String ORIGIN_PREFIX = "// Kiln kernel for ";
    private static final String PLACEHOLDER = "KILN_ENTRY";

    /** {@code k} with the origin comment taken out and its entry renamed after the remaining source. */
    public static KernelSpec canonical(KernelSpec k, String template) {
        String src = withoutOrigin(k.source());
        // also as the start of an identifier: helpers named after the entry ({@code k3_matmul_tile}) follow it
        Pattern entry = Pattern.compile("\\b" + Pattern.quote(k.entry()));
        String shape = entry.matcher(src).replaceAll(PLACEHOLDER);
        String name = "kiln_" + template.replaceAll("[^A-Za-z0-9_]", "_") + "_" + hash12(shape);
        String source = shape.replace(PLACEHOLDER, name);
        return new KernelSpec(name, source, name, k.grid(), k.block(), k.sharedBytes(), k.params(), k.origins());
    }

    /** The source without its leading origin comment lines (a long origin list may span several). */
    static String withoutOrigin(String source) {
        int at = 0;
        while (source.startsWith(ORIGIN_PREFIX, at)) {
            int nl = source.indexOf('\n', at);
            at = nl < 0 ? source.length() : nl + 1;
        }
        return source.substring(at);
    }

    /** The comment line a dump writes above a launch's source: {@code // Kiln kernel for} the absorbed nodes. */
    public static String originLine(Iterable<String> origins) {
        return ORIGIN_PREFIX + String.join(",", origins);
    }

    static String hash12(String s) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
