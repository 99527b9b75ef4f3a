package dev.qtag;

import static dev.qtag.Kernel.counts;
import static dev.qtag.Kernel.eventually;
import static dev.qtag.Kernel.freshTag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Against the real module as root: billing other uids, counter sets, delete, module reload. */
@Tag("vm-root")
class VmRootTest {
    static final int OTHER = 4321;

    @BeforeAll
    static void root() {
        assertTrue(Kernel.loaded(), "the module is not loaded");
        assertEquals(0, Kernel.myUid(), "run this class as root");
    }

    @AfterEach
    void clear() {
        TrafficStats.clearThreadStatsTag();
        TrafficStats.clearThreadStatsUid();
    }

    static void sendTagged(int datagrams, int size) throws IOException {
        try (DatagramSocket sink = new DatagramSocket(0, Peers.LO); DatagramSocket s = new DatagramSocket(0, Peers.LO)) {
            TrafficStats.tagDatagramSocket(s);
            for (int i = 0; i < datagrams; i++) {
                s.send(new DatagramPacket(new byte[size], size, sink.getLocalSocketAddress()));
            }
        }
    }

    static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).inheritIO().start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", command));
        assertEquals(0, p.exitValue(), String.join(" ", command));
    }

    @Test
    void billingAnotherUid() throws Exception {
        int tag = freshTag();
        try (TagScope scope = TrafficStats.tagged(tag, OTHER)) {
            sendTagged(5, 111);
        }
        eventually(Kernel.Counts.udpSent(5, 111), () -> counts(OTHER, tag), "uid " + OTHER);
        assertEquals(Kernel.Counts.ZERO, counts(0, tag));
        assertEquals(counts(OTHER, 0).txBytes(), TrafficStats.getUidTxBytes(OTHER), "getUidTxBytes of the billed uid");
    }

    @Test
    void counterSetsAndDeleteTagData() throws Exception {
        int tag = freshTag();
        int uid = OTHER + 1;
        TrafficStats.setCounterSet(TrafficStats.COUNTER_SET_FOREGROUND, uid);
        try (TagScope scope = TrafficStats.tagged(tag, uid)) {
            sendTagged(3, 40);
        }
        TrafficStats.setCounterSet(TrafficStats.COUNTER_SET_DEFAULT, uid);
        eventually(Kernel.Counts.udpSent(3, 40), () -> counts(uid, tag, 1), "foreground set");
        assertEquals(Kernel.Counts.ZERO, counts(uid, tag, 0));
        TrafficStats.deleteTagData(tag, uid);
        assertEquals(Kernel.Counts.ZERO, counts(uid, tag));
        assertEquals(Kernel.Counts.udpSent(3, 40), counts(uid, 0));
        TrafficStats.resetKernelUidStats(uid);
        assertEquals(Kernel.Counts.ZERO, counts(uid, 0));
    }

    @Test
    void tagLimit() throws Exception {
        Path param = Path.of("/sys/module/xt_qtaguid/parameters/max_sock_tags");
        String before = Files.readString(param).trim();
        Files.writeString(param, "2");
        try (DatagramSocket a = new DatagramSocket(); DatagramSocket b = new DatagramSocket();
             DatagramSocket c = new DatagramSocket(); TagScope scope = TrafficStats.tagged(freshTag(), OTHER + 2)) {
            TrafficStats.tagDatagramSocket(a);
            TrafficStats.tagDatagramSocket(b);
            TagLimitException e = assertThrows(TagLimitException.class, () -> TrafficStats.tagDatagramSocket(c));
            assertEquals("EMFILE", e.code());
            assertTrue(e.getMessage().contains("max_sock_tags"), e.getMessage());
            TrafficStats.untagDatagramSocket(a);
            TrafficStats.tagDatagramSocket(c); // untagging freed a place
        } finally {
            Files.writeString(param, before);
        }
    }

    @Test
    void moduleNotLoadedThenReloaded() throws Exception {
        String ko = System.getenv("QTAG_KO");
        assertTrue(ko != null, "QTAG_KO not set");
        int tag = freshTag();
        run("rmmod", "xt_qtaguid");
        try {
            assertFalse(Kernel.loaded());
            try (DatagramSocket s = new DatagramSocket(0, Peers.LO); TagScope scope = TrafficStats.tagged(tag)) {
                ModuleNotLoadedException e = assertThrows(ModuleNotLoadedException.class, () -> TrafficStats.tagDatagramSocket(s));
                assertTrue(e.getMessage().startsWith("the xt_qtaguid kernel module is not loaded"), e.getMessage());
                assertTrue(e.getMessage().contains("sudo modprobe xt_qtaguid"), e.getMessage());
                assertEquals(2, e.errno());
                assertEquals("ENOENT", e.code());
            }
            assertEquals(TrafficStats.UNSUPPORTED, TrafficStats.getUidTxBytes(0));
            assertEquals(TrafficStats.UNSUPPORTED, TrafficStats.getTotalRxBytes());
        } finally {
            run("insmod", ko);
        }
        // The same process tags again after the reload.
        try (TagScope scope = TrafficStats.tagged(tag)) {
            sendTagged(2, 99);
        }
        eventually(Kernel.Counts.udpSent(2, 99), () -> counts(0, tag), "after reload");
    }
}
