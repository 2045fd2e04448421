// Package segmenttest is the conformance suite of segment.Store: every
// backend runs Run against a fresh, empty store and must pass all of it.
package segmenttest

import (
	"bytes"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"

	"argus"
	"argus/internal/segment"
)

// Run runs the suite. newStore returns a new, empty store; the suite calls
// it once per subtest. A crash is simulated by abandoning a Writer (neither
// Finish nor Abort) and calling Repair on the same store.
func Run(t *testing.T, newStore func(t *testing.T) segment.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s segment.Store)
	}{
		{"WriteFinishRead", testWriteFinishRead},
		{"PartialIsListedAndReadable", testPartial},
		{"AbortRemoves", testAbort},
		{"SameStartConflicts", testConflict},
		{"InvalidInput", testInvalid},
		{"ListRange", testListRange},
		{"DeleteAndCameras", testDelete},
		{"WriterUnusableAfterFinish", testFinished},
		{"RepairTruncatesAndFinishes", testRepair},
		{"StageThenCommit", testStageCommit},
		{"StagedIsCutUnlessCommitted", testStagedCut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

// t0 is a fixed start for the suite's segments: 2026-03-01T10:20:00.123Z.
var t0 = time.Date(2026, 3, 1, 10, 20, 0, 123e6, time.UTC)

// Init returns the init (ftyp and moov) of a one-track fMP4 (Opus at 48
// kHz, track 1), for tests that need a well-formed segment.
func Init(tb testing.TB) []byte {
	tb.Helper()
	var buf seekablebuffer.Buffer
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{{ID: 1, TimeScale: 48000, Codec: &codecs.Opus{ChannelCount: 2}}}}
	if err := init.Marshal(&buf); err != nil {
		tb.Fatalf("marshal init: %v", err)
	}
	return buf.Bytes()
}

// Fragment returns fragment number seq (from 1) of the segment that Init
// starts: one second of 20 ms samples of track 1 starting at second seq-1.
func Fragment(tb testing.TB, seq int) []byte {
	tb.Helper()
	const per = 960 // 20 ms at 48 kHz
	pt := &fmp4.PartTrack{ID: 1, BaseTime: uint64(seq-1) * 48000}
	for i := range 50 {
		pt.Samples = append(pt.Samples, &fmp4.Sample{Duration: per, Payload: []byte{0xf8, byte(seq), byte(i)}})
	}
	var buf seekablebuffer.Buffer
	if err := (fmp4.Part{SequenceNumber: uint32(seq), Tracks: []*fmp4.PartTrack{pt}}).Marshal(&buf); err != nil {
		tb.Fatalf("marshal fragment: %v", err)
	}
	return buf.Bytes()
}

// write creates a segment of camera at start holding the init and n
// fragments, finishes it with duration d unless d < 0, and returns its ref
// and bytes.
func write(t *testing.T, s segment.Store, camera string, start time.Time, n int, d time.Duration) (segment.Ref, []byte) {
	t.Helper()
	ctx := t.Context()
	w, err := s.Create(ctx, camera, start)
	if err != nil {
		t.Fatalf("Create(%s, %v): %v", camera, start, err)
	}
	chunks := [][]byte{Init(t)}
	for i := 1; i <= n; i++ {
		chunks = append(chunks, Fragment(t, i))
	}
	for _, c := range chunks {
		if err := w.Append(ctx, c); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	data := bytes.Join(chunks, nil)
	if d < 0 {
		return w.Ref(), data
	}
	r, err := w.Finish(ctx, d)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	return r, data
}

func readAll(t *testing.T, s segment.Store, r segment.Ref) []byte {
	t.Helper()
	rd, err := s.Open(t.Context(), r)
	if err != nil {
		t.Fatalf("Open(%s): %v", r.Path(), err)
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatalf("read %s: %v", r.Path(), err)
	}
	if int64(len(b)) != rd.Size() {
		t.Errorf("read %d bytes of %s, Size says %d", len(b), r.Path(), rd.Size())
	}
	return b
}

func list(t *testing.T, s segment.Store, camera string, from, to time.Time) []segment.Ref {
	t.Helper()
	refs, err := s.List(t.Context(), camera, from, to)
	if err != nil {
		t.Fatalf("List(%s, %v, %v): %v", camera, from, to, err)
	}
	return refs
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := argus.ErrorCode(err); got != code {
		t.Errorf("%s: error %v has code %q, want %q", what, err, got, code)
	}
}

func testWriteFinishRead(t *testing.T, s segment.Store) {
	r, data := write(t, s, "cam-1", t0.Add(456*time.Microsecond), 2, 2*time.Second+400*time.Microsecond)
	want := segment.Ref{Camera: "cam-1", Start: t0, Duration: 2 * time.Second, Size: int64(len(data))}
	if r != want {
		t.Errorf("Finish = %+v, want %+v", r, want)
	}
	if got := list(t, s, "cam-1", t0.Add(-time.Hour), t0.Add(time.Hour)); !slices.Equal(got, []segment.Ref{want}) {
		t.Errorf("List = %+v, want %+v", got, want)
	}
	if got := readAll(t, s, r); !bytes.Equal(got, data) {
		t.Errorf("read back %d bytes, differ from the %d written", len(got), len(data))
	}
	rd, err := s.Open(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	buf := make([]byte, 16)
	if _, err := rd.ReadAt(buf, 100); err != nil || !bytes.Equal(buf, data[100:116]) {
		t.Errorf("ReadAt(100) = %x, %v; want %x", buf, err, data[100:116])
	}
	if _, err := rd.Seek(-8, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if tail, err := io.ReadAll(rd); err != nil || !bytes.Equal(tail, data[len(data)-8:]) {
		t.Errorf("after Seek(-8, end) read %x, %v", tail, err)
	}
}

func testPartial(t *testing.T, s segment.Store) {
	r, data := write(t, s, "cam-1", t0, 1, -1)
	want := segment.Ref{Camera: "cam-1", Start: t0, Partial: true, Size: int64(len(data))}
	if got := list(t, s, "cam-1", t0, t0.Add(time.Minute)); !slices.Equal(got, []segment.Ref{want}) {
		t.Errorf("List while writing = %+v, want %+v", got, want)
	}
	// A partial that started before the range may reach into it.
	if got := list(t, s, "cam-1", t0.Add(30*time.Minute), t0.Add(31*time.Minute)); len(got) != 1 {
		t.Errorf("List of a later range = %+v, want the partial", got)
	}
	if r.Start != t0 || !r.Partial {
		t.Errorf("Writer.Ref = %+v", r)
	}
	if got := readAll(t, s, r); !bytes.Equal(got, data) {
		t.Errorf("read %d bytes of the partial, want the %d written", len(got), len(data))
	}
}

func testAbort(t *testing.T, s segment.Store) {
	ctx := t.Context()
	w, err := s.Create(ctx, "cam-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(ctx, Init(t)); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if got := list(t, s, "cam-1", t0.Add(-time.Hour), t0.Add(time.Hour)); len(got) != 0 {
		t.Errorf("List after Abort = %+v, want none", got)
	}
	_, err = s.Open(ctx, w.Ref())
	wantCode(t, "Open after Abort", err, argus.ENOTFOUND)
	if cams, err := s.Cameras(ctx); err != nil || len(cams) != 0 {
		t.Errorf("Cameras after the only segment was aborted = %v, %v; want none", cams, err)
	}
	// The start is free again.
	write(t, s, "cam-1", t0, 1, time.Second)
}

func testConflict(t *testing.T, s segment.Store) {
	ctx := t.Context()
	w, err := s.Create(ctx, "cam-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Create(ctx, "cam-1", t0.Add(300*time.Microsecond))
	wantCode(t, "Create over a partial", err, argus.ECONFLICT)
	if err := w.Append(ctx, Init(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finish(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	_, err = s.Create(ctx, "cam-1", t0)
	wantCode(t, "Create over a finished segment", err, argus.ECONFLICT)
	if _, err := s.Create(ctx, "cam-2", t0); err != nil {
		t.Errorf("Create for another camera at the same start: %v", err)
	}
}

func testInvalid(t *testing.T, s segment.Store) {
	ctx := t.Context()
	_, err := s.Create(ctx, "../etc", t0)
	wantCode(t, "Create with a bad camera", err, argus.EINVALID)
	_, err = s.Create(ctx, "cam-1", time.Unix(-10, 0))
	wantCode(t, "Create before 1970", err, argus.EINVALID)
	_, err = s.List(ctx, "Cam/1", t0, t0.Add(time.Hour))
	wantCode(t, "List with a bad camera", err, argus.EINVALID)
	_, err = s.Open(ctx, segment.Ref{Camera: "..", Start: t0})
	wantCode(t, "Open with a bad camera", err, argus.EINVALID)
	_, err = s.Open(ctx, segment.Ref{Camera: "cam-1", Start: t0, Duration: time.Second})
	wantCode(t, "Open of a missing segment", err, argus.ENOTFOUND)
	w, err := s.Create(ctx, "cam-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Finish(ctx, -time.Second)
	wantCode(t, "Finish with a negative duration", err, argus.EINVALID)
}

func testListRange(t *testing.T, s segment.Store) {
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	at := func(h, m, sec int) time.Time {
		return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second)
	}
	// Minute-long segments around an hour and a day boundary, one of them
	// crossing midnight, and another camera's segment that never shows.
	starts := []time.Time{at(9, 58, 0), at(9, 59, 0), at(10, 0, 0), at(10, 1, 0), at(23, 59, 30), at(24, 0, 30)}
	var refs []segment.Ref
	for _, st := range starts {
		r, _ := write(t, s, "cam-1", st, 1, time.Minute)
		refs = append(refs, r)
	}
	write(t, s, "cam-2", at(10, 0, 0), 1, time.Minute)
	tests := []struct {
		name     string
		from, to time.Time
		want     []int // indexes into refs
	}{
		{"everything", at(0, 0, 0), at(48, 0, 0), []int{0, 1, 2, 3, 4, 5}},
		{"one hour", at(10, 0, 0), at(11, 0, 0), []int{2, 3}},
		{"across the hour", at(9, 59, 30), at(10, 0, 30), []int{1, 2}},
		{"ends where the range starts", at(10, 0, 0), at(10, 0, 1), []int{2}},
		{"starts where the range ends", at(9, 30, 0), at(9, 59, 0), []int{0}},
		{"across midnight", at(24, 0, 10), at(24, 0, 20), []int{4}},
		{"gap", at(12, 0, 0), at(13, 0, 0), nil},
		{"empty range", at(10, 0, 0), at(10, 0, 0), nil},
		{"reversed range", at(11, 0, 0), at(10, 0, 0), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := list(t, s, "cam-1", tt.from, tt.to)
			var want []segment.Ref
			for _, i := range tt.want {
				want = append(want, refs[i])
			}
			if !slices.Equal(got, want) {
				t.Errorf("List(%v, %v) =\n%+v\nwant\n%+v", tt.from, tt.to, got, want)
			}
		})
	}
}

func testDelete(t *testing.T, s segment.Store) {
	ctx := t.Context()
	a, _ := write(t, s, "cam-a", t0, 1, time.Second)
	b, _ := write(t, s, "cam-b", t0, 1, time.Second)
	b2, _ := write(t, s, "cam-b", t0.Add(24*time.Hour), 1, time.Second)
	if got, err := s.Cameras(ctx); err != nil || !slices.Equal(got, []string{"cam-a", "cam-b"}) {
		t.Errorf("Cameras = %v, %v; want [cam-a cam-b]", got, err)
	}
	for _, r := range []segment.Ref{a, b} {
		if err := s.Delete(ctx, r); err != nil {
			t.Fatalf("Delete(%s): %v", r.Path(), err)
		}
	}
	wantCode(t, "second Delete", s.Delete(ctx, a), argus.ENOTFOUND)
	_, err := s.Open(ctx, a)
	wantCode(t, "Open after Delete", err, argus.ENOTFOUND)
	if got := list(t, s, "cam-b", t0.Add(-time.Hour), t0.Add(48*time.Hour)); !slices.Equal(got, []segment.Ref{b2}) {
		t.Errorf("List after Delete = %+v, want only %+v", got, b2)
	}
	if got, err := s.Cameras(ctx); err != nil || !slices.Equal(got, []string{"cam-b"}) {
		t.Errorf("Cameras after deleting cam-a's only segment = %v, %v; want [cam-b]", got, err)
	}
}

func testFinished(t *testing.T, s segment.Store) {
	ctx := t.Context()
	w, err := s.Create(ctx, "cam-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(ctx, Init(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finish(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := w.Append(ctx, Fragment(t, 1)); err == nil {
		t.Error("Append after Finish succeeded")
	}
	if _, err := w.Finish(ctx, time.Second); err == nil {
		t.Error("second Finish succeeded")
	}
	if err := w.Abort(ctx); err == nil {
		t.Error("Abort after Finish succeeded")
	}
	if got := list(t, s, "cam-1", t0, t0.Add(time.Second)); len(got) != 1 || got[0].Partial {
		t.Errorf("List = %+v, want the finished segment", got)
	}
}

func testRepair(t *testing.T, s segment.Store) {
	ctx := t.Context()
	// cam-a: a finished segment, then one that died after two whole
	// fragments and half of a third.
	done, _ := write(t, s, "cam-a", t0, 2, 2*time.Second)
	w, err := s.Create(ctx, "cam-a", t0.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	whole := Init(t)
	whole = append(whole, Fragment(t, 1)...)
	whole = append(whole, Fragment(t, 2)...)
	third := Fragment(t, 3)
	for _, p := range [][]byte{Init(t), Fragment(t, 1), Fragment(t, 2), third[:len(third)/2]} {
		if err := w.Append(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// cam-b died after its init, cam-c wrote garbage.
	initOnly, _ := write(t, s, "cam-b", t0, 0, -1)
	garbage, err := s.Create(ctx, "cam-c", t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := garbage.Append(ctx, []byte("not an mp4 file at all")); err != nil {
		t.Fatal(err)
	}

	got, err := s.Repair(ctx)
	if err != nil {
		t.Fatalf("Repair: %v", err)
	}
	fin := segment.Ref{Camera: "cam-a", Start: t0.Add(2 * time.Second), Duration: 2 * time.Second, Size: int64(len(whole))}
	want := []segment.Repaired{
		{Partial: segment.Ref{Camera: "cam-a", Start: fin.Start, Partial: true, Size: int64(len(whole) + len(third)/2)},
			Finished: fin, Dropped: int64(len(third) / 2)},
		{Partial: segment.Ref{Camera: "cam-b", Start: t0, Partial: true, Size: int64(len(Init(t)))},
			Removed: true, Dropped: int64(len(Init(t)))},
		{Partial: segment.Ref{Camera: "cam-c", Start: t0, Partial: true, Size: 22}, Removed: true, Dropped: 22},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Repair =\n%+v\nwant\n%+v", got, want)
	}
	if refs := list(t, s, "cam-a", t0, t0.Add(time.Hour)); !slices.Equal(refs, []segment.Ref{done, fin}) {
		t.Errorf("cam-a after Repair = %+v, want %+v", refs, []segment.Ref{done, fin})
	}
	if b := readAll(t, s, fin); !bytes.Equal(b, whole) {
		t.Errorf("repaired segment holds %d bytes, want the %d of init and two fragments", len(b), len(whole))
	}
	for _, r := range []segment.Ref{initOnly, garbage.Ref()} {
		if refs := list(t, s, r.Camera, t0, t0.Add(time.Hour)); len(refs) != 0 {
			t.Errorf("%s after Repair = %+v, want nothing", r.Camera, refs)
		}
	}
	if again, err := s.Repair(ctx); err != nil || len(again) != 0 {
		t.Errorf("second Repair = %+v, %v; want nothing to do", again, err)
	}
}

// Split cuts a fragment into its head (moof and mdat header) and its media
// data, the two parts a recorder writes with Commit and Stage.
func Split(t testing.TB, frag []byte) (head, data []byte) {
	t.Helper()
	n := int(frag[0])<<24 | int(frag[1])<<16 | int(frag[2])<<8 | int(frag[3])
	if n+8 > len(frag) || string(frag[n+4:n+8]) != "mdat" {
		t.Fatalf("fragment does not hold a moof and then an mdat")
	}
	return frag[:n+8], frag[n+8:]
}

func testStageCommit(t *testing.T, s segment.Store) {
	ctx := t.Context()
	w, err := s.Create(ctx, "cam-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	want := Init(t)
	if err := w.Append(ctx, want); err != nil {
		t.Fatal(err)
	}
	for seq := 1; seq <= 2; seq++ {
		frag := Fragment(t, seq)
		head, data := Split(t, frag)
		end := int64(len(want) + len(frag))
		// The media data first, in two writes (the second of three
		// pieces, one empty), then the head.
		half := len(data) / 2
		if err := w.Stage(ctx, end-int64(len(data)), data[:half]); err != nil {
			t.Fatalf("Stage: %v", err)
		}
		if err := w.Stage(ctx, end-int64(len(data)-half), data[half:half+1], nil, data[half+1:]); err != nil {
			t.Fatalf("Stage: %v", err)
		}
		if err := w.Commit(ctx, head, end); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		want = append(want, frag...)
	}
	if err := w.Stage(ctx, int64(len(want))-1, []byte{1}); err == nil {
		t.Error("Stage before the end of the segment succeeded")
	}
	if err := w.Commit(ctx, []byte{1, 2}, int64(len(want))+1); err == nil {
		t.Error("Commit with an end inside the head succeeded")
	}
	r, err := w.Finish(ctx, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size != int64(len(want)) {
		t.Errorf("finished Size = %d, want %d", r.Size, len(want))
	}
	if b := readAll(t, s, r); !bytes.Equal(b, want) {
		t.Errorf("segment written with Stage and Commit holds %d bytes that differ from the %d appended", len(b), len(want))
	}
}

func testStagedCut(t *testing.T, s segment.Store) {
	ctx := t.Context()
	whole := append(Init(t), Fragment(t, 1)...)
	_, data := Split(t, Fragment(t, 2))
	staged := func(camera string) segment.Writer {
		w, err := s.Create(ctx, camera, t0)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Append(ctx, Init(t)); err != nil {
			t.Fatal(err)
		}
		if err := w.Append(ctx, Fragment(t, 1)); err != nil {
			t.Fatal(err)
		}
		// The second fragment's data, 100 bytes past the end, waiting
		// for a head that never comes.
		if err := w.Stage(ctx, int64(len(whole))+100, data); err != nil {
			t.Fatal(err)
		}
		return w
	}
	// Finished: the staged bytes are not part of the segment.
	r, err := staged("cam-a").Finish(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if b := readAll(t, s, r); r.Size != int64(len(whole)) || !bytes.Equal(b, whole) {
		t.Errorf("finished segment: Size %d, %d bytes; want the %d of init and one fragment", r.Size, len(b), len(whole))
	}
	// Died: Repair cuts them off.
	died := staged("cam-b").Ref()
	got, err := s.Repair(ctx)
	if err != nil {
		t.Fatalf("Repair: %v", err)
	}
	size := int64(len(whole) + 100 + len(data))
	fin := segment.Ref{Camera: "cam-b", Start: t0, Duration: time.Second, Size: int64(len(whole))}
	want := []segment.Repaired{{Partial: segment.Ref{Camera: died.Camera, Start: died.Start, Partial: true, Size: size},
		Finished: fin, Dropped: size - int64(len(whole))}}
	if !slices.Equal(got, want) {
		t.Errorf("Repair =\n%+v\nwant\n%+v", got, want)
	}
	if b := readAll(t, s, fin); !bytes.Equal(b, whole) {
		t.Errorf("repaired segment holds %d bytes, want the %d of init and one fragment", len(b), len(whole))
	}
}
