package whep

import (
	"strings"
	"testing"

	"argus"
	"argus/internal/hub"
)

// TestChooseVideo matches cameras of every profile browsers know against
// the H.264 formats of offers: same profile first, then a profile that
// contains the camera's, then the two labels browsers decode anyway;
// packetization-mode 0 never.
func TestChooseVideo(t *testing.T) {
	const lam = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id="
	chrome := []format{
		{pt: 96, fmtp: lam + "42001f"},
		{pt: 97, fmtp: "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f"},
		{pt: 98, fmtp: lam + "42e01f"},
		{pt: 99, fmtp: lam + "4d001f"},
		{pt: 100, fmtp: lam + "f4001f"},
		{pt: 101, fmtp: lam + "64001f"},
	}
	safari := []format{{pt: 96, fmtp: lam + "640c1f"}, {pt: 98, fmtp: lam + "42e01f"}}
	sps := func(idc, iop, level byte) []byte { return []byte{0x67, idc, iop, level, 0xac} }
	for _, tc := range []struct {
		name    string
		offer   []format
		sps     []byte
		want    uint8
		code    string // when refused
		message string
	}{
		{"constrained baseline to chrome", chrome, sps(0x42, 0xc0, 0x1e), 98, "", ""},
		{"baseline to chrome", chrome, sps(0x42, 0x00, 0x1f), 96, "", ""},
		{"main with constraint_set0 is constrained baseline", chrome, sps(0x4d, 0x80, 0x1f), 98, "", ""},
		{"main to chrome", chrome, sps(0x4d, 0x40, 0x28), 99, "", ""},
		{"high to chrome", chrome, sps(0x64, 0x00, 0x28), 101, "", ""},
		{"progressive high is high", chrome, sps(0x64, 0x08, 0x28), 101, "", ""},
		{"high 4:4:4 to chrome", chrome, sps(0xf4, 0x00, 0x1f), 100, "", ""},
		// Debian's Chromium offers no High entry: its High 4:4:4 decoder takes High.
		{"high to chromium without high", chrome[:5], sps(0x64, 0x00, 0x28), 100, "", ""},
		{"main to chromium without high prefers main", chrome[:5], sps(0x4d, 0x40, 0x28), 99, "", ""},
		{"constrained baseline to safari", safari, sps(0x42, 0xe0, 0x1f), 98, "", ""},
		{"high to safari's constrained high", safari, sps(0x64, 0x00, 0x28), 96, "", ""},
		{"main to safari", safari, sps(0x4d, 0x00, 0x1f), 96, "", ""},
		{"baseline to a constrained baseline only offer", safari[1:], sps(0x42, 0x00, 0x1f), 98, "", ""},
		{"constrained baseline to a high only offer", []format{{pt: 102, fmtp: lam + "64001f"}}, sps(0x42, 0xe0, 0x1f), 102, "", ""},
		{"a level at least the stream's first", []format{
			{pt: 102, fmtp: "packetization-mode=1;profile-level-id=64001f"},
			{pt: 103, fmtp: "packetization-mode=1;profile-level-id=640033"},
		}, sps(0x64, 0x00, 0x28), 103, "", ""},
		{"main to constrained baseline only", []format{{pt: 98, fmtp: lam + "42e01f"}}, sps(0x4d, 0x00, 0x1f), 0, argus.EINVALID, "Main profile"},
		{"high 10 is refused", chrome, sps(0x6e, 0x00, 0x28), 0, argus.EINVALID, "unknown profile"},
		{"packetization mode 0 only", chrome[1:2], sps(0x42, 0x00, 0x1f), 0, argus.EINVALID, "packetization-mode=1"},
		{"malformed profile-level-id", []format{{pt: 96, fmtp: "packetization-mode=1;profile-level-id=zz"}}, sps(0x42, 0xe0, 0x1f), 0, argus.EINVALID, "Constrained Baseline"},
		{"no SPS yet", chrome, nil, 0, argus.EUNAVAILABLE, "SPS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := chooseVideo(tc.offer, tc.sps)
			if argus.ErrorCode(err) != tc.code {
				t.Fatalf("chooseVideo: %v, want code %q", err, tc.code)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tc.message) {
					t.Errorf("error %q does not mention %q", err, tc.message)
				}
				return
			}
			if f.pt != tc.want {
				t.Errorf("chose payload type %d (%s), want %d", f.pt, f.fmtp, tc.want)
			}
		})
	}
}

// TestChooseAudio passes Opus and 8 kHz G.711 through when offered, and
// never AAC or G.711 at another rate.
func TestChooseAudio(t *testing.T) {
	offer := []format{
		{pt: 111, name: "opus", clockRate: 48000, channels: "2"},
		{pt: 0, name: "pcmu", clockRate: 8000},
		{pt: 8, name: "pcma", clockRate: 8000},
	}
	for _, tc := range []struct {
		name  string
		track *hub.Track
		offer []format
		want  int // payload type; -1: none
	}{
		{"opus", &hub.Track{Codec: hub.CodecOpus, ClockRate: 48000}, offer, 111},
		{"pcmu", &hub.Track{Codec: hub.CodecPCMU, ClockRate: 8000}, offer, 0},
		{"pcma", &hub.Track{Codec: hub.CodecPCMA, ClockRate: 8000}, offer, 8},
		{"pcma at 16 kHz", &hub.Track{Codec: hub.CodecPCMA, ClockRate: 16000}, offer, -1},
		{"aac", &hub.Track{Codec: hub.CodecAAC, ClockRate: 48000}, offer, -1},
		{"pcma not offered", &hub.Track{Codec: hub.CodecPCMA, ClockRate: 8000}, offer[:2], -1},
		{"no audio track", nil, offer, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := chooseAudio(tc.offer, tc.track)
			got := -1
			if ok {
				got = int(f.pt)
			}
			if got != tc.want {
				t.Errorf("chose payload type %d, want %d", got, tc.want)
			}
		})
	}
}

// TestParseOffer finds the receiving sections of offers.
func TestParseOffer(t *testing.T) {
	const head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	const video = "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:0\r\na=%s\r\na=rtpmap:96 H264/90000\r\n" +
		"a=fmtp:96 packetization-mode=1;profile-level-id=42e01f\r\na=rtpmap:97 VP8/90000\r\n"
	for _, tc := range []struct {
		name   string
		sdp    string
		video  int // H.264 formats found
		audio  int
		reject bool
	}{
		{"recvonly video", head + strings.Replace(video, "%s", "recvonly", 1), 1, 0, false},
		{"sendrecv video", head + strings.Replace(video, "%s", "sendrecv", 1), 1, 0, false},
		{"sendonly video", head + strings.Replace(video, "%s", "sendonly", 1), 0, 0, true},
		{"video and audio", head + strings.Replace(video, "%s", "recvonly", 1) +
			"m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=mid:1\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n", 1, 2, false},
		{"rejected video", head + strings.Replace(strings.Replace(video, "%s", "recvonly", 1), "m=video 9", "m=video 0", 1), 0, 0, true},
		{"no media", head, 0, 0, true},
		{"garbage", "hello", 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseOffer(tc.sdp)
			if (err != nil) != tc.reject {
				t.Fatalf("parseOffer: %v, want refused %v", err, tc.reject)
			}
			if err != nil {
				if argus.ErrorCode(err) != argus.EINVALID {
					t.Errorf("code %q, want %q", argus.ErrorCode(err), argus.EINVALID)
				}
				return
			}
			if len(o.video) != tc.video || len(o.audio) != tc.audio {
				t.Errorf("found %d H.264 and %d audio formats, want %d and %d", len(o.video), len(o.audio), tc.video, tc.audio)
			}
		})
	}
}

// TestParseFragment reads trickle ICE fragments (RFC 8840).
func TestParseFragment(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frag   string
		ufrag  string
		cands  []fragCandidate
		reject bool
	}{
		{"two sections", "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n" +
			"a=candidate:1 1 udp 2122260223 192.0.2.1 61764 typ host\r\nm=video 9 RTP/AVP 96\r\na=mid:1\r\n" +
			"a=candidate:2 1 udp 2122260223 192.0.2.1 61765 typ host\r\na=end-of-candidates\r\n", "EsAw",
			[]fragCandidate{{"0", "candidate:1 1 udp 2122260223 192.0.2.1 61764 typ host"}, {"1", "candidate:2 1 udp 2122260223 192.0.2.1 61765 typ host"}}, false},
		{"bare candidate, LF only", "a=candidate:1 1 udp 1 10.0.0.1 5000 typ host\n", "",
			[]fragCandidate{{"", "candidate:1 1 udp 1 10.0.0.1 5000 typ host"}}, false},
		{"empty", "", "", nil, false},
		{"not sdp", "hello world\r\n", "", nil, true},
		{"too many candidates", strings.Repeat("a=candidate:1 1 udp 1 10.0.0.1 5000 typ host\r\n", maxFragCandidates+1), "", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseFragment(tc.frag)
			if (err != nil) != tc.reject {
				t.Fatalf("parseFragment: %v, want refused %v", err, tc.reject)
			}
			if err != nil {
				return
			}
			if f.ufrag != tc.ufrag || len(f.candidates) != len(tc.cands) {
				t.Fatalf("got ufrag %q and %v, want %q and %v", f.ufrag, f.candidates, tc.ufrag, tc.cands)
			}
			for i := range tc.cands {
				if f.candidates[i] != tc.cands[i] {
					t.Errorf("candidate %d = %+v, want %+v", i, f.candidates[i], tc.cands[i])
				}
			}
		})
	}
}

// FuzzParseOffer feeds arbitrary offers to the offer parser and the
// format choice: they must refuse bad input, never panic.
func FuzzParseOffer(f *testing.F) {
	f.Add("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=recvonly\r\n" +
		"a=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=42e01f\r\n")
	f.Add("v=0\r\nm=video 9 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=;packetization-mode\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := parseOffer(s)
		if err != nil {
			return
		}
		_, _ = chooseVideo(o.video, []byte{0x67, 0x64, 0x00, 0x28})
		_, _ = chooseAudio(o.audio, &hub.Track{Codec: hub.CodecOpus, ClockRate: 48000})
	})
}

// FuzzParseFragment feeds arbitrary PATCH bodies to the fragment parser.
func FuzzParseFragment(f *testing.F) {
	f.Add("a=ice-ufrag:EsAw\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 1 192.0.2.1 61764 typ host\r\na=end-of-candidates\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		fr, err := parseFragment(s)
		if err == nil && len(fr.candidates) > maxFragCandidates {
			t.Fatalf("%d candidates accepted", len(fr.candidates))
		}
	})
}
