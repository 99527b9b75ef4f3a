package dev.qtag;

/**
 * An argument out of range (such as a counter set other than 0 or 1), or a command the kernel rejected. EINVAL.
 */
public class QtagInvalidArgumentException extends QtagException {
    private static final long serialVersionUID = 1L;

    /**
     * Made by the native library from the core's error.
     *
     * @param message what went wrong
     * @param errno the POSIX errno the core gives this error
     * @param code the errno's name, such as {@code "EPERM"}
     */
    public QtagInvalidArgumentException(String message, int errno, String code) {
        super(message, errno, code);
    }
}
