"""Check delegated-service's clients against the kernel's stats file: each client's printed
numbers equal its own uid's rows (exact), the downloads are billed to the client's uid
and tag, not to the service's, and the service's uid holds the origin's side.

    python3 check_delegated.py SERVICE_UID CLIENT.json...

Prints `ok delegated-WHAT` / `fail delegated-WHAT (why)` lines.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../kmod/tests"))
import qt  # noqa: E402

KEYS = ("rx_bytes", "rx_packets", "tx_bytes", "tx_packets")
TAG = 0x2001


def check(what, ok, why=""):
    print(f"ok delegated-{what}" if ok else f"fail delegated-{what} ({why})")


def main(service_uid, *client_files):
    service_uid = int(service_uid)
    rows = qt.read_stats()

    def kernel(uid, tag):
        s = qt.sum_rows(rows, iface="lo", uid=uid, tag=tag)
        return {k: s[k] for k in KEYS}

    clients_rx = clients_tx = files_total = 0
    for path in client_files:
        try:
            with open(path) as f:
                out = json.load(f)
        except (OSError, ValueError) as e:
            check(f"client-output-{os.path.basename(path)}", False, e)
            continue
        uid, size = out["uid"], sum(out["files"].values())
        got, want = out["downloads"], kernel(uid, TAG)
        check(f"uid{uid}-downloads-match-stats", got == want, f"printed {got}, stats {want}")
        check(f"uid{uid}-total-matches-stats", out["total"] == kernel(uid, 0),
              f"printed {out['total']}, stats {kernel(uid, 0)}")
        # Everything this uid did on lo was the service's fetches for it.
        check(f"uid{uid}-all-is-downloads", want == kernel(uid, 0), f"{want} vs {kernel(uid, 0)}")
        # The payload plus headers: at least the files, at most a few percent more.
        check(f"uid{uid}-bytes-are-the-files", size < want["rx_bytes"] < size * 1.06 + 4096,
              f"rx {want['rx_bytes']} for {size} bytes of files")
        files_total += size
        clients_rx += want["rx_bytes"]
        clients_tx += want["tx_bytes"]
    check("service-bills-nothing-to-itself", kernel(service_uid, TAG) == dict.fromkeys(KEYS, 0),
          kernel(service_uid, TAG))
    # The origin's side (the service's own untagged sockets) stays the service's: it sent
    # the files. Not exactly the mirror of the fetches: the last ACK of a connection may
    # come from or go to a TIME_WAIT socket, which the kernel bills to uid 0.
    svc = kernel(service_uid, 0)
    check("service-uid-has-the-origin-side",
          files_total < svc["tx_bytes"] <= clients_rx and svc["rx_bytes"] <= clients_tx,
          f"service {svc}, clients rx {clients_rx} tx {clients_tx}, files {files_total}")


if __name__ == "__main__":
    main(*sys.argv[1:])
