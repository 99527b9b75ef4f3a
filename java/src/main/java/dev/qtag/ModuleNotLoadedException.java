package dev.qtag;

/**
 * The {@code xt_qtaguid} kernel module is not loaded ({@code /proc/net/xt_qtaguid} is missing); the message says how to load it. ENOENT.
 */
public class ModuleNotLoadedException extends QtagException {
    private static final long serialVersionUID = 1L;

    /**
     * Made by the native library from the core's error.
     *
     * @param message what went wrong
     * @param errno the POSIX errno the core gives this error
     * @param code the errno's name, such as {@code "EPERM"}
     */
    public ModuleNotLoadedException(String message, int errno, String code) {
        super(message, errno, code);
    }
}
