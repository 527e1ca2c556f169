package dev.kiln.frontend;

import dev.kiln.ir.Attr;
import dev.kiln.ir.Value;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One ONNX node as the importer hands it to {@link OpsetUpgrades}: inputs already resolved to IR values,
 * attributes converted, outputs still names ("" for an unused optional output).
 */
record OnnxNode(String op, List<Value> inputs, Map<String, Attr> attrs, List<String> outputs, String origin, long opset) {

    Value input(int i) { return i < inputs.size() ? inputs.get(i) : Value.NONE; }

    Attr attr(String name) { return attrs.get(name); }

    OnnxNode withOp(String newOp) { return new OnnxNode(newOp, inputs, attrs, outputs, origin, opset); }

    OnnxNode withInputs(List<Value> in) { return new OnnxNode(op, in, attrs, outputs, origin, opset); }

    OnnxNode withAttrs(Map<String, Attr> a) { return new OnnxNode(op, inputs, a, outputs, origin, opset); }

    /** A copy without the named attributes. */
    OnnxNode without(String... names) {
        Map<String, Attr> a = new HashMap<>(attrs);
        for (String n : names) a.remove(n);
        return withAttrs(a);
    }

    OnnxNode with(String name, Attr value) {
        Map<String, Attr> a = new HashMap<>(attrs);
        a.put(name, value);
        return withAttrs(a);
    }
}
