package dev.kiln.ir.ops.elementwise;

import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

/** Dropout and StringNormalizer: elementwise in spirit, but with masks, randomness or filtering. */
public final class MiscOps {
    private MiscOps() {}

    public static void register(OpRegistry.Builder r) {
        // NONDETERMINISTIC because training mode with ratio > 0 draws a fresh mask; inference mode is identity
        r.add(OpDef.op("Dropout").traits(Trait.ELEMENTWISE, Trait.NONDETERMINISTIC).inputs(1, 3).outputs(1, 2)
                .infer(ctx -> {
                    DType t = ctx.inputType(0).dtype();
                    Ew.requireFloat(ctx, t);
                    if (ctx.hasInput(1)) Ew.requireFloat(ctx, ctx.inputType(1).dtype());
                    if (ctx.hasInput(2) && !ctx.inputType(2).dtype().isBool())
                        throw ctx.error("training_mode must be bool, got " + ctx.inputType(2).dtype());
                    return List.of(ctx.inputType(0), ctx.inputType(0).withDType(DType.BOOL));
                })
                .eval(ctx -> {
                    Tensor x = ctx.input(0);
                    double ratio = ctx.hasInput(1) ? ctx.input(1).getDouble(0) : 0.5;
                    boolean training = ctx.hasInput(2) && ctx.input(2).getBool(0);
                    boolean[] keep = new boolean[x.numel()];
                    if (!training || ratio == 0) {
                        java.util.Arrays.fill(keep, true);
                        return List.of(x, Tensor.ofBools(x.shape(), keep));
                    }
                    if (!(ratio >= 0 && ratio <= 1)) throw ctx.error("Dropout ratio must be in [0, 1], got " + ratio);
                    SplittableRandom rng = new SplittableRandom(ctx.node().attrInt("seed", 0));
                    double scale = 1 / (1 - ratio);
                    double[] out = new double[keep.length];
                    for (int i = 0; i < keep.length; i++) {
                        keep[i] = rng.nextDouble() >= ratio;
                        out[i] = keep[i] ? x.getDouble(i) * scale : 0;
                    }
                    return List.of(Tensor.ofDoubles(x.dtype(), x.shape(), out), Tensor.ofBools(x.shape(), keep));
                }));
        r.add(OpDef.op("StringNormalizer").traits(Trait.DATA_DEPENDENT_SHAPE).inputs(1).outputs(1)
                .check(MiscOps::checkNormalizer)
                .infer(ctx -> {
                    TensorType t = ctx.inputType(0);
                    if (!t.dtype().isString()) throw ctx.error("StringNormalizer needs a string input, got " + t.dtype());
                    Shape s = t.shape();
                    if (s.ranked() && !(s.rank() == 1 || s.rank() == 2 && s.dim(0).equals(Dim.of(1))))
                        throw ctx.error("StringNormalizer input must be [C] or [1, C], got " + s);
                    if (ctx.node().attrStrings("stopwords") == null || ctx.node().attrStrings("stopwords").isEmpty() || !s.ranked())
                        return List.of(t);
                    // stop words remove a data-dependent number of strings
                    return List.of(t.withShape(s.rank() == 1 ? Shape.of(Dim.UNKNOWN) : Shape.of(Dim.of(1), Dim.UNKNOWN)));
                })
                .eval(ctx -> {
                    Tensor x = ctx.input(0);
                    if (!(x.rank() == 1 || x.rank() == 2 && x.dim(0) == 1))
                        throw ctx.error("StringNormalizer input must be [C] or [1, C], got " + x.type());
                    Node n = ctx.node();
                    String action = n.attrString("case_change_action", "NONE");
                    boolean sensitive = n.attrInt("is_case_sensitive", 0) != 0;
                    Locale locale = Locale.forLanguageTag(n.attrString("locale", "en_US").replace('_', '-'));
                    Set<String> stop = new HashSet<>();
                    List<String> words = n.attrStrings("stopwords");
                    if (words != null) for (String w : words) stop.add(sensitive ? w : w.toLowerCase(locale));
                    List<String> kept = new ArrayList<>();
                    for (String s : x.toStrings()) {
                        if (stop.contains(sensitive ? s : s.toLowerCase(locale))) continue;
                        kept.add(switch (action) {
                            case "LOWER" -> s.toLowerCase(locale);
                            case "UPPER" -> s.toUpperCase(locale);
                            default -> s;
                        });
                    }
                    if (kept.isEmpty()) kept.add("");   // ONNX keeps one empty string rather than an empty tensor
                    long[] shape = x.rank() == 1 ? new long[] {kept.size()} : new long[] {1, kept.size()};
                    return List.of(Tensor.ofStrings(shape, kept.toArray(String[]::new)));
                }));
    }

    private static void checkNormalizer(Node n) {
        String a = n.attrString("case_change_action", "NONE");
        if (!a.equals("NONE") && !a.equals("LOWER") && !a.equals("UPPER"))
            throw n.error(new InvalidModelException("case_change_action must be NONE, LOWER or UPPER, got '" + a + "'"));
    }
}
