package dev.qtag;

/**
 * The per-uid limit of tagged sockets (module parameter {@code max_sock_tags}) is reached; untagging or closing tagged sockets frees places. EMFILE.
 */
public class TagLimitException extends QtagException {
    private static final long serialVersionUID = 1L;

    /**
     * Made by the native library from the core's error.
     *
     * @param message what went wrong
     * @param errno the POSIX errno the core gives this error
     * @param code the errno's name, such as {@code "EPERM"}
     */
    public TagLimitException(String message, int errno, String code) {
        super(message, errno, code);
    }
}
