package dev.kiln.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Collected figures; prints one table with the target and, where PyTorch measured the same thing, the ratio. */
final class Results {
    record Row(String name, double value, String unit, String target, String torchKey, boolean lowerIsBetter) {}

    private final List<Row> rows = new ArrayList<>();

    void add(String name, double value, String unit, String target, String torchKey, boolean lowerIsBetter) {
        rows.add(new Row(name, value, unit, target, torchKey, lowerIsBetter));
        System.out.printf("  %-46s %12.3f %s%n", name, value, unit);
    }

    void print(Map<String, Double> torch) {
        System.out.println();
        System.out.printf("%-46s %12s %-6s %-12s %12s %s%n", "figure", "kiln", "unit", "target", "torch", "kiln vs torch");
        for (Row r : rows) {
            Double t = r.torchKey() == null ? null : torch.get(r.torchKey());
            String ratio = "";
            if (t != null && t > 0) {
                double x = r.lowerIsBetter() ? t / r.value() : r.value() / t;
                ratio = String.format("%.2fx %s", x, x >= 1 ? "(kiln better or equal)" : "(torch better)");
            }
            System.out.printf("%-46s %12.3f %-6s %-12s %12s %s%n", r.name(), r.value(), r.unit(),
                    r.target() == null ? "" : r.target(), t == null ? "-" : String.format("%.3f", t), ratio);
        }
    }
}
