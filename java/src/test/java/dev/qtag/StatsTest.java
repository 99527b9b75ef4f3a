package dev.qtag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Stats snapshots parsed by the core (no module needed). */
@Tag("host")
class StatsTest {
    static String row(int idx, String iface, String tag, int uid, int set, long base) {
        StringBuilder s = new StringBuilder(idx + " " + iface + " " + tag + " " + uid + " " + set);
        for (int i = 0; i < 16; i++) {
            s.append(' ').append(base + i);
        }
        return s.append('\n').toString();
    }

    static Stats parse(String... rows) throws Exception {
        return Stats.parse((Kernel.HEADER + "\n" + String.join("", rows)).getBytes(StandardCharsets.US_ASCII));
    }

    static final String[] EARLIER = {
        row(2, "lo", "0x0", 1000, 0, 100), row(3, "lo", "0x100100000000", 1000, 0, 10), row(4, "eth0", "0x0", 1000, 1, 1000),
    };

    @Test
    void sumsAndRows() throws Exception {
        try (Stats s = parse(EARLIER)) {
            assertEquals(List.of("rx_bytes", "rx_packets", "tx_bytes", "tx_packets"), Counters.NAMES.subList(0, 4));
            assertEquals(16, Counters.NAMES.size());
            Counters total = s.uidTotal(1000);
            assertEquals(1100, total.rxBytes());
            assertEquals(103 + 1003, total.txPackets());
            assertEquals(104 + 1004, total.get("rx_tcp_bytes"));
            assertEquals(10, s.sum(1000, 0x1001, "lo").rxBytes());
            assertEquals(100, s.sum(1000, 0, "lo", 0).rxBytes());
            assertTrue(s.sum(1000, 0, "lo", 1).isZero());
            assertTrue(s.sum(7, -1, null).isZero());
            List<Stats.Row> rows = s.rows();
            assertEquals(3, rows.size());
            assertEquals(new Stats.Row("lo", 0x1001, 1000, 0, s.sum(1000, 0x1001, null)), rows.get(1));
            assertEquals("eth0", rows.get(2).iface());
            assertTrue(rows.get(0).counters().toString().startsWith("Counters{rx_bytes=100, rx_packets=101"));
        }
    }

    @Test
    void deltaSince() throws Exception {
        try (Stats earlier = parse(EARLIER);
             Stats later = parse(row(2, "lo", "0x0", 1000, 0, 150), row(3, "lo", "0x100100000000", 1000, 0, 15),
                     row(4, "eth0", "0x0", 1000, 1, 1000), row(5, "lo", "0x100200000000", 1000, 0, 3));
             Stats run = later.deltaSince(earlier)) {
            assertEquals(50, run.uidTotal(1000).rxBytes());
            assertEquals(5, run.sum(1000, 0x1001, "lo").txBytes());
            assertEquals(3, run.sum(1000, 0x1002, "lo").rxBytes());
            assertTrue(run.sum(1000, 0, "eth0").isZero());
        }
    }

    @Test
    void malformedAndClosed() throws Exception {
        QtagException e = assertThrows(QtagException.class, () -> Stats.parse("idx nope\n".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("EIO", e.code());
        assertTrue(e.getMessage().startsWith("stats line 1"), e.getMessage());
        Stats s = parse(EARLIER);
        s.close();
        s.close();
        assertThrows(IllegalStateException.class, () -> s.uidTotal(1000));
        assertThrows(IllegalStateException.class, () -> s.deltaSince(s));
        assertThrows(NullPointerException.class, () -> Stats.parse(null));
        assertThrows(IllegalArgumentException.class, () -> parse(EARLIER).sum(-1, -1, null).get("nope"));
    }

    @Test
    void readWithoutTheModule() {
        org.junit.jupiter.api.Assumptions.assumeFalse(Kernel.loaded(), "the module is loaded here");
        assertThrows(ModuleNotLoadedException.class, Stats::read);
    }
}
