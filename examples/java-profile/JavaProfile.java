// java-profile: an app that profiles its own network traffic per category with qtag (api
// 0x1001, images 0x1002, telemetry 0x1003) and prints a table from the kernel's counters.
// One file, so `java -cp qtag.jar JavaProfile.java` runs it without a build; see README.md.

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import dev.qtag.Counters;
import dev.qtag.ModuleNotLoadedException;
import dev.qtag.QtagPermissionException;
import dev.qtag.Stats;
import dev.qtag.TagScope;
import dev.qtag.TaggingSocketFactory;
import dev.qtag.TrafficStats;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

public final class JavaProfile {
    static final String USAGE = """
            usage: java-profile [--json] [--svg PATH] [--cumulative]

            Profiles this program's own traffic per category (api 0x1001, images 0x1002,
            telemetry 0x1003) with the xt_qtaguid kernel module and prints a table.

              --json        print the table as JSON (for scripts and tests)
              --svg PATH    where to write the bar chart (a file, or a folder to put profile.svg
                            in; default: profile.svg in the current folder)
              --cumulative  show the counters since the module was loaded, not just this run's

            exit codes: 0 ok, 1 error, 2 usage, 3 kernel module not loaded, 4 permission denied""";

    record Category(String name, int tag) {}

    static final Category API = new Category("api", 0x1001);             // small JSON calls, keep-alive
    static final Category IMAGES = new Category("images", 0x1002);       // a few large downloads
    static final Category TELEMETRY = new Category("telemetry", 0x1003); // event batches POSTed to a sink
    static final List<Category> CATEGORIES = List.of(API, IMAGES, TELEMETRY);

    static final int API_THREADS = 4, API_CONNECTIONS = 3, API_CALLS = 20;
    static final int IMAGE_THREADS = 2, IMAGES_PER_THREAD = 3;
    static final int TELEMETRY_THREADS = 2, UPLOADS_PER_THREAD = 12, EVENTS_PER_UPLOAD = 200;

    static void log(String msg) {
        System.err.println("java-profile: " + msg);
    }

    // ---- the two local servers (untagged: their traffic is the uid's untagged remainder) ----

    /** Image n is 512 KiB + (n mod 6) x 256 KiB of noise (incompressible, like JPEG). */
    static int imageSize(int n) {
        return (512 + 256 * (n % 6)) * 1024;
    }

    static final byte[] NOISE = noise();

    static byte[] noise() {
        byte[] b = new byte[imageSize(5)];
        long x = 0x9E3779B97F4A7C15L;
        for (int i = 0; i < b.length; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b[i] = (byte) x;
        }
        return b;
    }

    static void answer(HttpExchange x, int status, String type, byte[] body) throws IOException {
        x.getResponseHeaders().set("Content-Type", type);
        x.sendResponseHeaders(status, body.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(body);
        }
    }

    static void json(HttpExchange x, int status, String body) throws IOException {
        answer(x, status, "application/json", body.getBytes(StandardCharsets.UTF_8));
    }

    static void content(HttpExchange x) throws IOException {
        String path = x.getRequestURI().getPath();
        if (path.startsWith("/api/items/")) {
            String id = path.substring("/api/items/".length());
            json(x, 200, "{\"id\":" + id + ",\"name\":\"item " + id + "\",\"price\":" + id.length() * 7
                    + ".99,\"tags\":[\"new\",\"sale\"],\"stock\":" + id.length() * 13
                    + ",\"updated\":\"2026-01-01T00:00:00Z\"}");
        } else if (path.matches("/images/\\d+\\.jpg")) {
            int n = Integer.parseInt(path.substring(8, path.length() - 4));
            answer(x, 200, "image/jpeg", java.util.Arrays.copyOf(NOISE, imageSize(n)));
        } else {
            json(x, 404, "{\"error\":\"not found\"}");
        }
    }

    static void telemetry(HttpExchange x) throws IOException {
        byte[] body = x.getRequestBody().readAllBytes();
        if (!x.getRequestMethod().equals("POST") || !x.getRequestURI().getPath().equals("/v1/events")) {
            json(x, 404, "{\"error\":\"not found\"}");
            return;
        }
        int events = 0;
        for (byte b : body) {
            events += b == '\n' ? 1 : 0;
        }
        json(x, 202, "{\"accepted\":" + events + "}");
    }

    static HttpServer start(HttpHandler handler) throws IOException {
        // Small responses go out at once instead of waiting for the client's delayed ACK.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.createContext("/", handler);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
        return server;
    }

    // ---- a minimal HTTP/1.1 client over the tagging socket factory ----

    static final TaggingSocketFactory SOCKETS = new TaggingSocketFactory();

    /** One keep-alive connection, tagged (before it connects) with the thread's tag. */
    static final class Client implements AutoCloseable {
        final Socket socket;
        final InputStream in;
        final OutputStream out;

        Client(InetSocketAddress server) throws IOException {
            socket = SOCKETS.createSocket(server.getAddress(), server.getPort());
            socket.setTcpNoDelay(true);
            in = new java.io.BufferedInputStream(socket.getInputStream());
            out = socket.getOutputStream();
        }

        String line() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int c; (c = in.read()) != '\n'; ) {
                if (c < 0) {
                    throw new IOException("connection closed mid-response");
                }
                b.write(c);
            }
            return b.toString(StandardCharsets.ISO_8859_1).strip();
        }

        byte[] request(String method, String path, byte[] body) throws IOException {
            String head = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: qtag-java-profile\r\n"
                    + (body.length > 0 ? "Content-Type: application/x-ndjson\r\n" : "")
                    + "Content-Length: " + body.length + "\r\n\r\n";
            ByteArrayOutputStream request = new ByteArrayOutputStream();
            request.writeBytes(head.getBytes(StandardCharsets.ISO_8859_1));
            request.writeBytes(body);
            out.write(request.toByteArray()); // one write: no Nagle wait between head and body
            String status = line();
            long length = -1;
            for (String h; !(h = line()).isEmpty(); ) {
                if (h.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                    length = Long.parseLong(h.substring(15).strip());
                }
            }
            if (length < 0) {
                throw new IOException(method + " " + path + ": no Content-Length");
            }
            byte[] reply = in.readNBytes((int) length);
            if (!status.matches("HTTP/1\\.1 2\\d\\d .*")) {
                throw new IOException(method + " " + path + ": " + status);
            }
            return reply;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    // ---- the work: each category on its own threads, under its own tag ----

    static void apiWorker(InetSocketAddress content, int worker) throws IOException {
        for (int c = 0; c < API_CONNECTIONS; c++) {
            try (Client client = new Client(content)) {
                for (int i = 0; i < API_CALLS; i++) {
                    client.request("GET", "/api/items/" + (worker * 1000 + c * 100 + i), new byte[0]);
                }
            }
        }
    }

    static void imageWorker(InetSocketAddress content, int worker) throws IOException {
        for (int i = 0; i < IMAGES_PER_THREAD; i++) {
            int n = worker * IMAGES_PER_THREAD + i;
            try (Client client = new Client(content)) {
                byte[] img = client.request("GET", "/images/" + n + ".jpg", new byte[0]);
                if (img.length != imageSize(n)) {
                    throw new IOException("image " + n + ": got " + img.length + " bytes");
                }
            }
        }
    }

    static void telemetryWorker(InetSocketAddress sink, int worker) throws IOException {
        try (Client client = new Client(sink)) {
            for (int u = 0; u < UPLOADS_PER_THREAD; u++) {
                StringBuilder batch = new StringBuilder();
                for (int e = 0; e < EVENTS_PER_UPLOAD; e++) {
                    batch.append(String.format("{\"worker\":%d,\"upload\":%d,\"event\":%d,\"kind\":\"screen_view\","
                            + "\"duration_ms\":%d,\"session\":\"5f2b8c1e-%04d-%04d\"}%n", worker, u, e, (e * 37) % 1000, worker, u));
                }
                client.request("POST", "/v1/events", batch.toString().getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    interface Worker {
        void run(InetSocketAddress server, int n) throws IOException;
    }

    @SuppressWarnings("try") // the scope is only closed
    static void work(InetSocketAddress content, InetSocketAddress sink) throws Exception {
        record Job(Category category, Worker worker, InetSocketAddress server, int threads) {}
        List<Job> plan = List.of(new Job(API, JavaProfile::apiWorker, content, API_THREADS),
                new Job(IMAGES, JavaProfile::imageWorker, content, IMAGE_THREADS),
                new Job(TELEMETRY, JavaProfile::telemetryWorker, sink, TELEMETRY_THREADS));
        ExecutorService pool = Executors.newCachedThreadPool();
        List<Future<Object>> done = new ArrayList<>();
        for (Job job : plan) {
            for (int n = 0; n < job.threads(); n++) {
                int worker = n;
                done.add(pool.submit(() -> {
                    // Every socket this thread's factory makes belongs to the category.
                    try (TagScope scope = TrafficStats.tagged(job.category().tag())) {
                        job.worker().run(job.server(), worker);
                    }
                    return null;
                }));
            }
        }
        pool.shutdown();
        for (Future<Object> f : done) {
            f.get(); // the first failure, once every worker has finished
        }
    }

    // ---- the report ----

    record Line(String name, Integer tag, long[] t, double share) {}

    record Report(int uid, String iface, String period, long[] total, List<Line> categories, Line untagged) {}

    static long[] four(Counters c) {
        return new long[] {c.rxBytes(), c.rxPackets(), c.txBytes(), c.txPackets()};
    }

    static Report report(Stats stats, int uid, String iface, String period) {
        long[] total = four(stats.sum(uid, 0, iface));
        double all = total[0] + total[2];
        long[] rest = total.clone();
        List<Line> lines = new ArrayList<>();
        for (Category c : CATEGORIES) {
            long[] t = four(stats.sum(uid, c.tag(), iface));
            for (int k = 0; k < 4; k++) {
                rest[k] -= t[k];
            }
            lines.add(new Line(c.name(), c.tag(), t, all > 0 ? 100 * (t[0] + t[2]) / all : 0));
        }
        Line untagged = new Line("untagged remainder", null, rest, all > 0 ? 100 * (rest[0] + rest[2]) / all : 0);
        return new Report(uid, iface, period, total, lines, untagged);
    }

    static String row(String name, String tag, long[] t, double share) {
        return String.format(Locale.ROOT, "%-20s %8s %12d %9d %12d %9d %6.1f%%%n", name, tag, t[0], t[1], t[2], t[3], share);
    }

    static String text(Report r) {
        StringBuilder s = new StringBuilder(String.format("Traffic of uid %d on %s %s, per category (kernel counters from "
                + "/proc/net/xt_qtaguid/stats)%n%n", r.uid(), r.iface(), r.period()));
        s.append(String.format("%-20s %8s %12s %9s %12s %9s %7s%n", "category", "tag", "rx bytes", "rx pkts", "tx bytes",
                "tx pkts", "share"));
        for (Line l : r.categories()) {
            s.append(row(l.name(), "0x" + Integer.toHexString(l.tag()), l.t(), l.share()));
        }
        s.append(row("untagged remainder", "-", r.untagged().t(), r.untagged().share()));
        s.append(row("uid total", "0x0", r.total(), 100));
        s.append("\nThe untagged remainder is the uid's traffic on sockets it did not tag: here the\n"
                + "app's own local servers (each byte on lo is sent by one socket and received by\n"
                + "another), plus anything else this uid did on lo meanwhile.\n");
        return s.toString();
    }

    static String traffic(long[] t) {
        return "\"rx_bytes\":" + t[0] + ",\"rx_packets\":" + t[1] + ",\"tx_bytes\":" + t[2] + ",\"tx_packets\":" + t[3];
    }

    static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** The table as JSON, in the schema every profiling example shares. */
    static String json(Report r, String svg) {
        List<String> cats = new ArrayList<>();
        for (Line l : r.categories()) {
            cats.add("{\"name\":" + quote(l.name()) + ",\"tag\":" + l.tag() + "," + traffic(l.t()) + ",\"share\":" + l.share() + "}");
        }
        return "{\"uid\":" + r.uid() + ",\"iface\":" + quote(r.iface()) + ",\"period\":" + quote(r.period())
                + ",\"total\":{" + traffic(r.total()) + "},\"categories\":[" + String.join(",", cats)
                + "],\"untagged\":{" + traffic(r.untagged().t()) + ",\"share\":" + r.untagged().share() + "},\"svg\":"
                + (svg == null ? "null" : quote(svg)) + "}\n";
    }

    /** 1536 -> "1.5 KiB". */
    static String human(long n) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = 0;
        while (Math.abs(v) >= 1024 && u + 1 < units.length) {
            v /= 1024;
            u++;
        }
        return u == 0 ? n + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** Received and sent bytes per category as SVG bars. */
    static String chart(Report r) {
        List<Line> lines = new ArrayList<>(r.categories());
        lines.add(r.untagged());
        long biggest = 1;
        for (Line l : lines) {
            biggest = Math.max(biggest, Math.max(l.t()[0], l.t()[2]));
        }
        int width = 760, labelW = 170, barMax = 450, rowH = 56, top = 60, height = top + rowH * lines.size() + 40;
        StringBuilder s = new StringBuilder(String.format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"13\">%n", width, height, width, height));
        s.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        s.append(String.format("<text x=\"16\" y=\"26\" font-size=\"17\" font-weight=\"bold\">Bytes per category (uid %d, %s, %s)</text>%n",
                r.uid(), r.iface(), r.period()));
        for (int i = 0; i < lines.size(); i++) {
            Line l = lines.get(i);
            int y = top + rowH * i;
            String label = l.tag() == null ? l.name() : l.name() + " (0x" + Integer.toHexString(l.tag()) + ")";
            s.append(String.format("<text x=\"16\" y=\"%d\">%s</text>%n", y + 18, label));
            s.append(String.format(Locale.ROOT, "<text x=\"16\" y=\"%d\" fill=\"#666\">%.1f%% of uid total</text>%n", y + 36, l.share()));
            long[] v = {l.t()[0], l.t()[2]};
            String[] color = {"#3b7dd8", "#e8833a"};
            for (int k = 0; k < 2; k++) {
                int by = y + 4 + 22 * k;
                long w = Math.max(1, barMax * Math.max(v[k], 0) / biggest);
                s.append(String.format("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"18\" fill=\"%s\"/>%n", labelW, by, w, color[k]));
                s.append(String.format("<text x=\"%d\" y=\"%d\">%s</text>%n", labelW + w + 6, by + 14, human(v[k])));
            }
        }
        int ly = height - 22;
        s.append(String.format("<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" fill=\"#3b7dd8\"/><text x=\"%d\" y=\"%d\">received</text>%n",
                labelW, ly - 12, labelW + 20, ly));
        s.append(String.format("<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" fill=\"#e8833a\"/><text x=\"%d\" y=\"%d\">sent</text>%n",
                labelW + 110, ly - 12, labelW + 130, ly));
        return s.append("</svg>\n").toString();
    }

    // ---- main ----

    static Report profile(boolean cumulative) throws Exception {
        // The counters before the work (fails first, with the core's message, when the module
        // is not loaded): the table shows what changed since, i.e. this run's traffic.
        try (Stats before = Stats.read()) {
            HttpServer content = start(JavaProfile::content);
            HttpServer sink = start(JavaProfile::telemetry);
            InetSocketAddress contentAddr = content.getAddress(), sinkAddr = sink.getAddress();
            log("servers on 127.0.0.1:" + contentAddr.getPort() + " (content) and 127.0.0.1:" + sinkAddr.getPort()
                    + " (telemetry); running api, images and "
                    + "telemetry work concurrently...");
            long t0 = System.nanoTime();
            try {
                work(contentAddr, sinkAddr);
            } finally {
                // Every client has closed its connections; the servers close theirs now, and the
                // last packets settle before the counters are read.
                content.stop(0);
                sink.stop(0);
                ((ExecutorService) content.getExecutor()).shutdown();
                ((ExecutorService) sink.getExecutor()).shutdown();
            }
            Thread.sleep(300);
            log(String.format(Locale.ROOT, "work done in %.1f s; reading the kernel's counters", (System.nanoTime() - t0) / 1e9));
            int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            try (Stats after = Stats.read()) {
                if (cumulative) {
                    return report(after, uid, "lo", "since the module was loaded");
                }
                try (Stats run = after.deltaSince(before)) {
                    return report(run, uid, "lo", "during this run");
                }
            }
        }
    }

    public static void main(String[] argv) {
        boolean json = false, cumulative = false;
        String svg = "profile.svg";
        for (int i = 0; i < argv.length; i++) {
            switch (argv[i]) {
                case "--json" -> json = true;
                case "--cumulative" -> cumulative = true;
                case "--svg" -> {
                    if (i + 1 >= argv.length) {
                        usage("--svg needs a PATH");
                    }
                    svg = argv[++i];
                }
                case "-h", "--help" -> {
                    System.out.println(USAGE);
                    System.exit(0);
                }
                default -> {
                    if (argv[i].startsWith("--svg=")) {
                        svg = argv[i].substring(6);
                    } else {
                        usage("unknown argument `" + argv[i] + "`");
                    }
                }
            }
        }
        if (Files.isDirectory(Path.of(svg))) {
            svg = Path.of(svg, "profile.svg").toString();
        }
        Report report;
        try {
            report = profile(cumulative);
        } catch (ModuleNotLoadedException e) {
            log(e.getMessage());
            System.exit(3);
            return;
        } catch (QtagPermissionException e) {
            log(e.getMessage());
            System.exit(4);
            return;
        } catch (Exception e) {
            Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
            log(String.valueOf(cause));
            System.exit(1);
            return;
        }
        String written = svg;
        try {
            Files.writeString(Path.of(svg), chart(report));
        } catch (IOException e) {
            log("cannot write the chart to " + svg + ": " + e.getMessage() + " (choose another place with --svg)");
            written = null;
        }
        System.out.print(json ? json(report, written) : text(report) + (written != null ? "\nBar chart: " + written + "\n" : ""));
        System.exit(written != null ? 0 : 1);
    }

    static void usage(String why) {
        log(why + "\n\n" + USAGE);
        System.exit(2);
    }
}
