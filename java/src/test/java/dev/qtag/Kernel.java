package dev.qtag;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/** The module's files read without qtag, as the independent truth of the VM tests. */
final class Kernel {
    static final Path PROC = Path.of("/proc/net/xt_qtaguid");
    static final String HEADER = "idx iface acct_tag_hex uid_tag_int cnt_set rx_bytes rx_packets tx_bytes tx_packets"
            + " rx_tcp_bytes rx_tcp_packets rx_udp_bytes rx_udp_packets rx_other_bytes rx_other_packets"
            + " tx_tcp_bytes tx_tcp_packets tx_udp_bytes tx_udp_packets tx_other_bytes tx_other_packets";
    /** IPv4 + UDP header bytes. */
    static final int UDP_HDR = 28;
    /** IPv4 + TCP header with timestamps, every segment after the handshake. */
    static final int TCP_HDR = 52;
    /** What a SYN or SYN-ACK carries beyond TCP_HDR (MSS and window scale options). */
    static final int SYN_EXTRA = 8;

    private static int nextTag = 0x4a000000 + (int) (ProcessHandle.current().pid() & 0xffff) * 0x100;

    private Kernel() {}

    static boolean loaded() {
        return Files.exists(PROC.resolve("ctrl"));
    }

    /** A tag no other test (or earlier run) used. */
    static synchronized int freshTag() {
        return ++nextTag;
    }

    /** rx_bytes, rx_packets, tx_bytes, tx_packets of a (uid, tag), over every iface and set. */
    record Counts(long rxBytes, long rxPackets, long txBytes, long txPackets) {
        static final Counts ZERO = new Counts(0, 0, 0, 0);

        static Counts udpSent(int datagrams, int size) {
            return new Counts(0, 0, (long) datagrams * (size + UDP_HDR), datagrams);
        }

        /** Payload bytes of TCP segments: bytes minus the headers (SYNs: their options too). */
        long[] tcpPayload(int syns) {
            return new long[] {rxBytes - TCP_HDR * rxPackets - SYN_EXTRA * syns,
                txBytes - TCP_HDR * txPackets - SYN_EXTRA * syns};
        }
    }

    static Counts counts(int uid, int tag) {
        return counts(uid, tag, -1);
    }

    /** As {@link #counts(int, int)} in one counter set ({@code -1}: all). */
    static Counts counts(int uid, int tag, int set) {
        long[] sum = new long[4];
        List<String> lines;
        try {
            lines = Files.readAllLines(PROC.resolve("stats"));
        } catch (IOException e) {
            throw new AssertionError("cannot read stats: " + e, e);
        }
        assertEquals(HEADER, lines.get(0));
        for (int i = 1; i < lines.size(); i++) {
            String[] f = lines.get(i).split(" ");
            assertEquals(21, f.length, lines.get(i));
            assertEquals(i + 1, Integer.parseInt(f[0]), lines.get(i));
            long acct = Long.parseUnsignedLong(f[2].substring(2), 16);
            long rowTag = (acct >>> 32) != 0 ? acct >>> 32 : acct;
            if (rowTag == Integer.toUnsignedLong(tag) && Long.parseLong(f[3]) == Integer.toUnsignedLong(uid)
                    && (set == -1 || Integer.parseInt(f[4]) == set)) {
                for (int j = 0; j < 4; j++) {
                    sum[j] += Long.parseLong(f[5 + j]);
                }
            }
        }
        return new Counts(sum[0], sum[1], sum[2], sum[3]);
    }

    /** The ctrl listing's lines of sockets tagged with {@code tag}. */
    static List<String> taggedSockets(int tag) throws IOException {
        String needle = "tag=0x" + Long.toHexString(Integer.toUnsignedLong(tag) << 32) + " ";
        return Files.readAllLines(PROC.resolve("ctrl")).stream().filter(l -> l.contains(needle)).toList();
    }

    /**
     * Poll until {@code read} gives {@code expected} (traffic is counted as it passes, a
     * receiver may lag behind the sender), at most 10 s; then compare.
     */
    static <T> void eventually(T expected, Supplier<T> read, String what) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        T got = read.get();
        while (!equal(expected, got) && System.nanoTime() < end) {
            Thread.sleep(50);
            got = read.get();
        }
        if (expected instanceof long[] e) {
            assertEquals(Arrays.toString(e), Arrays.toString((long[]) got), what);
        } else {
            assertEquals(expected, got, what);
        }
    }

    private static boolean equal(Object a, Object b) {
        return a instanceof long[] x && b instanceof long[] y ? Arrays.equals(x, y) : a.equals(b);
    }

    static int myUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
