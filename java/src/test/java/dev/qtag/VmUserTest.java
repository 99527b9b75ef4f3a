package dev.qtag;

import static dev.qtag.Kernel.counts;
import static dev.qtag.Kernel.eventually;
import static dev.qtag.Kernel.freshTag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Against the real module, as an unprivileged user (the VM suite runs this JVM via
 * setpriv): exact bytes per tag from the kernel's stats file, for every socket kind,
 * platform and virtual threads, the socket factory with HTTP, and the refused
 * impersonation.
 */
@Tag("vm-user")
class VmUserTest {
    static final int ME = Kernel.myUid();
    static DatagramSocket sink;
    static Peers.Server server;

    @BeforeAll
    static void peers() throws IOException {
        assertTrue(Kernel.loaded(), "the module is not loaded");
        assertNotEquals(0, ME, "run this class as an unprivileged user");
        sink = new DatagramSocket(0, Peers.LO);
        server = new Peers.Server();
    }

    @AfterAll
    static void close() throws IOException {
        sink.close();
        server.close();
    }

    @AfterEach
    void clear() {
        TrafficStats.clearThreadStatsTag();
        TrafficStats.clearThreadStatsUid();
    }

    static void send(DatagramSocket s, int size) throws IOException {
        s.send(new DatagramPacket(new byte[size], size, sink.getLocalSocketAddress()));
    }

    static void send(DatagramChannel c, int size) throws IOException {
        c.send(ByteBuffer.allocate(size), sink.getLocalSocketAddress());
    }

    static void expectUdp(int tag, int datagrams, int size) throws InterruptedException {
        eventually(Kernel.Counts.udpSent(datagrams, size), () -> counts(ME, tag), "tag " + Integer.toHexString(tag));
    }

    static void expectTcp(int tag, long[] payload, int syns) throws InterruptedException {
        eventually(payload, () -> counts(ME, tag).tcpPayload(syns), "tag " + Integer.toHexString(tag) + " {rx, tx}");
    }

    @Test
    void platformThreadsDatagramSockets() throws Exception {
        int[][] jobs = {{freshTag(), 7, 100}, {freshTag(), 5, 333}, {freshTag(), 9, 20}, {freshTag(), 3, 1200}};
        CyclicBarrier barrier = new CyclicBarrier(jobs.length);
        ExecutorService pool = Executors.newFixedThreadPool(jobs.length);
        List<Future<Object>> done = new ArrayList<>();
        for (int[] job : jobs) {
            done.add(pool.submit(() -> {
                TrafficStats.setThreadStatsTag(job[0]);
                barrier.await();
                try (DatagramSocket s = new DatagramSocket(0, Peers.LO)) {
                    TrafficStats.tagDatagramSocket(s);
                    for (int i = 0; i < 9; i++) {
                        barrier.await(); // every thread sends its i-th datagram in the same round
                        if (i < job[1]) {
                            send(s, job[2]);
                        }
                    }
                }
                assertEquals(job[0], TrafficStats.getThreadStatsTag());
                TrafficStats.clearThreadStatsTag();
                return null;
            }));
        }
        for (Future<Object> f : done) {
            f.get();
        }
        pool.shutdown();
        for (int[] job : jobs) {
            expectUdp(job[0], job[1], job[2]);
        }
    }

    @Test
    void virtualThreadsEachKeepTheirTag() throws Exception {
        ExecutorService vts = Peers.virtualThreads();
        assumeTrue(vts != null, "no virtual threads in Java " + Runtime.version());
        int n = 24;
        int[] tags = new int[n];
        List<Future<long[]>> done = new ArrayList<>();
        {
            ExecutorService ex = vts;
            for (int i = 0; i < n; i++) {
                int tag = tags[i] = freshTag();
                int k = i;
                Callable<long[]> job = () -> {
                    assertTrue(Peers.isVirtual(Thread.currentThread()));
                    try (TagScope scope = TrafficStats.tagged(tag)) {
                        Thread.sleep(20); // unmount: the carrier runs other virtual threads meanwhile
                        if (k % 2 == 0) {
                            try (DatagramChannel c = DatagramChannel.open()) {
                                TrafficStats.tagDatagramSocket(c);
                                for (int j = 0; j <= k % 5; j++) {
                                    Thread.sleep(5);
                                    send(c, 50 + k);
                                }
                            }
                            return null;
                        }
                        Socket s = new Socket(Peers.LO, server.socket.getLocalPort());
                        Thread.sleep(5);
                        TrafficStats.tagSocket(s);
                        assertEquals(tag, TrafficStats.getThreadStatsTag());
                        return Peers.exchange(s, 1000 * k);
                    }
                };
                done.add(ex.submit(job));
            }
            ex.shutdown();
        }
        for (int i = 0; i < n; i++) {
            long[] payload = done.get(i).get();
            if (payload == null) {
                expectUdp(tags[i], i % 5 + 1, 50 + i);
            } else {
                expectTcp(tags[i], payload, 0);
            }
        }
    }

    @Test
    void socketsTaggedAfterConnect() throws Exception {
        int[] tags = {freshTag(), freshTag(), freshTag()};
        ExecutorService pool = Executors.newFixedThreadPool(tags.length);
        List<Future<long[]>> done = new ArrayList<>();
        for (int i = 0; i < tags.length; i++) {
            int tag = tags[i];
            int size = 5000 * (i + 1);
            done.add(pool.submit(() -> {
                TrafficStats.setThreadStatsTag(tag);
                Socket s = new Socket(Peers.LO, server.socket.getLocalPort());
                TrafficStats.tagSocket(s);
                TrafficStats.clearThreadStatsTag();
                return Peers.exchange(s, size);
            }));
        }
        for (int i = 0; i < tags.length; i++) {
            expectTcp(tags[i], done.get(i).get(), 0);
        }
        pool.shutdown();
    }

    @Test
    void unconnectedSocketIsTaggedForItsWholeConnection() throws Exception {
        int tag = freshTag();
        Socket s = new Socket();
        try (TagScope scope = TrafficStats.tagged(tag)) {
            TrafficStats.tagSocket(s); // creates the descriptor; connect uses it
        }
        s.connect(server.address());
        expectTcp(tag, Peers.exchange(s, 4321), 1);
    }

    @Test
    void socketChannelAndItsAdaptor() throws Exception {
        int a = freshTag();
        int b = freshTag();
        SocketChannel c = SocketChannel.open(server.address());
        TrafficStats.setThreadStatsTag(a);
        TrafficStats.tagSocket(c);
        expectTcp(a, Peers.exchange(c.socket(), 3000), 0);
        SocketChannel d = SocketChannel.open(server.address());
        TrafficStats.setThreadStatsTag(b);
        TrafficStats.tagSocket(d.socket());
        expectTcp(b, Peers.exchange(d.socket(), 7000), 0);
        assertThrows(BadFileDescriptorException.class, () -> TrafficStats.tagSocket(c));
    }

    @Test
    void layeredTlsSocketTagsTheSocketUnderneath() throws Exception {
        int tag = freshTag();
        Socket plain = new Socket(Peers.LO, server.socket.getLocalPort());
        Socket tls = ((javax.net.ssl.SSLSocketFactory) javax.net.ssl.SSLSocketFactory.getDefault())
                .createSocket(plain, "localhost", server.socket.getLocalPort(), false);
        TrafficStats.setThreadStatsTag(tag);
        TrafficStats.tagSocket(tls);
        expectTcp(tag, Peers.exchange(plain, 2500), 0); // no TLS handshake: plain bytes underneath
        tls.close();
    }

    @Test
    void datagramChannelAndItsAdaptor() throws Exception {
        int a = freshTag();
        int b = freshTag();
        try (DatagramChannel c = DatagramChannel.open(); DatagramChannel d = DatagramChannel.open()) {
            TrafficStats.setThreadStatsTag(a);
            TrafficStats.tagDatagramSocket(c);
            TrafficStats.setThreadStatsTag(b);
            TrafficStats.tagDatagramSocket(d.socket());
            for (int i = 0; i < 4; i++) {
                send(c, 64);
                send(d, 640);
            }
        }
        expectUdp(a, 4, 64);
        expectUdp(b, 4, 640);
    }

    @Test
    void untagStopsBillingTheTag() throws Exception {
        int tag = freshTag();
        try (DatagramSocket s = new DatagramSocket(0, Peers.LO)) {
            TrafficStats.setThreadStatsTag(tag);
            TrafficStats.tagDatagramSocket(s);
            send(s, 10);
            send(s, 10);
            TrafficStats.untagDatagramSocket(s);
            send(s, 10);
            NotTaggedException e = assertThrows(NotTaggedException.class, () -> TrafficStats.untagDatagramSocket(s));
            assertEquals("EINVAL", e.code());
        }
        expectUdp(tag, 2, 10);
        assertEquals(List.of(), Kernel.taggedSockets(tag));
    }

    @Test
    void taggingSocketFactoryWithHttp() throws Exception {
        HttpServer http = HttpServer.create(new InetSocketAddress(Peers.LO, 0), 16);
        http.createContext("/", x -> {
            int size = Integer.parseInt(x.getRequestURI().getPath().substring(1));
            x.sendResponseHeaders(200, size);
            try (OutputStream out = x.getResponseBody()) {
                out.write(new byte[size]);
            }
        });
        http.start();
        try {
            TaggingSocketFactory factory = new TaggingSocketFactory();
            int[] tags = {freshTag(), freshTag()};
            ExecutorService pool = Executors.newFixedThreadPool(2);
            List<Future<long[]>> done = new ArrayList<>();
            for (int i = 0; i < tags.length; i++) {
                int tag = tags[i];
                int size = 20000 * (i + 1);
                done.add(pool.submit(() -> {
                    try (TagScope scope = TrafficStats.tagged(tag)) {
                        Socket s = factory.createSocket(Peers.LO, http.getAddress().getPort());
                        byte[] request = ("GET /" + size + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                                .getBytes(StandardCharsets.US_ASCII);
                        try (s) {
                            s.getOutputStream().write(request);
                            byte[] reply = s.getInputStream().readAllBytes();
                            String head = new String(reply, 0, 15, StandardCharsets.US_ASCII);
                            assertEquals("HTTP/1.1 200 OK", head);
                            assertTrue(reply.length > size);
                            return new long[] {reply.length, request.length};
                        }
                    }
                }));
            }
            for (int i = 0; i < tags.length; i++) {
                expectTcp(tags[i], done.get(i).get(), 1);
            }
            pool.shutdown();
        } finally {
            http.stop(0);
        }
    }

    @Test
    void impersonationIsRefusedAndNothingIsTagged() throws Exception {
        int tag = freshTag();
        try (DatagramSocket s = new DatagramSocket(0, Peers.LO); TagScope scope = TrafficStats.tagged(tag, ME + 1)) {
            QtagPermissionException e = assertThrows(QtagPermissionException.class, () -> TrafficStats.tagDatagramSocket(s));
            assertEquals("EPERM", e.code());
            assertTrue(e.getMessage().contains("MODIFY_NETWORK_ACCOUNTING"), e.getMessage());
            assertTrue(e instanceof java.net.SocketException);
            assertEquals(List.of(), Kernel.taggedSockets(tag));
            send(s, 30);
            assertThrows(QtagPermissionException.class,
                    () -> new TaggingSocketFactory().createSocket(server.address().getAddress(), server.address().getPort()));
        }
        // The datagram went out billed to its owner without the tag.
        Thread.sleep(200);
        assertEquals(Kernel.Counts.ZERO, counts(ME, tag));
        assertEquals(Kernel.Counts.ZERO, counts(ME + 1, tag));
        // Billing yourself explicitly is no impersonation.
        try (DatagramSocket s = new DatagramSocket(0, Peers.LO); TagScope scope = TrafficStats.tagged(tag, ME)) {
            TrafficStats.tagDatagramSocket(s);
            send(s, 30);
        }
        expectUdp(tag, 1, 30);
    }

    @Test
    void statsSnapshotsAgreeWithTheFile() throws Exception {
        int tag = freshTag();
        Kernel.Counts sent = new Kernel.Counts(0, 0, 200 + 300 + 2 * Kernel.UDP_HDR, 2);
        try (Stats before = Stats.read()) {
            try (DatagramSocket s = new DatagramSocket(0, Peers.LO); TagScope scope = TrafficStats.tagged(tag)) {
                TrafficStats.tagDatagramSocket(s);
                send(s, 200);
                send(s, 300);
            }
            eventually(sent, () -> counts(ME, tag), "the stats file");
            try (Stats now = Stats.read(); Stats run = now.deltaSince(before)) {
                Counters c = run.sum(ME, tag, "lo");
                assertEquals(sent, new Kernel.Counts(c.rxBytes(), c.rxPackets(), c.txBytes(), c.txPackets()));
                assertEquals(c, now.sum(ME, tag, null));
                assertTrue(now.rows().stream().anyMatch(r -> r.tag() == tag && r.uid() == ME && r.iface().equals("lo")));
            }
        }
    }

    @Test
    void getters() throws Exception {
        try (DatagramSocket s = new DatagramSocket(0, Peers.LO)) {
            send(s, 500);
        }
        assertTrue(TrafficStats.getUidTxBytes(ME) >= 528, "getUidTxBytes");
        assertTrue(TrafficStats.getUidTxPackets(ME) >= 1, "getUidTxPackets");
        assertTrue(TrafficStats.getUidRxBytes(ME) >= 0, "getUidRxBytes");
        assertTrue(TrafficStats.getTotalTxBytes() >= 528, "getTotalTxBytes");
        assertTrue(TrafficStats.getTxBytes("lo") >= 528, "getTxBytes(lo)");
        assertTrue(TrafficStats.getRxPackets("lo") >= 1, "getRxPackets(lo)");
        assertEquals(TrafficStats.UNSUPPORTED, TrafficStats.getTxBytes("nope0"));
        assertEquals(TrafficStats.UNSUPPORTED, TrafficStats.getUidRxBytes(ME + 1));
    }

    @Test
    void unprivilegedCounterSetIsRefused() {
        assertThrows(QtagPermissionException.class, () -> TrafficStats.setCounterSet(TrafficStats.COUNTER_SET_FOREGROUND, -1));
        assertThrows(QtagPermissionException.class, () -> TrafficStats.deleteTagData(0, ME + 1));
    }
}
