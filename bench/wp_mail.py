"""``wp_mail()`` through the gmail-oneclick plugin and the service, beside WordPress's own
PHPMailer sending over SMTP to a sink on the same machine.

Method: a real WordPress (Debian's, on a throwaway MariaDB, as the plugin's tests build it in
tests/wordpress/wp.py) with the plugin active and configured with the service's URL and a site
key; the service under gunicorn (the Procfile's web command, default workers and threads) with
one connection holding a real grant of the Google sandbox, which runs in its own process. One
PHP process loads WordPress once and calls ``wp_mail()`` ``--messages`` times per round, timing
each call with ``hrtime()``; rounds alternate between the two paths so that a busy moment of
the machine falls on both. The SMTP path is the same process with the plugin's ``pre_wp_mail``
filter removed and PHPMailer pointed at a minimal SMTP sink in this process (EHLO, MAIL, RCPT,
DATA, QUIT; it keeps nothing). All paths send the same message. Every plugin send is checked to
have arrived at the sandbox's Gmail.

PHPMailer as WordPress ships it writes the message to its socket line by line with Nagle's
algorithm on; any SMTP server, which answers only after the final dot, delays its
acknowledgements, so each send stalls for about 40 ms (Linux's minimum delayed ACK). That is
what WordPress really pays on SMTP, and the target is measured against it; a third path turns
TCP_NODELAY on (PHPMailer's ``SMTPOptions``) to show the floor of SMTP on loopback, and its
ratio is printed too.

Figures: median and p95 of each path in milliseconds and the ratios of the medians
(target: the plugin's median within 2x of the SMTP path's).
"""

from __future__ import annotations

import json
import socketserver
import statistics
import tempfile
import threading
from pathlib import Path
from typing import Any

from bench import common

TARGET_RATIO = 2.0
# plugin: wp_mail() through the plugin; smtp: PHPMailer as WordPress ships it, over SMTP;
# smtp_nodelay: the same with TCP_NODELAY on PHPMailer's socket (see the module docstring).
PATHS = ("plugin", "smtp", "smtp_nodelay")
SENDER = common.BENCH_EMAIL.format(0)

PHP_LOOP = """
$path = '{path}';
if ($path !== 'plugin') {{
    remove_all_filters('pre_wp_mail');
    add_action('phpmailer_init', static function ($mailer) use ($path) {{
        $mailer->isSMTP();
        $mailer->Host = '127.0.0.1';
        $mailer->Port = {smtp_port};
        $mailer->SMTPAuth = false;
        $mailer->SMTPAutoTLS = false;
        if ($path === 'smtp_nodelay') {{
            $mailer->SMTPOptions = ['socket' => ['tcp_nodelay' => true]];
        }}
    }});
}}
$times = [];
$failed = 0;
for ($i = 0; $i < {warmup} + {messages}; $i++) {{
    $start = hrtime(true);
    $ok = wp_mail('reader@example.net', 'Benchmark', "Hello from the benchmark.\\n",
                  ['From: Bench <{sender}>']);
    $elapsed = (hrtime(true) - $start) / 1e6;
    if (!$ok) {{ $failed++; }}
    if ($i >= {warmup}) {{ $times[] = $elapsed; }}
}}
echo json_encode(['times' => $times, 'failed' => $failed]);
"""


class _SmtpSession(socketserver.StreamRequestHandler):
    """Just enough SMTP for PHPMailer: every command accepted, the message read and dropped."""

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self._say("220 sink ESMTP")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self._say("250-sink\r\n250 8BITMIME")
            elif verb == b"DATA":
                self._say("354 go ahead")
                while self.rfile.readline() not in (b".\r\n", b""):
                    pass
                self._say("250 queued")
            elif verb == b"QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 ok")


class SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.port = int(self.server_address[1])
        threading.Thread(target=self.serve_forever, daemon=True).start()


def _loop(wordpress: Any, path: str, messages: int, warmup: int, smtp_port: int) -> list[float]:
    out = wordpress.php(PHP_LOOP.format(path=path, smtp_port=smtp_port, warmup=warmup,
                                        messages=messages, sender=SENDER)).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if result["failed"]:
        raise RuntimeError(f"{result['failed']} wp_mail() calls failed on the {path} path")
    return [float(t) for t in result["times"]]


def measure(messages: int, rounds: int) -> dict[str, Any]:
    from tests.wordpress.wp import start_wordpress, stop_wordpress

    with common.world(accounts=1) as w, tempfile.TemporaryDirectory() as folder:
        site = common.add_site(w.container)
        common.store_connections(w.container, site.id, w.sandbox.grants(0, 1))
        sink = SmtpSink()
        wordpress = start_wordpress(Path(folder))
        try:
            with common.ServiceProcess(w.values) as service:
                wordpress.activate_plugin()
                wordpress.php(f"""update_option('gmail_oneclick_settings', [
                    'service_url' => '{service.url}', 'api_key' => '{site.api_key}',
                    'webhook_secret' => '', 'default_connection' => '']);""")
                before = w.sandbox.counts()["sent"]
                times: dict[str, list[float]] = {path: [] for path in PATHS}
                for _ in range(rounds):
                    for path in PATHS:
                        times[path] += _loop(wordpress, path, messages, 5, sink.port)
                arrived = w.sandbox.counts()["sent"] - before
        finally:
            stop_wordpress(wordpress)
            sink.shutdown()
            w.container.engine.dispose()
    median = {path: statistics.median(values) for path, values in times.items()}
    figures: dict[str, Any] = {"messages": len(times["plugin"]), "arrived": arrived}
    for path in PATHS:
        figures[f"{path}_median_ms"] = round(median[path], 2)
        figures[f"{path}_p95_ms"] = round(common.percentile(times[path], 95), 2)
    figures["ratio"] = round(median["plugin"] / median["smtp"], 2)
    figures["ratio_nodelay"] = round(median["plugin"] / median["smtp_nodelay"], 2)
    return figures


def main() -> None:
    p = common.parser(__doc__ or "")
    p.add_argument("--messages", type=int, default=200, help="wp_mail() calls per round")
    p.add_argument("--rounds", type=int, default=3, help="rounds per path, alternating")
    args = p.parse_args()
    messages, rounds = (10, 1) if args.quick else (args.messages, args.rounds)
    figures = measure(messages, rounds)
    common.table("wp_mail(): the plugin through the service vs PHPMailer over SMTP", [
        ("plugin median / p95 (ms)",
         f"{figures['plugin_median_ms']} / {figures['plugin_p95_ms']}",
         f"{figures['arrived']}/{figures['messages'] + 5 * rounds} at the sandbox's Gmail"),
        ("SMTP sink median / p95 (ms)",
         f"{figures['smtp_median_ms']} / {figures['smtp_p95_ms']}", "PHPMailer as shipped"),
        ("SMTP sink, TCP_NODELAY (ms)",
         f"{figures['smtp_nodelay_median_ms']} / {figures['smtp_nodelay_p95_ms']}",
         "PHPMailer with Nagle off"),
        ("ratio of the medians", figures["ratio"], f"target <= {TARGET_RATIO}"),
        ("ratio against TCP_NODELAY SMTP", figures["ratio_nodelay"], "reported"),
    ])
    common.emit("wp_mail", figures)


if __name__ == "__main__":
    main()
