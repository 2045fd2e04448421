// Package sim simulates a city of IP cameras for demos, tests and
// benchmarks: `argus sim --cameras N` serves N cameras over RTSP (TCP) at
// rtsp://HOST:PORT/sim/1 … /sim/N.
//
// # Streams
//
// Every camera streams one bundled H.264 clip (package clips) in a loop:
// SPS and PPS in the SDP and in band before each IDR, RTP timestamps from a
// frame counter (continuous and monotonic across loops, 90000/fps per
// frame), and before the slices of every frame an SEI NAL unit carrying the
// capture wall clock (package seiclock), so a reader can measure latency end
// to end. Camera n starts at its own place in the clip, with its IDRs and
// frame times shifted from the other cameras', so keyframes do not align
// across cameras. A camera's timeline runs from Server.Start; it sends only
// while a session plays it, so a viewer joins mid-GOP, as with a real
// camera, and idle cameras cost nothing. The clip is parsed and packetized
// once and shared. A camera lays each frame's RTP packets out with their
// RTSP interleaved headers in one reused buffer and writes the frame to
// each playing TCP session in one write, bypassing gortsplib's per-packet
// queue (gortsplib still answers the requests); an RTCP sender report,
// with the same wall clock as the SEI stamp, follows one frame a second.
// The per-frame path does not allocate.
//
// Config.Bitrate pads every frame with a filler-data NAL unit (type 12) so
// that a small clip behaves like, say, a 2 Mbit/s camera; Config.FPS
// re-times the frames; the GOP comes with the clip (…-gop2, …-gop4).
//
// # Fail modes
//
// A fail spec (the --fail flag, ParseFailure) makes one camera misbehave on
// a schedule measured from Start:
//
//	CAMERA:MODE[:KEY=DURATION[,KEY=DURATION]...]
//
//	CAMERA  camera number, 1..N
//	MODE    drop     close the camera's sessions and answer 503 to
//	                 DESCRIBE/SETUP/PLAY while active (off the network)
//	        stall    keep the sessions, send nothing while active
//	        garbage  send a malformed RTP payload before every other frame
//	                 while active: random bytes (forbidden bit set), an FU-A
//	                 start that never ends, reserved NAL types 0/30/31, a
//	                 slice cut short
//	after   when the failure starts (default 0)
//	for     how long each occurrence lasts (default: until the server closes)
//	every   repeat period, longer than for (default: once)
//
// Examples: "3:drop:after=10s,for=5s,every=30s" (camera 3 is off the
// network 10–15 s, 40–45 s, …), "5:stall:after=2s,for=30s", "7:garbage"
// (always). A camera may have several failures.
package sim
