// Package store keeps a broker's durable state (broker.Change, see the
// broker package's notes on durable state) in a data directory, on the
// pebble key-value store: Write adds a step's changes to the open batch,
// Commit makes everything written so far durable with one synced write
// (group commit: the batch holds every step since the previous commit), and
// Load reads the state back as a broker.Image for broker.Recover.
//
// A data directory holds a format marker. Open refuses, with an error
// wrapping ErrForeign, ErrNewer or ErrCorrupt, a directory that holds
// something else, a store of a newer format or one that does not decode,
// rather than starting an empty broker over it.
package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/sessionlab/sessionlab/broker"
	"github.com/sessionlab/sessionlab/broker/packet"
)

// Version is the store's format version, written in the format marker. A
// store of a newer version is refused (ErrNewer); an older one would be
// migrated when opened.
const Version = 1

// Errors Open and Load wrap.
var (
	// ErrForeign: the directory holds something that is not a sessionlab
	// store.
	ErrForeign = errors.New("not a sessionlab data directory")
	// ErrNewer: the store was written by a newer format version.
	ErrNewer = errors.New("written by a newer sessionlab")
	// ErrCorrupt: the store does not open or its records do not decode.
	ErrCorrupt = errors.New("corrupt store")
)

// Options configure Open. The zero value is the operating system's file
// system with pebble's defaults.
type Options struct {
	// FS is the file system (nil: the operating system's); tests use
	// pebble's crashable in-memory one.
	FS vfs.FS
	// MemTableSize is pebble's memtable size in bytes (0: 4 MiB). Bulk
	// loads go faster with a larger one.
	MemTableSize uint64
	// Logger receives pebble's errors (nil: slog.Default()); its
	// informational messages are dropped.
	Logger *slog.Logger
}

// Store is an open data directory. Write and Commit may run concurrently
// (one writer goroutine, one committer); the rest is for one goroutine.
type Store struct {
	db    *pebble.DB
	dir   string
	epoch time.Time

	mu          sync.Mutex    // guards the fields below
	batch       *pebble.Batch // the open batch: written, not yet committed
	key, val    []byte        // scratch
	sends       uint64        // the last send sequence given to a copy
	msgIDs      broker.MsgID  // the highest ChMsgIDs
	clock       broker.Time   // the latest time any change carries
	clockStored broker.Time   // clock as of the last commit
}

// Open opens the store in dir, creating it when dir does not exist or is
// empty.
func Open(dir string, o Options) (*Store, error) {
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	fresh, err := checkDir(o.FS, dir)
	if err != nil {
		return nil, err
	}
	opts := &pebble.Options{
		FS:               o.FS,
		Merger:           merger,
		Logger:           pebbleLogger{o.Logger},
		MemTableSize:     o.MemTableSize,
		ErrorIfNotExists: !fresh,
		// A damaged file makes the read fail (Load: ErrCorrupt) rather
		// than pebble's default, a fatal log.
		EventListener: &pebble.EventListener{DataCorruption: func(info pebble.DataCorruptionInfo) {
			o.Logger.Error("store: on-disk corruption", "path", info.Path, "err", info.Details)
		}},
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		if strings.Contains(err.Error(), "merger") {
			return nil, fmt.Errorf("%s: %w: a pebble store of another program (%v)", dir, ErrForeign, err)
		}
		return nil, fmt.Errorf("%s: %w: %v", dir, ErrCorrupt, err)
	}
	s := &Store{db: db, dir: dir, batch: db.NewBatch()}
	if fresh {
		err = s.create()
	} else {
		err = s.checkFormat()
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// checkDir reports whether dir is fresh (absent or empty), and refuses a
// directory that holds files but no pebble store.
func checkDir(fsys vfs.FS, dir string) (fresh bool, err error) {
	names, err := fsys.List(dir)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(names) == 0 {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", dir, err)
	}
	for _, n := range names {
		if n == "CURRENT" || strings.HasPrefix(n, "MANIFEST-") || strings.HasPrefix(n, "marker.manifest.") {
			return false, nil
		}
	}
	return false, fmt.Errorf("%s: %w: it holds %d files (e.g. %q) but no store", dir, ErrForeign, len(names), names[0])
}

// create writes the format marker and the epoch of a new store.
func (s *Store) create() error {
	s.epoch = time.Now()
	b := s.db.NewBatch()
	defer b.Close()
	b.Set(keyFormat, binary.AppendUvarint([]byte(magic), Version), nil)
	b.Set(keyEpoch, binary.AppendVarint(nil, s.epoch.UnixNano()), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("%s: creating the store: %w", s.dir, err)
	}
	return nil
}

// checkFormat reads the format marker and the epoch of an existing store.
func (s *Store) checkFormat() error {
	v, closer, err := s.db.Get(keyFormat)
	if errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("%s: %w: a pebble store without sessionlab's format marker", s.dir, ErrForeign)
	}
	if err != nil {
		return fmt.Errorf("%s: %w: reading the format marker: %v", s.dir, ErrCorrupt, err)
	}
	rest, ok := strings.CutPrefix(string(v), magic)
	closer.Close()
	version, n := binary.Uvarint([]byte(rest))
	if !ok || n <= 0 || n != len(rest) {
		return fmt.Errorf("%s: %w: unknown format marker %q", s.dir, ErrForeign, v)
	}
	if version > Version {
		return fmt.Errorf("%s: %w: format version %d, this build reads up to %d", s.dir, ErrNewer, version, Version)
	}
	v, closer, err = s.db.Get(keyEpoch)
	if err != nil {
		return fmt.Errorf("%s: %w: reading the epoch: %v", s.dir, ErrCorrupt, err)
	}
	ns, n := binary.Varint(v)
	closer.Close()
	if n <= 0 {
		return fmt.Errorf("%s: %w: undecodable epoch", s.dir, ErrCorrupt)
	}
	s.epoch = time.Unix(0, ns)
	return nil
}

// Epoch returns when the store was created (wall clock).
func (s *Store) Epoch() time.Time { return s.epoch }

// Clock returns the latest broker time that any stored change carries (a
// session going offline, a copy queued or sent), as of Load and the
// commits since. A broker recovered from the store must not boot earlier.
func (s *Store) Clock() broker.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clockStored
}

// Write adds changes to the open batch; Commit makes them durable. It does
// not read the store.
func (s *Store) Write(changes []broker.Change) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range changes {
		if err := s.write(&changes[i]); err != nil {
			return err
		}
	}
	return nil
}

// write adds one change to the open batch. s.mu held.
func (s *Store) write(c *broker.Change) error {
	b := s.batch
	k := s.key[:0]
	var err error
	switch c.Kind {
	case broker.ChSession:
		p := sessPatch{has: sessIdent, seq: c.Seq, user: c.User, online: c.Online}
		if !c.Online {
			p.has |= sessOffline
			p.offlineAt = c.At
			s.clock = max(s.clock, c.At)
		}
		k = append(appendSession(k, c.ClientID), subSession)
		s.val = p.append(s.val[:0])
		err = b.Merge(k, s.val, nil)
	case broker.ChSessionEnded:
		k = appendSession(k, c.ClientID)
		end := append(k[:len(k):len(k)], subEnd)
		err = b.DeleteRange(k, end, nil)
	case broker.ChSubscribed:
		k = append(append(appendSession(k, c.ClientID), subSub), c.Topic...)
		err = b.Set(k, []byte{byte(c.QoS)}, nil)
	case broker.ChUnsubscribed:
		k = append(append(appendSession(k, c.ClientID), subSub), c.Topic...)
		err = b.Delete(k, nil)
	case broker.ChMessage:
		k = appendMsg(append(k, tableMessage), c.Msg)
		v := appendString(s.val[:0], c.Publisher)
		v = appendString(v, c.Topic)
		v = append(v, byte(c.QoS), b2u(c.Retain))
		s.val = append(v, c.Payload...)
		err = b.Set(k, s.val, nil)
	case broker.ChMessageGone:
		k = appendMsg(append(k, tableMessage), c.Msg)
		err = b.Delete(k, nil)
	case broker.ChQueued:
		k = appendMsg(append(appendSession(k, c.ClientID), subCopy), c.Msg)
		p := copyPatch{has: copyBase, qos: c.QoS, at: c.At}
		s.val = p.append(s.val[:0])
		s.clock = max(s.clock, c.At)
		err = b.Set(k, s.val, nil)
	case broker.ChSent:
		s.sends++
		sess := appendSession(k, c.ClientID)
		k = appendMsg(append(sess, subCopy), c.Msg)
		p := copyPatch{has: copyBase | copySent, qos: c.QoS, at: c.At, pid: c.PacketID, sentAt: c.At, sendSeq: s.sends}
		s.val = p.append(s.val[:0])
		s.clock = max(s.clock, c.At)
		if err = b.Merge(k, s.val, nil); err == nil {
			k = append(k[:len(sess)], subSession)
			sp := sessPatch{has: sessNextPID, nextPID: c.PacketID}
			s.val = sp.append(s.val[:0])
			err = b.Merge(k, s.val, nil)
		}
	case broker.ChPubrec:
		k = appendMsg(append(appendSession(k, c.ClientID), subCopy), c.Msg)
		err = b.Merge(k, []byte{copyPubrec}, nil)
	case broker.ChCopyGone:
		k = appendMsg(append(appendSession(k, c.ClientID), subCopy), c.Msg)
		err = b.Delete(k, nil)
	case broker.ChInbound:
		k = binary.BigEndian.AppendUint16(append(appendSession(k, c.ClientID), subInbound), c.PacketID)
		err = b.Set(k, nil, nil)
	case broker.ChReleased:
		k = binary.BigEndian.AppendUint16(append(appendSession(k, c.ClientID), subInbound), c.PacketID)
		err = b.Delete(k, nil)
	case broker.ChRetained:
		k = append(append(k, tableRetained), c.Topic...)
		if c.Msg == 0 {
			err = b.Delete(k, nil)
		} else {
			err = b.Set(k, appendMsg(s.val[:0], c.Msg), nil)
		}
	case broker.ChMsgIDs:
		s.msgIDs = max(s.msgIDs, c.Msg)
		err = b.Set(keyMsgIDs, binary.AppendUvarint(s.val[:0], uint64(s.msgIDs)), nil)
	default:
		err = fmt.Errorf("store: change kind %d: unknown", c.Kind)
	}
	s.key = k
	return err
}

// Commit makes every change written before the call durable: it commits
// the open batch with a synced write, while Write goes on filling the next.
// Calls must not overlap.
func (s *Store) Commit() error {
	s.mu.Lock()
	b := s.batch
	if s.clock > s.clockStored {
		b.Set(keyClock, binary.AppendVarint(nil, int64(s.clock)), nil)
		s.clockStored = s.clock
	}
	empty := b.Empty()
	if !empty {
		s.batch = s.db.NewBatch()
	}
	s.mu.Unlock()
	if empty {
		return nil
	}
	defer b.Close()
	return b.Commit(pebble.Sync)
}

// Close commits what was written and closes the store.
func (s *Store) Close() error {
	err := s.Commit()
	s.batch.Close()
	return errors.Join(err, s.db.Close())
}

// Flush writes the memtable to an sstable (for measurements of the size on
// disk).
func (s *Store) Flush() error { return s.db.Flush() }

// Compact compacts the whole key space (for measurements of the size on
// disk).
func (s *Store) Compact() error {
	return s.db.Compact(context.Background(), nil, []byte{0xff}, true)
}

// Load reads the durable state. It also sets the store's send sequence
// and clock from what it read, so call it once, after Open, before Write.
//
// A large store is read by several goroutines (up to GOMAXPROCS, at most
// 8), each over a range of whole sessions.
func (s *Store) Load() (*broker.Image, error) {
	bounds := s.splits(cmp.Or(loadWorkers, min(runtime.GOMAXPROCS(0), 8)))
	loaders := make([]*loader, len(bounds)+1)
	errs := make([]error, len(loaders))
	var wg sync.WaitGroup
	for i := range loaders {
		var lo, hi []byte
		if i > 0 {
			lo = bounds[i-1]
		}
		if i < len(bounds) {
			hi = bounds[i]
		}
		loaders[i] = &loader{img: broker.NewImage()}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = loaders[i].run(s.db, lo, hi)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", s.dir, ErrCorrupt, err)
	}
	img, l := loaders[0].img, loaders[0]
	for _, o := range loaders[1:] {
		maps.Copy(img.Sessions, o.img.Sessions)
		maps.Copy(img.Messages, o.img.Messages)
		maps.Copy(img.Retained, o.img.Retained)
		img.MsgIDs = max(img.MsgIDs, o.img.MsgIDs)
		l.sends, l.clock = max(l.sends, o.sends), max(l.clock, o.clock)
	}
	s.mu.Lock()
	s.sends, s.msgIDs, s.clock, s.clockStored = l.sends, img.MsgIDs, l.clock, l.clock
	s.mu.Unlock()
	return img, nil
}

// loadWorkers, if not 0, is how many goroutines Load uses (tests).
var loadWorkers int

// splitMinBytes is the smallest store Load reads in parallel.
var splitMinBytes uint64 = 64 << 20

// splits returns up to n-1 keys that split the session table into ranges
// of whole sessions of about equal size on disk, from the sstables'
// smallest keys; none for a small store.
func (s *Store) splits(n int) [][]byte {
	levels, err := s.db.SSTables()
	if err != nil || n < 2 {
		return nil
	}
	type table struct {
		key  []byte
		size uint64
	}
	var tables []table
	var total uint64
	for _, l := range levels {
		for _, t := range l {
			tables = append(tables, table{t.Smallest.UserKey, t.Size})
			total += t.Size
		}
	}
	if total < splitMinBytes {
		return nil
	}
	slices.SortFunc(tables, func(a, b table) int { return bytes.Compare(a.key, b.key) })
	var out [][]byte
	var sum uint64
	for _, t := range tables {
		sum += t.size
		if uint64(len(out)+1)*total/uint64(n) > sum {
			continue
		}
		cid, _, _, ok := splitSessionKey(t.key)
		if !ok {
			continue
		}
		split := appendSession(nil, string(cid)) // the start of that session's keys
		if len(out) == 0 || bytes.Compare(out[len(out)-1], split) < 0 {
			out = append(out, split)
		}
		if len(out) == n-1 {
			break
		}
	}
	return out
}

// run loads the keys in [lo, hi) (nil: unbounded).
func (l *loader) run(db *pebble.DB, lo, hi []byte) error {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	for it.First(); it.Valid() && err == nil; it.Next() {
		err = l.add(it.Key(), it.Value())
	}
	if err == nil {
		err = l.endSession()
	}
	return errors.Join(err, it.Error(), it.Close())
}

// loader builds an image from the keys in order.
type loader struct {
	img    *broker.Image
	sends  uint64
	clock  broker.Time
	cid    []byte               // the session being read
	sess   *broker.ImageSession // its record
	copies []loadedCopy         // its copies, in message order
	slab   []broker.ImageCopy   // copies are allocated in blocks
}

type loadedCopy struct {
	msg broker.MsgID
	cp  *broker.ImageCopy
}

// add reads one key and its value.
func (l *loader) add(k, v []byte) error {
	bad := func(what string) error { return fmt.Errorf("key %q: %s", k, what) }
	switch k[0] {
	case tableMeta:
		switch string(k) {
		case string(keyMsgIDs):
			r := reader{b: v}
			l.img.MsgIDs = broker.MsgID(r.uvarint())
			if r.err() != nil {
				return bad("undecodable")
			}
		case string(keyClock):
			r := reader{b: v}
			l.clock = broker.Time(r.varint())
			if r.err() != nil {
				return bad("undecodable")
			}
		}
		return nil
	case tableMessage:
		if len(k) != 9 {
			return bad("bad message key")
		}
		r := reader{b: v}
		m := &broker.ImageMessage{Publisher: string(r.bytes()), Topic: string(r.bytes()), QoS: packet.QoS(r.byte()), Retain: r.byte() == 1}
		if r.bad {
			return bad("undecodable message")
		}
		if len(r.b) > 0 {
			m.Payload = append([]byte(nil), r.b...)
		}
		l.img.Messages[broker.MsgID(binary.BigEndian.Uint64(k[1:]))] = m
		return nil
	case tableRetained:
		if len(v) != 8 {
			return bad("bad retained value")
		}
		l.img.Retained[string(k[1:])] = broker.MsgID(binary.BigEndian.Uint64(v))
		return nil
	case tableSession:
	default:
		return bad("unknown table")
	}
	cid, sub, rest, ok := splitSessionKey(k)
	if !ok {
		return bad("bad session key")
	}
	if l.sess == nil || string(cid) != string(l.cid) {
		if err := l.endSession(); err != nil {
			return err
		}
		if sub != subSession {
			return bad("records of a session without the session")
		}
		var p sessPatch
		if err := p.decode(v, false); err != nil || p.has&sessIdent == 0 {
			return bad("undecodable session")
		}
		l.cid = append(l.cid[:0], cid...)
		l.sess = &broker.ImageSession{Seq: p.seq, User: p.user, Online: p.online, OfflineAt: p.offlineAt, NextPID: p.nextPID,
			Subs: map[string]packet.QoS{}, Inbound: map[uint16]bool{}}
		l.img.Sessions[string(cid)] = l.sess
		return nil
	}
	switch sub {
	case subSub:
		if len(v) != 1 {
			return bad("bad subscription")
		}
		l.sess.Subs[string(rest)] = packet.QoS(v[0])
	case subCopy:
		var p copyPatch
		if len(rest) != 8 || p.decode(v, false) != nil || p.has&copyBase == 0 {
			return bad("undecodable copy")
		}
		if len(l.slab) == 0 {
			l.slab = make([]broker.ImageCopy, 1024)
		}
		cp := &l.slab[0]
		l.slab = l.slab[1:]
		*cp = broker.ImageCopy{QoS: p.qos, At: p.at, Pubrec: p.has&copyPubrec != 0}
		if p.has&copySent != 0 {
			cp.Sent, cp.PacketID, cp.SentAt, cp.SendSeq = true, p.pid, p.sentAt, p.sendSeq
			l.sends = max(l.sends, p.sendSeq)
		}
		l.copies = append(l.copies, loadedCopy{broker.MsgID(binary.BigEndian.Uint64(rest)), cp})
	case subInbound:
		if len(rest) != 2 {
			return bad("bad inbound id")
		}
		l.sess.Inbound[binary.BigEndian.Uint16(rest)] = true
	default:
		return bad("unknown session record")
	}
	return nil
}

// endSession finishes the session being read.
func (l *loader) endSession() error {
	if l.sess == nil {
		return nil
	}
	l.sess.Copies = make(map[broker.MsgID]*broker.ImageCopy, len(l.copies))
	for _, c := range l.copies {
		l.sess.Copies[c.msg] = c.cp
	}
	l.copies = l.copies[:0]
	l.sess = nil
	return nil
}

// pebbleLogger passes pebble's errors to a slog.Logger and drops its
// informational messages.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(string, ...any) {}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error("store: " + fmt.Sprintf(format, args...))
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error("store: fatal: " + fmt.Sprintf(format, args...))
	os.Exit(1)
}
