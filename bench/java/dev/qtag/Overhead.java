package dev.qtag;

import java.io.FileOutputStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;

/**
 * Java binding overhead: qtag's calls vs the cheapest JNI call into the same library
 * and a raw write of the same ctrl command. {@code Overhead ROUNDS CALLS} prints one JSON
 * object of nanoseconds per call, one number per round (variants interleaved). In
 * package dev.qtag to reach {@link Native} (run with the jar on the class path).
 */
public final class Overhead {
    private static long sink;

    interface Body {
        void run(int calls) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        int rounds = Integer.parseInt(args[0]);
        int calls = Integer.parseInt(args[1]);
        DatagramSocket sock = new DatagramSocket(0, InetAddress.getLoopbackAddress());
        // The descriptor number for the raw command: tag once, read it from the listing.
        FileOutputStream ctrl = new FileOutputStream("/proc/net/xt_qtaguid/ctrl");
        TrafficStats.setThreadStatsTag(0x1001);
        // Exactly what tagDatagramSocket sends (libcutils' "t <fd> <tag<<32> <uid>", uid -1:
        // the caller's own): the kernel parses the uid field too.
        byte[] cmd = ("t " + fdOf(sock) + " " + (0x1001L << 32) + " -1").getBytes(StandardCharsets.US_ASCII);
        String[] names = {"native_call", "set_tag", "get_tag", "tag_socket", "raw_write", "empty"};
        Body[] bodies = {
            n -> { for (int i = 0; i < n; i++) if (Native.tagName(5) != null) sink++; },
            n -> { for (int i = 0; i < n; i++) TrafficStats.setThreadStatsTag(0x1001); },
            n -> { for (int i = 0; i < n; i++) sink += TrafficStats.getThreadStatsTag(); },
            n -> { for (int i = 0; i < n; i++) TrafficStats.tagDatagramSocket(sock); },
            n -> { for (int i = 0; i < n; i++) ctrl.write(cmd); },
            n -> { for (int i = 0; i < n; i++) sink += i; },
        };
        StringBuilder[] out = new StringBuilder[names.length];
        for (int v = 0; v < names.length; v++) out[v] = new StringBuilder();
        for (int r = -1; r < rounds; r++) {  // round -1 warms the JIT up and is not reported
            for (int v = 0; v < names.length; v++) {
                long t = System.nanoTime();
                bodies[v].run(calls);
                double ns = (double) (System.nanoTime() - t) / calls;
                if (r >= 0) out[v].append(out[v].length() == 0 ? "" : ", ").append(String.format("%.1f", ns));
            }
        }
        StringBuilder json = new StringBuilder("{");
        for (int v = 0; v < names.length; v++) {
            json.append(v == 0 ? "" : ", ").append('"').append(names[v]).append("_ns\": [").append(out[v]).append(']');
        }
        System.out.println(json.append('}'));
        sock.close();
        ctrl.close();
        if (sink == 42) System.err.println(sink);
    }

    /**
     * The socket's descriptor: its inode from /proc/net/udp{,6} by local port, then the
     * /proc/self/fd link to that inode. (The JVM opens sockets of its own, so "the newest
     * socket" may be a netlink or unix one, which the kernel refuses to tag.)
     */
    private static int fdOf(DatagramSocket sock) throws Exception {
        String port = String.format(":%04X", sock.getLocalPort());
        String inode = null;
        for (String table : new String[] {"/proc/net/udp", "/proc/net/udp6"}) {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of(table))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 9 && f[1].endsWith(port)) inode = f[9];
            }
        }
        if (inode == null) throw new IllegalStateException("socket not in /proc/net/udp: port" + port);
        String target = "socket:[" + inode + "]";
        for (java.io.File f : new java.io.File("/proc/self/fd").listFiles()) {
            try {
                if (java.nio.file.Files.readSymbolicLink(f.toPath()).toString().equals(target)) {
                    return Integer.parseInt(f.getName());
                }
            } catch (java.nio.file.NoSuchFileException e) {
                // the listing's own descriptor, closed by now
            }
        }
        throw new IllegalStateException("no descriptor links to " + target);
    }
}
