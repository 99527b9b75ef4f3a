package dev.qtag;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Loads {@code libqtag_jni.so} from the jar: {@code dev/qtag/native/linux-<os.arch>/} is
 * copied to a temporary file, which is {@code System.load}ed and deleted right away (the
 * loaded mapping stays valid on Linux). The system property {@code qtag.native.library}
 * names a library file to load instead.
 */
final class NativeLibrary {
    static final String NAME = "libqtag_jni.so";

    private NativeLibrary() {}

    static String resourcePath() {
        return "/dev/qtag/native/linux-" + System.getProperty("os.arch") + "/" + NAME;
    }

    static void load() {
        String override = System.getProperty("qtag.native.library");
        if (override != null) {
            System.load(override);
            return;
        }
        if (!System.getProperty("os.name", "").equals("Linux")) {
            throw new UnsatisfiedLinkError("qtag runs on Linux only (this is " + System.getProperty("os.name") + ")");
        }
        String resource = resourcePath();
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new UnsatisfiedLinkError("qtag: the jar has no " + resource
                        + " (built for another architecture?); set -Dqtag.native.library=/path/to/" + NAME);
            }
            Path tmp = Files.createTempFile("libqtag_jni", ".so");
            try {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                System.load(tmp.toAbsolutePath().toString());
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            UnsatisfiedLinkError error = new UnsatisfiedLinkError("qtag: cannot extract " + resource
                    + " into java.io.tmpdir (" + System.getProperty("java.io.tmpdir") + "): " + e);
            error.initCause(e);
            throw error;
        }
    }
}
