package dev.qtag;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.Objects;
import javax.net.SocketFactory;

/**
 * A {@link SocketFactory} whose sockets are tagged, before they connect, with the tag and
 * uid of the thread that creates them ({@link TrafficStats#tagSocket(Socket)}), so every
 * byte of the connection is billed to that tag. For HTTP clients that take a socket
 * factory (OkHttp's {@code socketFactory(...)}, for instance):
 *
 * <pre>{@code
 * OkHttpClient client = new OkHttpClient.Builder()
 *         .socketFactory(new TaggingSocketFactory())
 *         .build();
 * try (TagScope scope = TrafficStats.tagged(0x1002)) {
 *     client.newCall(request).execute();
 * }
 * }</pre>
 *
 * If tagging fails the socket is closed and the {@link QtagException} is thrown.
 */
public class TaggingSocketFactory extends SocketFactory {
    private final SocketFactory delegate;

    /** Tag the sockets of {@link SocketFactory#getDefault()}. */
    public TaggingSocketFactory() {
        this(SocketFactory.getDefault());
    }

    /**
     * Tag the sockets another factory makes; it must support {@link #createSocket()}
     * (unconnected sockets), as the tag is applied before connecting.
     *
     * @param delegate the factory that makes the sockets
     */
    public TaggingSocketFactory(SocketFactory delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    /**
     * An unconnected socket, already tagged.
     *
     * @return the socket
     * @throws IOException if the delegate fails, or a {@link QtagException} if tagging does
     */
    @Override
    public Socket createSocket() throws IOException {
        Socket socket = delegate.createSocket();
        try {
            TrafficStats.tagSocket(socket);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
        return socket;
    }

    private Socket connect(SocketAddress local, InetSocketAddress remote, String host) throws IOException {
        if (remote.isUnresolved()) {
            throw new UnknownHostException(host);
        }
        Socket socket = createSocket();
        try {
            if (local != null) {
                socket.bind(local);
            }
            socket.connect(remote);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
        return socket;
    }

    /**
     * A tagged socket connected to {@code host:port}.
     *
     * @param host the host name
     * @param port the port
     * @return the socket
     * @throws IOException if it cannot connect or be tagged
     */
    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return connect(null, new InetSocketAddress(host, port), host);
    }

    /**
     * A tagged socket bound to {@code localHost:localPort} and connected to {@code
     * host:port}.
     *
     * @param host the host name
     * @param port the port
     * @param localHost the local address
     * @param localPort the local port
     * @return the socket
     * @throws IOException if it cannot bind, connect or be tagged
     */
    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return connect(new InetSocketAddress(localHost, localPort), new InetSocketAddress(host, port), host);
    }

    /**
     * A tagged socket connected to {@code host:port}.
     *
     * @param host the address
     * @param port the port
     * @return the socket
     * @throws IOException if it cannot connect or be tagged
     */
    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return connect(null, new InetSocketAddress(host, port), String.valueOf(host));
    }

    /**
     * A tagged socket bound to {@code localAddress:localPort} and connected to {@code
     * address:port}.
     *
     * @param address the address
     * @param port the port
     * @param localAddress the local address
     * @param localPort the local port
     * @return the socket
     * @throws IOException if it cannot bind, connect or be tagged
     */
    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
            throws IOException {
        return connect(new InetSocketAddress(localAddress, localPort), new InetSocketAddress(address, port),
                String.valueOf(address));
    }
}
