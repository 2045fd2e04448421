#!/usr/bin/python3
"""GStreamer's RTSP server as a relay: the peer of bench/live.sh.

Re-serves one RTSP source, without transcoding, at rtsp://HOST:PORT/cam,
one shared pipeline for every viewer:

    /usr/bin/python3 bench/rtsp_peer.py rtsp://127.0.0.1:8554/sim/1 127.0.0.1 9655

Needs Debian's gir1.2-gst-rtsp-server-1.0, gstreamer1.0-rtsp,
gstreamer1.0-plugins-good and python3-gi.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main():
    src, host, port = sys.argv[1], sys.argv[2], sys.argv[3]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(host)
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( rtspsrc location={src} protocols=tcp latency=0 ! rtph264depay ! "
        "rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    server.attach(None)
    print(f"serving rtsp://{host}:{port}/cam", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
