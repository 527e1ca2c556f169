package dev.kiln.profile;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** The text and HTML renderings of a synthetic profile (no GPU needed). */
class ProfileReportTest {
    static final Profile P = ProfileFixtures.bertLike(12, 1);

    @Test void roofLineFiguresFollowFromTimeFlopsAndBytes() {
        for (Profile.Kernel k : P.kernels()) {
            if (!k.costKnown()) continue;
            double bound = Math.max(k.flops() / (k.peakTFlops() * 1e12), k.bytes() / (k.peakGBs() * 1e9)) * 1e3;
            assertEquals(100 * bound / k.ms(), k.rooflinePercent(), 1e-9);
            assertEquals(k.flops() / (k.ms() * 1e-3) / 1e12, k.tflops(), 1e-12);
            assertEquals(k.computeBound(), k.flops() / (k.peakTFlops() * 1e12) > k.bytes() / (k.peakGBs() * 1e9));
        }
    }

    @Test void textListsTheSlowestFirstAndTotals() {
        int top = 7;
        String t = P.text(top);
        Pattern row = Pattern.compile("^\\s*(\\d+)\\s+([0-9.]+)\\s+[0-9.]+%", Pattern.MULTILINE);
        Matcher m = row.matcher(t);
        List<Double> times = new java.util.ArrayList<>();
        List<Integer> launches = new java.util.ArrayList<>();
        while (m.find()) {
            launches.add(Integer.parseInt(m.group(1)));
            times.add(Double.parseDouble(m.group(2)));
        }
        assertEquals(top, times.size(), t);
        List<Profile.Kernel> slowest = P.byTime().subList(0, top);
        assertEquals(slowest.stream().map(Profile.Kernel::launch).toList(), launches);
        for (int i = 1; i < times.size(); i++) assertTrue(times.get(i - 1) >= times.get(i), "sorted by time");
        assertTrue(t.contains(String.format(java.util.Locale.ROOT, "total: %d launches; sum of kernel times %.3f ms; whole graph replay %.3f ms",
                P.kernels().size(), P.totalKernelMs(), P.graphMs())), t);
        assertTrue(t.contains("1 launch with no IR node"), "the launch with no node is counted");
    }

    @Test void htmlHasEveryLaunchAndAChartThatParses() throws Exception {
        String html = P.html();
        assertEquals(P.kernels().size(), count(html, "<tr>") - 1, "one row per launch plus the header");
        assertFalse(html.contains("<test>"), "names are escaped");
        assertTrue(html.contains("bert-base &lt;test&gt; &amp; co"));
        assertFalse(html.contains("http://") && !html.contains("xmlns=\"http://www.w3.org/2000/svg\""), "nothing fetched from the network");
        assertFalse(html.contains("<script src") || html.contains("<link"), "self-contained");
        String svg = html.substring(html.indexOf("<svg"), html.indexOf("</svg>") + 6);
        Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
        NodeList circles = d.getElementsByTagName("circle");
        long plotted = P.kernels().stream().filter(k -> k.costKnown() && k.flops() > 0).count();
        int points = 0;
        for (int i = 0; i < circles.getLength(); i++) {
            Element c = (Element) circles.item(i);
            if (!"pt".equals(c.getAttribute("class"))) continue;
            points++;
            double x = Double.parseDouble(c.getAttribute("cx")), y = Double.parseDouble(c.getAttribute("cy"));
            assertTrue(x >= ProfileHtml.LEFT && x <= ProfileHtml.W - ProfileHtml.RIGHT && y >= ProfileHtml.TOP && y <= ProfileHtml.H - ProfileHtml.BOTTOM,
                    "point inside the plot: " + x + "," + y);
            assertTrue(c.getElementsByTagName("title").item(0).getTextContent().contains("TFLOP/s"), "tooltip");
        }
        assertEquals(plotted, points);
        assertEquals(2, d.getElementsByTagName("polyline").getLength(), "f16 tensor-core and f32 ceilings");
        Path out = Path.of("target", "profile-fixture.html"); // to look at in a browser
        Files.createDirectories(out.getParent());
        Files.writeString(out, html);
    }

    @Test void aKernelOnTheRooflineSitsOnItsCeilingLine() {
        // a compute-bound kernel at exactly its bound lies at 100%, one at half the speed at 50%
        var k = P.kernels().get(0);
        var atBound = new Profile.Kernel(0, "e", "", "v", "matmul", "f16", true, "1", "1", k.boundMs(), k.boundMs(), k.flops(), k.bytes(),
                k.peakTFlops(), k.peakGBs());
        assertEquals(100, atBound.rooflinePercent(), 1e-9);
        var half = new Profile.Kernel(0, "e", "", "v", "matmul", "f16", true, "1", "1", 2 * k.boundMs(), k.boundMs(), k.flops(), k.bytes(),
                k.peakTFlops(), k.peakGBs());
        assertEquals(50, half.rooflinePercent(), 1e-9);
    }

    private static int count(String s, String sub) {
        int n = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + 1)) n++;
        return n;
    }
}
