package dev.qtag;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** Loopback peers for the VM tests. */
final class Peers {
    static final InetAddress LO = InetAddress.getLoopbackAddress();

    private Peers() {}

    /** The reply size the server sends for a request of {@code n} bytes. */
    static int replySize(long n) {
        return (int) (2 * n + 100);
    }

    /**
     * A TCP server on 127.0.0.1: each connection's request is read to its end, then
     * {@link #replySize} bytes are sent back and the connection is closed.
     */
    static final class Server implements AutoCloseable {
        final ServerSocket socket;

        Server() throws IOException {
            socket = new ServerSocket(0, 64, LO);
            Thread t = new Thread(this::acceptLoop, "qtag-test-server");
            t.setDaemon(true);
            t.start();
        }

        InetSocketAddress address() {
            return new InetSocketAddress(LO, socket.getLocalPort());
        }

        private void acceptLoop() {
            while (!socket.isClosed()) {
                try {
                    Socket c = socket.accept();
                    Thread t = new Thread(() -> serve(c));
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        private static void serve(Socket c) {
            try (c) {
                long n = c.getInputStream().transferTo(OutputStream.nullOutputStream());
                c.getOutputStream().write(new byte[replySize(n)]);
            } catch (IOException e) {
                // the client's test fails on its own
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /**
     * Send {@code size} bytes on a connected socket, end the request, read the reply to
     * its end, close. Returns {rx, tx} payload bytes as the client saw them.
     */
    static long[] exchange(Socket s, int size) throws IOException {
        try (s) {
            OutputStream out = s.getOutputStream();
            out.write(new byte[size]);
            s.shutdownOutput();
            InputStream in = s.getInputStream();
            long read = in.transferTo(OutputStream.nullOutputStream());
            return new long[] {read, size};
        }
    }

    /** A virtual-thread-per-task executor, or null before Java 21. */
    static ExecutorService virtualThreads() {
        try {
            Method m = Executors.class.getMethod("newVirtualThreadPerTaskExecutor");
            return (ExecutorService) m.invoke(null);
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }

    static boolean isVirtual(Thread t) {
        try {
            return (Boolean) Thread.class.getMethod("isVirtual").invoke(t);
        } catch (ReflectiveOperationException e) {
            return false;
        }
    }
}
