package store

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// gen draws random batches of changes that fit the durable state so far
// (each one applies to its model image without error), touching every
// change kind, ClientIds that are prefixes of each other or hold the key
// encoding's bytes, sessions that end and come back, copies queued then
// sent, sent directly, PUBREC'd, and payloads large enough to fill
// memtables.
type gen struct {
	rng   *rand.Rand
	model *broker.Image
	now   broker.Time
	msg   broker.MsgID
	ids   broker.MsgID // reserved
	seq   uint64
	pids  map[string]uint16
}

var (
	genClients = []string{"a", "ab", "a\x00", "a\x02b", "\xff", "dev-1", "dev-10", strings.Repeat("x", 200)}
	genFilters = []string{"a/#", "a/b", "+/b", "#", "s/\x00"}
	genTopics  = []string{"a/b", "x", "t/1"}
)

func newGen(seed uint64) *gen {
	return &gen{rng: rand.New(rand.NewPCG(seed, seed^0x5e55)), model: broker.NewImage(), pids: map[string]uint16{}}
}

func (g *gen) pick(xs []string) string { return xs[g.rng.IntN(len(xs))] }

// batch returns n changes, applied to the model.
func (g *gen) batch(t *testing.T, n int) []broker.Change {
	var out []broker.Change
	for len(out) < n {
		for _, c := range g.one() {
			if err := g.model.Apply(&c); err != nil {
				t.Fatalf("generator: %v", err)
			}
			out = append(out, c)
		}
	}
	return out
}

// one draws one change (or a message and the changes that use it).
func (g *gen) one() []broker.Change {
	g.now += broker.Time(g.rng.IntN(1000)) * time.Millisecond
	im := g.model
	sessions := slices.Sorted(maps.Keys(im.Sessions))
	var cid string
	var s *broker.ImageSession
	if len(sessions) > 0 {
		cid = sessions[g.rng.IntN(len(sessions))]
		s = im.Sessions[cid]
	}
	switch r := g.rng.IntN(100); {
	case r < 10 || s == nil:
		cid = g.pick(genClients)
		if im.Sessions[cid] == nil {
			g.seq++
		}
		seq := g.seq
		if s := im.Sessions[cid]; s != nil {
			seq = s.Seq
		}
		return []broker.Change{{Kind: broker.ChSession, ClientID: cid, Seq: seq, User: g.pick([]string{"", "alice"}),
			Online: g.rng.IntN(2) == 0, At: g.now}}
	case r < 13:
		return []broker.Change{{Kind: broker.ChSessionEnded, ClientID: cid, Reason: broker.ReasonSessionExpired}}
	case r < 20:
		return []broker.Change{{Kind: broker.ChSubscribed, ClientID: cid, Topic: g.pick(genFilters), QoS: packet.QoS(g.rng.IntN(3))}}
	case r < 23:
		return []broker.Change{{Kind: broker.ChUnsubscribed, ClientID: cid, Topic: g.pick(genFilters)}}
	case r < 45: // a new message, queued or sent to some sessions
		var out []broker.Change
		g.msg++
		if g.msg > g.ids {
			g.ids = g.msg + 7
			out = append(out, broker.Change{Kind: broker.ChMsgIDs, Msg: g.ids})
		}
		payload := make([]byte, g.rng.IntN(3)*g.rng.IntN(1500))
		for i := range payload {
			payload[i] = byte(g.rng.Uint32())
		}
		qos := packet.QoS(g.rng.IntN(3))
		out = append(out, broker.Change{Kind: broker.ChMessage, Msg: g.msg, Publisher: g.pick(genClients), Topic: g.pick(genTopics),
			Payload: payload, QoS: qos, Retain: g.rng.IntN(4) == 0})
		for _, id := range sessions {
			switch g.rng.IntN(3) {
			case 0:
				out = append(out, broker.Change{Kind: broker.ChQueued, ClientID: id, Msg: g.msg, QoS: qos, At: g.now})
			case 1:
				out = append(out, g.sent(id, g.msg, qos))
			}
		}
		if g.rng.IntN(5) == 0 {
			out = append(out, broker.Change{Kind: broker.ChRetained, Topic: g.pick(genTopics), Msg: g.msg})
		}
		return out
	case r < 60: // send a queued copy
		for _, m := range slices.Sorted(maps.Keys(s.Copies)) {
			if cp := s.Copies[m]; !cp.Sent {
				return []broker.Change{g.sent(cid, m, cp.QoS)}
			}
		}
	case r < 65:
		for _, m := range slices.Sorted(maps.Keys(s.Copies)) {
			if cp := s.Copies[m]; cp.Sent && !cp.Pubrec {
				return []broker.Change{{Kind: broker.ChPubrec, ClientID: cid, Msg: m}}
			}
		}
	case r < 80:
		if len(s.Copies) > 0 {
			ms := slices.Sorted(maps.Keys(s.Copies))
			return []broker.Change{{Kind: broker.ChCopyGone, ClientID: cid, Msg: ms[g.rng.IntN(len(ms))]}}
		}
	case r < 85:
		return []broker.Change{{Kind: broker.ChInbound, ClientID: cid, PacketID: uint16(1 + g.rng.IntN(5))}}
	case r < 88:
		return []broker.Change{{Kind: broker.ChReleased, ClientID: cid, PacketID: uint16(1 + g.rng.IntN(5))}}
	case r < 91:
		return []broker.Change{{Kind: broker.ChRetained, Topic: g.pick(genTopics)}}
	default: // forget a message nothing refers to
		used := map[broker.MsgID]bool{}
		for _, s := range im.Sessions {
			for m := range s.Copies {
				used[m] = true
			}
		}
		for _, m := range im.Retained {
			used[m] = true
		}
		for _, m := range slices.Sorted(maps.Keys(im.Messages)) {
			if !used[m] {
				return []broker.Change{{Kind: broker.ChMessageGone, Msg: m}}
			}
		}
	}
	return []broker.Change{{Kind: broker.ChSession, ClientID: cid, Seq: s.Seq, User: s.User, Online: false, At: g.now}}
}

// sent is the first send of a copy, with the session's next packet id.
func (g *gen) sent(cid string, m broker.MsgID, qos packet.QoS) broker.Change {
	g.pids[cid] = g.pids[cid]%65535 + 1
	return broker.Change{Kind: broker.ChSent, ClientID: cid, Msg: m, QoS: qos, PacketID: g.pids[cid], At: g.now}
}

// canon encodes an image for comparison: everything it holds, with each
// session's copies in flight by their rank in send order rather than by
// the send sequence's value (a store numbers sends itself).
func canon(im *broker.Image) string {
	var b strings.Builder
	fmt.Fprintf(&b, "msgids %d\n", im.MsgIDs)
	for _, id := range slices.Sorted(maps.Keys(im.Messages)) {
		m := im.Messages[id]
		fmt.Fprintf(&b, "m%d %q %q q%d r%v %x\n", id, m.Publisher, m.Topic, m.QoS, m.Retain, m.Payload)
	}
	for _, t := range slices.Sorted(maps.Keys(im.Retained)) {
		fmt.Fprintf(&b, "retained %q m%d\n", t, im.Retained[t])
	}
	for _, cid := range slices.Sorted(maps.Keys(im.Sessions)) {
		s := im.Sessions[cid]
		fmt.Fprintf(&b, "session %q seq=%d user=%q online=%v off=%v pid=%d\n", cid, s.Seq, s.User, s.Online, s.OfflineAt, s.NextPID)
		for _, f := range slices.Sorted(maps.Keys(s.Subs)) {
			fmt.Fprintf(&b, "  sub %q q%d\n", f, s.Subs[f])
		}
		ms := slices.Sorted(maps.Keys(s.Copies))
		var sent []broker.MsgID
		for _, m := range ms {
			if s.Copies[m].Sent {
				sent = append(sent, m)
			}
		}
		slices.SortFunc(sent, func(x, y broker.MsgID) int { return int(s.Copies[x].SendSeq) - int(s.Copies[y].SendSeq) })
		for _, m := range ms {
			c := s.Copies[m]
			fmt.Fprintf(&b, "  copy m%d q%d at=%v", m, c.QoS, c.At)
			if c.Sent {
				fmt.Fprintf(&b, " sent #%d at=%v pubrec=%v rank=%d", c.PacketID, c.SentAt, c.Pubrec, slices.Index(sent, m))
			}
			b.WriteByte('\n')
		}
		for _, id := range slices.Sorted(maps.Keys(s.Inbound)) {
			fmt.Fprintf(&b, "  inbound %d\n", id)
		}
	}
	return b.String()
}

// load opens dir on fsys and loads it.
func load(t *testing.T, fsys vfs.FS, dir string) (*Store, *broker.Image) {
	t.Helper()
	st, err := Open(dir, Options{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	img, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	return st, img
}

// TestStoreLoadsWhatWasWritten: after every commit of random batches, and
// across reopenings, the store loads exactly the image that applying the
// same changes in memory gives.
func TestStoreLoadsWhatWasWritten(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		fsys := vfs.NewMem()
		st, err := Open("db", Options{FS: fsys, MemTableSize: 256 << 10})
		if err != nil {
			t.Fatal(err)
		}
		g := newGen(seed)
		for i := range 120 {
			if err := st.Write(g.batch(t, 1+g.rng.IntN(12))); err != nil {
				t.Fatal(err)
			}
			if err := st.Commit(); err != nil {
				t.Fatal(err)
			}
			if i%20 == 19 { // reopen: the send sequence must go on above the stored ones
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
				var img *broker.Image
				st, img = load(t, fsys, "db")
				if got, want := canon(img), canon(g.model); got != want {
					t.Fatalf("seed %d, batch %d: loaded image differs\n got: %s\nwant: %s", seed, i, got, want)
				}
			}
		}
		st.Close()
	}
}

// TestCrashKeepsEveryCommittedBatch crashes the store at many points (at
// the k-th write to its files: the WAL, flushes, compactions, the
// manifest) on pebble's crashable in-memory file system, which keeps only
// what was synced (and, in half the runs, a random part of what was not).
// After reopening, the store must load the image of exactly the batches
// whose Commit had returned, or of those plus the one being committed: never
// less, never a part of a batch. Writing the remaining batches to the
// reopened store must then load the image of all of them.
func TestCrashKeepsEveryCommittedBatch(t *testing.T) {
	g := newGen(7)
	var batches [][]broker.Change
	prefixes := []string{canon(g.model)}
	for range 80 {
		batches = append(batches, g.batch(t, 1+g.rng.IntN(16)))
		prefixes = append(prefixes, canon(g.model))
	}
	// run writes and commits every batch, crashing at write op k (0: none).
	run := func(k int64, unsynced int) (writes int64, crashed *vfs.MemFS, done, started int) {
		mem := vfs.NewCrashableMem()
		var ops, doneN, startedN atomic.Int64
		var counting atomic.Bool
		rng := rand.New(rand.NewPCG(uint64(k), 1))
		fsys := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
			if counting.Load() && op.Kind.ReadOrWrite() == errorfs.OpIsWrite && ops.Add(1) == k {
				// The writes run on pebble's goroutines while batches go on
				// being committed: what had committed before the clone began
				// must be in it; nothing started after it ended may be.
				done = int(doneN.Load())
				crashed = mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: unsynced, RNG: rng})
				started = int(startedN.Load())
			}
			return nil
		}))
		st, err := Open("db", Options{FS: fsys, MemTableSize: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		counting.Store(true)
		for i, b := range batches {
			startedN.Store(int64(i + 1))
			if err := st.Write(b); err != nil {
				t.Fatal(err)
			}
			if err := st.Commit(); err != nil {
				t.Fatal(err)
			}
			doneN.Store(int64(i + 1))
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		return ops.Load(), crashed, done, started
	}
	total, _, _, _ := run(0, 0)
	step := max(total/150, 1)
	crashes := 0
	for k := int64(1); k <= total; k += step {
		unsynced := 0
		if k%2 == 0 {
			unsynced = 30
		}
		_, crashed, done, started := run(k, unsynced)
		if crashed == nil {
			continue // a background write that did not happen this time
		}
		crashes++
		st, img := load(t, crashed, "db")
		got := canon(img)
		p := slices.Index(prefixes, got)
		if p < done || p > started {
			t.Fatalf("crash at write %d of %d (unsynced kept %d%%), %d batches committed, %d started: loaded image is prefix %d (-1: none)\n got: %s\nlast committed: %s",
				k, total, unsynced, done, started, p, got, prefixes[done])
		}
		for _, b := range batches[p:] {
			if err := st.Write(b); err != nil {
				t.Fatal(err)
			}
			if err := st.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		st.Close()
		st, img = load(t, crashed, "db")
		if got := canon(img); got != prefixes[len(batches)] {
			t.Fatalf("crash at write %d, recovered at prefix %d, then the rest written: image differs\n got: %s\nwant: %s", k, p, got, prefixes[len(batches)])
		}
		st.Close()
	}
	if crashes < 50 {
		t.Fatalf("only %d crash points of %d writes", crashes, total)
	}
	t.Logf("%d crash points over %d writes", crashes, total)
}

// TestOpenRefuses: a directory of other files, a pebble store of another
// program, a store of a newer format and damaged stores are refused with
// the matching error, never opened as an empty store; a good store opens
// again with its epoch.
func TestOpenRefuses(t *testing.T) {
	good := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "data")
		st, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		g := newGen(3)
		st.Write(g.batch(t, 200))
		if err := errors.Join(st.Commit(), st.Flush(), st.Close()); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	t.Run("reopen", func(t *testing.T) {
		dir := good(t)
		st, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		epoch := st.Epoch()
		st.Close()
		st, err = Open(dir, Options{})
		if err != nil || !st.Epoch().Equal(epoch) || epoch.IsZero() {
			t.Fatalf("reopened: %v, epoch %v then %v", err, epoch, st.Epoch())
		}
		st.Close()
	})
	t.Run("foreign files", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644)
		if _, err := Open(dir, Options{}); !errors.Is(err, ErrForeign) {
			t.Fatalf("Open = %v, want ErrForeign", err)
		}
		if names, _ := os.ReadDir(dir); len(names) != 1 {
			t.Fatalf("Open left files in a foreign directory: %v", names)
		}
	})
	t.Run("other pebble store", func(t *testing.T) {
		dir := t.TempDir()
		db, err := pebble.Open(dir, &pebble.Options{Logger: quiet{}})
		if err != nil {
			t.Fatal(err)
		}
		db.Set([]byte("k"), []byte("v"), pebble.Sync)
		db.Close()
		if _, err := Open(dir, Options{}); !errors.Is(err, ErrForeign) {
			t.Fatalf("Open = %v, want ErrForeign", err)
		}
	})
	t.Run("newer format", func(t *testing.T) {
		dir := good(t)
		db, err := pebble.Open(dir, &pebble.Options{Merger: merger, Logger: quiet{}})
		if err != nil {
			t.Fatal(err)
		}
		db.Set(keyFormat, append([]byte(magic), Version+1), pebble.Sync)
		db.Close()
		_, err = Open(dir, Options{})
		if !errors.Is(err, ErrNewer) || !strings.Contains(err.Error(), "format version 2") {
			t.Fatalf("Open = %v, want ErrNewer naming version 2", err)
		}
	})
	t.Run("damaged", func(t *testing.T) {
		for _, victim := range []string{"MANIFEST-", ".sst", "OPTIONS-"} {
			dir := good(t)
			entries, _ := os.ReadDir(dir)
			hit := false
			for _, e := range entries {
				if strings.Contains(e.Name(), victim) {
					p := filepath.Join(dir, e.Name())
					b, _ := os.ReadFile(p)
					os.WriteFile(p, bytes.Repeat([]byte{0x5a}, max(len(b), 64)), 0o644)
					hit = true
				}
			}
			if !hit {
				t.Fatalf("no %s file in %v", victim, entries)
			}
			st, err := Open(dir, Options{})
			if err == nil {
				_, err = st.Load()
				st.Close()
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrForeign) {
				t.Fatalf("damaged %s: Open/Load = %v, want ErrCorrupt", victim, err)
			}
		}
	})
}

// quiet is a pebble logger for tests that open stores directly.
type quiet struct{}

func (quiet) Infof(string, ...any)           {}
func (quiet) Errorf(string, ...any)          {}
func (quiet) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }

// TestLoadInParallel: a store read by several goroutines, each over a
// range of whole sessions, loads the same image as the changes applied in
// memory, with every session whole.
func TestLoadInParallel(t *testing.T) {
	defer func(m uint64, w int) { splitMinBytes, loadWorkers = m, w }(splitMinBytes, loadWorkers)
	splitMinBytes, loadWorkers = 0, 4
	fsys := vfs.NewMem()
	st, err := Open("db", Options{FS: fsys, MemTableSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	model := broker.NewImage()
	var batch []broker.Change
	add := func(c broker.Change) {
		if err := model.Apply(&c); err != nil {
			t.Fatal(err)
		}
		batch = append(batch, c)
	}
	add(broker.Change{Kind: broker.ChMsgIDs, Msg: 100})
	for m := broker.MsgID(1); m <= 20; m++ {
		add(broker.Change{Kind: broker.ChMessage, Msg: m, Topic: "t", QoS: 1, Payload: []byte("p")})
	}
	for i := range 3000 {
		cid := fmt.Sprintf("dev-%d", i)
		add(broker.Change{Kind: broker.ChSession, ClientID: cid, Seq: uint64(i + 1), At: time.Second})
		add(broker.Change{Kind: broker.ChSubscribed, ClientID: cid, Topic: "t", QoS: 1})
		for m := broker.MsgID(1); m <= broker.MsgID(1+i%20); m++ {
			if m%3 == 0 {
				add(broker.Change{Kind: broker.ChSent, ClientID: cid, Msg: m, QoS: 1, PacketID: uint16(m), At: 2 * time.Second})
			} else {
				add(broker.Change{Kind: broker.ChQueued, ClientID: cid, Msg: m, QoS: 1, At: time.Second})
			}
		}
		if i%100 == 99 {
			st.Write(batch)
			batch = batch[:0]
			if err := st.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// More copies for every session, in later sstables whose smallest keys
	// fall inside sessions.
	for m := broker.MsgID(21); m <= 24; m++ {
		add(broker.Change{Kind: broker.ChMessage, Msg: m, Topic: "t", QoS: 1, Payload: []byte("q")})
	}
	for i := range 3000 {
		for m := broker.MsgID(21); m <= 24; m++ {
			add(broker.Change{Kind: broker.ChQueued, ClientID: fmt.Sprintf("dev-%d", i), Msg: m, QoS: 1, At: 3 * time.Second})
		}
		if i%100 == 99 {
			st.Write(batch)
			batch = batch[:0]
			if err := st.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := errors.Join(st.Flush(), st.Close()); err != nil {
		t.Fatal(err)
	}
	st, err = Open("db", Options{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := len(st.splits(4)); n < 2 {
		t.Fatalf("%d split keys, want several (the test must load in parallel)", n)
	}
	img, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := canon(img), canon(model); got != want {
		t.Fatalf("parallel load differs from the image in memory")
	}
}
