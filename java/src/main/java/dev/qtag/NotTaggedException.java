package dev.qtag;

/**
 * Untagging a socket that carries no tag. EINVAL.
 */
public class NotTaggedException extends QtagException {
    private static final long serialVersionUID = 1L;

    /**
     * Made by the native library from the core's error.
     *
     * @param message what went wrong
     * @param errno the POSIX errno the core gives this error
     * @param code the errno's name, such as {@code "EPERM"}
     */
    public NotTaggedException(String message, int errno, String code) {
        super(message, errno, code);
    }
}
