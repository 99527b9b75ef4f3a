package dev.qtag;

import java.net.SocketException;

/**
 * Base class of every error qtag reports; a {@link SocketException}, as Android's
 * {@code TrafficStats.tagSocket} throws. Subclasses name the cause so callers can catch
 * precisely; this class itself is used for I/O errors and malformed {@code /proc} files.
 * {@link #errno()} and {@link #code()} come from the Rust core, which maps kernel errors
 * once for every language.
 */
public class QtagException extends SocketException {
    private static final long serialVersionUID = 1L;

    /** The POSIX errno. */
    private final int errno;
    /** The errno's name. */
    private final String code;

    /**
     * Made by the native library from the core's error.
     *
     * @param message what went wrong
     * @param errno the POSIX errno the core gives this error
     * @param code the errno's name, such as {@code "EPERM"}
     */
    public QtagException(String message, int errno, String code) {
        super(message);
        this.errno = errno;
        this.code = code;
    }

    /**
     * The POSIX errno of this error (for example 1 for EPERM, 9 for EBADF).
     *
     * @return the errno
     */
    public int errno() {
        return errno;
    }

    /**
     * The symbolic name of {@link #errno()}: {@code "EPERM"}, {@code "EBADF"}, ...
     *
     * @return the errno's name
     */
    public String code() {
        return code;
    }
}
