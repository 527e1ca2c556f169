package dev.kiln.ir.text;

import dev.kiln.ir.Attr;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;

import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Prints a {@link Graph} in the IR text form (docs/ir-text.md), which {@link IrParser} reads back to an equal
 * graph. Deterministic: nodes in graph order, attributes sorted by name, resources named after the values
 * that hold them.
 */
public final class IrPrinter {
    /**
     * @param inlineLimit    tensors with at most this many elements print inline ({@code dense<...> [...]}),
     *                       larger ones by reference ({@code dense_resource<...> @name}); string tensors are
     *                       always inline
     * @param emitResources  whether to append the {@code resources { ... }} section holding referenced bytes
     */
    public record Options(int inlineLimit, boolean emitResources) {
        /** For dumps: large tensors by reference only. */
        public static final Options DEFAULT = new Options(16, false);
        /** Text that parses back without a resolver. */
        public static final Options SELF_CONTAINED = new Options(16, true);
    }

    /** The text and the tensors it references by name (what a resolver must supply when not emitted). */
    public record Printed(String text, Map<String, Tensor> resources) {}

    private final Options options;
    private final StringBuilder out = new StringBuilder();
    private final Map<String, Tensor> resources = new LinkedHashMap<>();

    private IrPrinter(Options options) { this.options = options; }

    public static String print(Graph g) { return print(g, Options.DEFAULT); }

    public static String print(Graph g, Options options) { return render(g, options).text(); }

    public static Printed render(Graph g, Options options) {
        IrPrinter p = new IrPrinter(options);
        p.graph(g, "");
        p.out.append('\n');
        if (options.emitResources() && !p.resources.isEmpty()) {
            p.out.append("resources {\n");
            HexFormat hex = HexFormat.of();
            p.resources.forEach((name, t) -> p.out.append("  ").append(TextSyntax.symbol(name))
                    .append(" = \"0x").append(hex.formatHex(t.storage())).append("\"\n"));
            p.out.append("}\n");
        }
        return new Printed(p.out.toString(), Map.copyOf(p.resources));
    }

    private void graph(Graph g, String indent) {
        out.append("graph ").append(TextSyntax.symbol(g.name())).append('(');
        StringJoiner in = new StringJoiner(", ");
        for (Value v : g.inputs()) in.add(TextSyntax.value(v.name()) + ": " + type(v.type()));
        out.append(in).append(") -> (");
        StringJoiner res = new StringJoiner(", ");
        for (Value v : g.outputs()) res.add(v.isNone() ? "none" : TextSyntax.value(v.name()) + ": " + type(v.type()));
        out.append(res).append(") {\n");
        for (Node n : g.nodes()) {
            out.append(indent).append("  ");
            node(n, indent + "  ");
            out.append('\n');
        }
        out.append(indent).append('}');
    }

    private void node(Node n, String indent) {
        if (!n.outputs().isEmpty()) {
            StringJoiner defs = new StringJoiner(", ");
            for (Value v : n.outputs()) defs.add(TextSyntax.value(v.name()));
            out.append(defs).append(" = ");
        }
        out.append(TextSyntax.name(n.op())).append('(');
        StringJoiner ops = new StringJoiner(", ");
        for (Value v : n.inputs()) ops.add(TextSyntax.value(v.name()));
        out.append(ops).append(')');
        if (!n.attrs().isEmpty()) {
            out.append(" {");
            boolean first = true;
            for (var e : n.attrs().keyValuesView()) {
                out.append(first ? "" : ", ").append(TextSyntax.name(e.getOne())).append(" = ");
                attr(n, e.getOne(), e.getTwo(), indent);
                first = false;
            }
            out.append('}');
        }
        StringJoiner types = new StringJoiner(", ");
        for (Value v : n.outputs()) if (!v.isNone()) types.add(type(v.type()));
        if (types.length() > 0) out.append(" : ").append(types);
        if (!n.origin().isEmpty()) out.append(" loc(").append(TextSyntax.quote(n.origin())).append(')');
    }

    private void attr(Node n, String name, Attr a, String indent) {
        switch (a) {
            case Attr.Int i -> out.append(i.value());
            case Attr.Float f -> out.append(Literal.format(f.value()));
            case Attr.Str s -> out.append(TextSyntax.quote(s.value()));
            case Attr.Ints l -> out.append(l.values().isEmpty() ? "ints[]" : l.values().makeString("[", ", ", "]"));
            case Attr.Floats l -> out.append(l.values().isEmpty() ? "floats[]"
                    : l.values().collect(Literal::format).makeString("[", ", ", "]"));
            case Attr.Strs l -> out.append(l.values().isEmpty() ? "strings[]"
                    : l.values().collect(TextSyntax::quote).makeString("[", ", ", "]"));
            case Attr.TensorValue t -> tensor(n, name, t.value());
            case Attr.GraphValue g -> graph(g.value(), indent);
        }
    }

    private void tensor(Node n, String attrName, Tensor t) {
        String type = type(t.type());
        if (t.numel() <= options.inlineLimit() || t.dtype().isString()) {
            out.append("dense<").append(type).append("> ").append(TensorText.format(t));
            return;
        }
        Value first = n.outputs().detectIfNone(v -> !v.isNone(), () -> Value.NONE);
        String base = first.isNone() ? n.op() : first.name();
        if (!attrName.equals("value")) base += "." + attrName;
        String name = base;
        for (int k = 1; resources.containsKey(name); k++) name = base + "_" + k;
        resources.put(name, t);
        out.append("dense_resource<").append(type).append("> ").append(TextSyntax.symbol(name));
    }

    static String type(TensorType t) {
        if (!t.shape().ranked()) return t.dtype().textName() + "[*]";
        return t.dtype().textName() + t.shape().dims().collect(TextSyntax::dim).makeString("[", ",", "]");
    }
}
