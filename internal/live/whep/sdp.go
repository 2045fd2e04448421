package whep

import (
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"argus"
	"argus/internal/hub"
)

// offer is what argus needs to know of a viewer's SDP offer: the H.264
// formats its video section takes and the formats of its audio section.
type offer struct {
	parsed sdp.SessionDescription
	video  []format // H.264 formats of the first receiving video section
	audio  []format // every format of the first receiving audio section
}

// format is one payload type of an offer.
type format struct {
	pt        uint8
	name      string // encoding name, lower case: "h264", "opus", "pcmu" …
	clockRate uint32
	channels  string // encoding parameters of the rtpmap ("2" for stereo Opus)
	fmtp      string
}

// fmtpParam returns the value of key in the format's fmtp line.
func (f format) fmtpParam(key string) (string, bool) {
	for p := range strings.SplitSeq(f.fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, key) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// parseOffer parses an SDP offer and finds the sections argus can send
// into. It refuses an offer without a video section that receives H.264.
func parseOffer(raw string) (*offer, error) {
	o := &offer{}
	if err := o.parsed.UnmarshalString(raw); err != nil {
		return nil, argus.Errorf(argus.EINVALID, "the offer is not valid SDP: %v", err)
	}
	videoSeen, audioSeen := false, false
	for _, md := range o.parsed.MediaDescriptions {
		if md.MediaName.Port.Value == 0 || !receives(md) {
			continue
		}
		one := &sdp.SessionDescription{MediaDescriptions: []*sdp.MediaDescription{md}}
		var fs []format
		for _, f := range md.MediaName.Formats {
			pt, err := strconv.ParseUint(f, 10, 8)
			if err != nil {
				continue
			}
			c, err := one.GetCodecForPayloadType(uint8(pt))
			if err != nil {
				continue
			}
			fs = append(fs, format{pt: uint8(pt), name: strings.ToLower(c.Name), clockRate: c.ClockRate,
				channels: c.EncodingParameters, fmtp: c.Fmtp})
		}
		switch {
		case md.MediaName.Media == "video" && !videoSeen:
			videoSeen = true
			for _, f := range fs {
				if f.name == "h264" && f.clockRate == 90000 {
					o.video = append(o.video, f)
				}
			}
		case md.MediaName.Media == "audio" && !audioSeen:
			audioSeen = true
			o.audio = fs
		}
	}
	if len(o.video) == 0 {
		return nil, argus.Errorf(argus.EINVALID, "the offer has no video section that receives H.264 (add a recvonly video transceiver with H.264)")
	}
	return o, nil
}

// receives reports whether a media section lets the offerer receive.
func receives(md *sdp.MediaDescription) bool {
	for _, a := range md.Attributes {
		switch a.Key {
		case "sendonly", "inactive":
			return false
		case "recvonly", "sendrecv":
			return true
		}
	}
	return true // sendrecv is the default
}

// H.264 profiles as a WebRTC peer names them (the classes of RFC 6184's
// profile-level-id that browsers distinguish).
type profile int

const (
	profileUnknown profile = iota
	profileConstrainedBaseline
	profileBaseline
	profileMain
	profileConstrainedHigh
	profileHigh
	profilePredictiveHigh444
)

func (p profile) String() string {
	switch p {
	case profileConstrainedBaseline:
		return "Constrained Baseline"
	case profileBaseline:
		return "Baseline"
	case profileMain:
		return "Main"
	case profileConstrainedHigh:
		return "Constrained High"
	case profileHigh:
		return "High"
	case profilePredictiveHigh444:
		return "High 4:4:4 Predictive"
	}
	return "unknown"
}

// classify names the profile of a profile_idc and its constraint flags
// byte (profile-iop), following RFC 6184 and libwebrtc's table: a stream
// that obeys Baseline's constraints (constraint_set1 for Baseline,
// constraint_set0 for Main) is Constrained Baseline, and High with
// constraint_set4 and 5 is Constrained High.
func classify(idc, iop byte) profile {
	switch idc {
	case 0x42:
		if iop&0x40 != 0 {
			return profileConstrainedBaseline
		}
		return profileBaseline
	case 0x4d:
		if iop&0x80 != 0 {
			return profileConstrainedBaseline
		}
		return profileMain
	case 0x58:
		switch {
		case iop&0xc0 == 0xc0:
			return profileConstrainedBaseline
		case iop&0x80 != 0:
			return profileBaseline
		}
	case 0x64:
		if iop&0x0c == 0x0c {
			return profileConstrainedHigh
		}
		return profileHigh
	case 0xf4:
		return profilePredictiveHigh444
	}
	return profileUnknown
}

// fit ranks how well a receiver of profile rx suits a stream of profile
// tx: 0 does not fit; higher is better. A receiver of the same profile is
// best, then one of a profile that contains the stream's (a High decoder
// decodes Main; a High 4:4:4 Predictive decoder decodes every profile
// below it, which is how Chromium without a High entry takes High). Last come labels that are strictly too narrow but whose
// decoders in every browser decode the stream: Constrained Baseline for a
// Baseline stream (cameras never use Baseline's FMO/ASO tools), and
// Constrained High for Main and High streams (Safari offers no other High
// or Main format).
func fit(tx, rx profile) int {
	if tx == profileUnknown || rx == profileUnknown {
		return 0
	}
	if tx == rx {
		return 3
	}
	if rx == profilePredictiveHigh444 && tx != profileBaseline {
		return 2
	}
	switch tx {
	case profileConstrainedBaseline:
		if rx == profileBaseline || rx == profileMain || rx == profileConstrainedHigh || rx == profileHigh {
			return 2
		}
	case profileConstrainedHigh:
		if rx == profileHigh {
			return 2
		}
	case profileMain:
		switch rx {
		case profileHigh:
			return 2
		case profileConstrainedHigh:
			return 1
		}
	case profileBaseline:
		if rx == profileConstrainedBaseline {
			return 1
		}
	case profileHigh:
		if rx == profileConstrainedHigh {
			return 1
		}
	}
	return 0
}

// streamProfile reads the profile and level of an H.264 SPS NAL unit.
func streamProfile(sps []byte) (p profile, iop, level byte, ok bool) {
	if len(sps) < 4 || sps[0]&0x1f != 7 {
		return profileUnknown, 0, 0, false
	}
	return classify(sps[1], sps[2]), sps[2], sps[3], true
}

// chooseVideo picks the offered H.264 format a stream with SPS sps fits
// best: packetization-mode 1 (argus sends FU-A and STAP-A), a profile that
// fits, and, among equals, a level at least the stream's (or
// level-asymmetry-allowed), then the offerer's order. The answer repeats
// the chosen format's fmtp unchanged, as RFC 6184 asks of an answerer.
func chooseVideo(formats []format, sps []byte) (format, error) {
	tx, iop, level, ok := streamProfile(sps)
	if !ok {
		return format{}, argus.Errorf(argus.EUNAVAILABLE, "the camera's H.264 parameters (SPS) are not known yet; retry")
	}
	best, bestScore := format{}, 0
	for _, f := range formats {
		if pm, _ := f.fmtpParam("packetization-mode"); pm != "1" {
			continue
		}
		plid, _ := f.fmtpParam("profile-level-id")
		b, err := hex.DecodeString(plid)
		if err != nil || len(b) != 3 {
			continue
		}
		score := fit(tx, classify(b[0], b[1])) * 2
		if score == 0 {
			continue
		}
		if asym, _ := f.fmtpParam("level-asymmetry-allowed"); asym == "1" || b[2] >= level {
			score++
		}
		if score > bestScore {
			best, bestScore = f, score
		}
	}
	if bestScore == 0 {
		return format{}, argus.Errorf(argus.EINVALID,
			"the offer has no H.264 format (packetization-mode=1) that can decode the camera's %s profile (profile-level-id %02x%02x%02x)",
			tx, sps[1], iop, level)
	}
	return best, nil
}

// chooseAudio picks the offered format that carries the camera's audio
// track as it is, or reports false. WebRTC has Opus (48 kHz) and G.711
// (8 kHz); AAC cannot be sent.
func chooseAudio(formats []format, t *hub.Track) (format, bool) {
	if t == nil {
		return format{}, false
	}
	var name string
	var rate uint32
	switch t.Codec {
	case hub.CodecOpus:
		name, rate = "opus", 48000
	case hub.CodecPCMU:
		name, rate = "pcmu", 8000
	case hub.CodecPCMA:
		name, rate = "pcma", 8000
	default:
		return format{}, false
	}
	if t.ClockRate != int(rate) {
		return format{}, false
	}
	for _, f := range formats {
		if f.name == name && f.clockRate == rate {
			return f, true
		}
	}
	return format{}, false
}

// mimeType returns the WebRTC MIME type of an offered format.
func (f format) mimeType(kind string) string {
	switch f.name {
	case "h264":
		return "video/H264"
	case "opus":
		return "audio/opus"
	case "pcmu":
		return "audio/PCMU"
	case "pcma":
		return "audio/PCMA"
	}
	return kind + "/" + f.name
}

// fragment is the content of an RFC 8840 SDP fragment (the body of a
// trickle ICE PATCH).
type fragment struct {
	ufrag, pwd string
	candidates []fragCandidate
}

// fragCandidate is one a=candidate line of a fragment and the media
// section (mid) it belongs to.
type fragCandidate struct {
	mid       string
	candidate string // "candidate:…", without the "a="
}

// maxFragCandidates bounds the candidates of one PATCH.
const maxFragCandidates = 64

// parseFragment parses an application/trickle-ice-sdpfrag body.
func parseFragment(raw string) (fragment, error) {
	var f fragment
	mid := ""
	for n, line := range strings.Split(raw, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case line == "":
		case strings.HasPrefix(line, "m="):
			mid = ""
		case strings.HasPrefix(line, "a=mid:"):
			mid = strings.TrimPrefix(line, "a=mid:")
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			f.ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:"):
			f.pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "a=candidate:"):
			if len(f.candidates) == maxFragCandidates {
				return f, argus.Errorf(argus.EINVALID, "the fragment has more than %d candidates", maxFragCandidates)
			}
			f.candidates = append(f.candidates, fragCandidate{mid: mid, candidate: strings.TrimPrefix(line, "a=")})
		case strings.HasPrefix(line, "a="), len(line) > 1 && line[1] == '=':
			// a=end-of-candidates, a=ice-options, c= …: nothing to do.
		default:
			return f, argus.Errorf(argus.EINVALID, "line %d of the SDP fragment is not an SDP line: %.40q", n+1, line)
		}
	}
	return f, nil
}

// remoteUfrag returns the ICE username fragment of a parsed description
// (session level, else the first media section's).
func remoteUfrag(d *sdp.SessionDescription) string {
	if u, ok := d.Attribute("ice-ufrag"); ok {
		return u
	}
	for _, md := range d.MediaDescriptions {
		if u, ok := md.Attribute("ice-ufrag"); ok {
			return u
		}
	}
	return ""
}

// firstMid returns the mid of the first media section (the one a bundled
// connection's candidates belong to).
func firstMid(d *sdp.SessionDescription) string {
	for _, md := range d.MediaDescriptions {
		if m, ok := md.Attribute("mid"); ok {
			return m
		}
	}
	return "0"
}
