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

    /** The socket's descriptor, from /proc/self/fd: the newest socket link. */
    private static int fdOf(DatagramSocket sock) throws Exception {
        TrafficStats.tagDatagramSocket(sock);
        int best = -1;
        for (java.io.File f : new java.io.File("/proc/self/fd").listFiles()) {
            try {
                String target = java.nio.file.Files.readSymbolicLink(f.toPath()).toString();
                if (target.startsWith("socket:")) best = Math.max(best, Integer.parseInt(f.getName()));
            } catch (java.nio.file.NoSuchFileException e) {
                // the listing's own descriptor, closed by now
            }
        }
        return best;
    }
}
