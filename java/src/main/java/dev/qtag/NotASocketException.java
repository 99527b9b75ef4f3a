package dev.qtag;

/**
 * The descriptor is open but is not a socket. ENOTSOCK.
 */
public class NotASocketException extends QtagException {
    private static final long serialVersionUID = 1L;

    /**
     * Made by the native library from the core's error.
     *
     * @param message what went wrong
     * @param errno the POSIX errno the core gives this error
     * @param code the errno's name, such as {@code "EPERM"}
     */
    public NotASocketException(String message, int errno, String code) {
        super(message, errno, code);
    }
}
