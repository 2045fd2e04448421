package node_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"argus"
	"argus/internal/access"
	"argus/internal/config"
	"argus/internal/node"
	"argus/internal/sim"
)

// accessNode is a running node with RTSP re-serve and WebRTC on loopback,
// pulling every camera from one simulated camera, logging at debug level
// into logs.
type accessNode struct {
	t    *testing.T
	n    *node.Node
	sim  *sim.Server
	cfg  config.Config
	logs *lockedBuffer
	ctx  context.Context
	// stop stops the node and waits for it; later calls do nothing.
	stop func()
}

// startAccessNode starts a node whose bootstrap admin has adminPassword;
// change adjusts the configuration first. setup runs before the node
// serves (for stored fixtures), with the simulator the cameras should
// pull.
func startAccessNode(t *testing.T, adminPassword string, change func(*config.Config), setup func(n *node.Node, s *sim.Server)) *accessNode {
	t.Helper()
	s, err := sim.New(sim.Config{Cameras: 1, Listen: "127.0.0.1:0", Clip: "90p-gop0.2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.RTSP.Listen = "127.0.0.1:0"
	cfg.Live.WebRTC.UDPPort = 0
	cfg.Live.WebRTC.ListenIP = "127.0.0.1"
	if change != nil {
		change(&cfg)
	}
	a := &accessNode{t: t, sim: s, cfg: cfg, logs: &lockedBuffer{}}
	logger := slog.New(slog.NewJSONHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(t.Context())
	a.ctx = ctx
	a.n, err = node.New(ctx, node.Options{Config: cfg, Logger: logger, Environ: []string{"ARGUS_ADMIN_PASSWORD=" + adminPassword},
		Argon2: access.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if setup != nil {
		setup(a.n, s)
	}
	done := make(chan error, 1)
	go func() { done <- a.n.Run(ctx) }()
	a.stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node stopped with %v", err)
		}
	})
	t.Cleanup(a.stop)
	return a
}

// call sends an HTTP request with a bearer token ("" for none); a body
// is JSON unless contentType says otherwise.
func (a *accessNode) call(method, path, token, contentType, body string) (int, http.Header, []byte) {
	a.t.Helper()
	req, err := http.NewRequestWithContext(a.ctx, method, a.n.URL()+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		if contentType == "" {
			contentType = "application/json"
		}
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// login signs in and returns the session token.
func (a *accessNode) login(user, pw string) string {
	a.t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": pw})
	code, _, b := a.call("POST", "/api/v1/login", "", "", string(body))
	var l struct{ Token string }
	if err := json.Unmarshal(b, &l); err != nil || code != http.StatusOK || l.Token == "" {
		a.t.Fatalf("login %s: %d %s", user, code, b)
	}
	return l.Token
}

// addUser stores a user with password pw and returns an API token for it.
func addAccessUser(t *testing.T, n *node.Node, id string, role argus.Role, org, pw string) string {
	t.Helper()
	hash, err := n.Auth().HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	u := &argus.User{ID: id, Username: id, OrgID: org, Role: role, PasswordHash: hash}
	if err := n.Store().CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	secret, _, err := n.Auth().IssueToken(t.Context(), u, argus.TokenAPI, "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// rtspDescribe sends one DESCRIBE for path to the node's RTSP re-serve,
// with Basic credentials unless user and pw are both empty, and returns
// the status code.
func (a *accessNode) rtspDescribe(path, user, pw string) int {
	a.t.Helper()
	conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(a.ctx, "tcp", a.n.RTSPAddr())
	if err != nil {
		a.t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	req := fmt.Sprintf("DESCRIBE rtsp://%s%s RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n", a.n.RTSPAddr(), path)
	if user != "" || pw != "" {
		req += "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw)) + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		a.t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		a.t.Fatalf("DESCRIBE %s: %v", path, err)
	}
	var code int
	if _, err := fmt.Sscanf(line, "RTSP/1.0 %d", &code); err != nil {
		a.t.Fatalf("DESCRIBE %s: status line %q", path, line)
	}
	return code
}

// whepOffer returns a WHEP offer (recvonly H.264 video, every candidate
// gathered) from a pion peer on loopback.
func whepOffer(t *testing.T) string {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-done
	return pc.LocalDescription().SDP
}

// text returns everything logged so far.
func (b *lockedBuffer) text() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
